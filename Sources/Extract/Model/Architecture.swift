import Foundation

/// One supported `model_type`: how its `config.json` becomes a `ModelSpec`, and its Hugging Face tensor names.
protocol Architecture {
    /// The `model_type` value of `config.json`.
    static var modelType: String { get }
    /// The Hugging Face class this file mirrors (for the summary and the reader).
    static var reference: String { get }
    /// Decodes the architecture's config class from `config.json` bytes and reduces it to a spec.
    static func spec(config: Data, file: String) throws -> ModelSpec
    /// The Hugging Face tensor name that holds `role` in decoder layer `layer`.
    static func tensorName(_ role: TensorRole, layer: Int) -> String
    /// How the routed experts' weights are stored (one tensor per expert and projection unless a file says so).
    static var expertTensors: ExpertTensors { get }
}

/// How a checkpoint stores its routed experts; each layout is mapped to per-expert matrices at load (views into the
/// mapped file, no copy).
public enum ExpertTensors: Sendable, Equatable {
    /// `.expert(e, projection)`: one (rows, cols) tensor per expert and projection (the hub layout of most models).
    case perExpert
    /// `.stackedExperts(.gate)` = `.stackedExperts(.up)`: one (experts, 2 x intermediate, hidden) tensor, each
    /// expert's gate rows then its up rows; `.stackedExperts(.down)`: (experts, hidden, intermediate) (Granite MoE).
    case stackedGateUp
    /// gpt-oss: `.stackedExperts(.gate)` = `.stackedExperts(.up)`: one (experts, hidden, 2 x intermediate) tensor in
    /// `x @ W` layout, gate and up columns alternating; `.stackedExperts(.down)`: (experts, intermediate, hidden). Or
    /// either as the hub ships it in MXFP4: `<name>_blocks` (experts, out, in/32, 16) and `<name>_scales` (experts,
    /// out, in/32), rows alternating gate and up. The first is copied at load into per-expert (out, in) matrices;
    /// the MXFP4 tensors are used in place, every other row a matrix (`MXFP4Rows`).
    case interleavedGateUp
}

/// The three projections of a SiLU-gated MLP: down(silu(gate(x)) * up(x)).
public enum Projection: String, Sendable, CaseIterable { case gate, up, down }

/// Every weight the shared forward pass reads; architectures map these to their tensor names.
public enum TensorRole: Hashable, Sendable {
    case embedding, finalNorm
    case inputNorm, postAttentionNorm
    case q, k, v, o, qBias, kBias, vBias, oBias, qNorm, kNorm
    /// Multi-head latent attention's projections and norms (`LatentAttentionSpec`).
    case qA, qANorm, qB, kvA, kvANorm, kvB
    case router, routerBias
    /// gpt-oss's per-head attention sink logits (`AttentionSpec.sinks`).
    case sinks
    /// `e_score_correction_bias` (E) of routers that choose by score + bias (`RoutingPolicy.selectionBias`).
    case routerSelectionBias
    case expert(Int, Projection)
    /// Every expert's `projection` in one stacked tensor (`ExpertTensors`).
    case stackedExperts(Projection)
    /// The stacked experts' biases: (experts, 2 x intermediate) for gate/up as the weights lay them out, (experts,
    /// hidden) for down (gpt-oss).
    case stackedExpertBias(Projection)
    case shared(Projection)
    case sharedExpertGate
    case dense(Projection)
}

extension Architecture {
    /// The llama-style names most architectures share; a file overrides only what differs.
    static func standardName(_ role: TensorRole, layer: Int) -> String {
        let prefix = "model.layers.\(layer)."
        switch role {
        case .embedding: return "model.embed_tokens.weight"
        case .finalNorm: return "model.norm.weight"
        case .inputNorm: return prefix + "input_layernorm.weight"
        case .postAttentionNorm: return prefix + "post_attention_layernorm.weight"
        case .q: return prefix + "self_attn.q_proj.weight"
        case .k: return prefix + "self_attn.k_proj.weight"
        case .v: return prefix + "self_attn.v_proj.weight"
        case .o: return prefix + "self_attn.o_proj.weight"
        case .qBias: return prefix + "self_attn.q_proj.bias"
        case .kBias: return prefix + "self_attn.k_proj.bias"
        case .vBias: return prefix + "self_attn.v_proj.bias"
        case .oBias: return prefix + "self_attn.o_proj.bias"
        case .qNorm: return prefix + "self_attn.q_norm.weight"
        case .kNorm: return prefix + "self_attn.k_norm.weight"
        case .qA: return prefix + "self_attn.q_a_proj.weight"
        case .qANorm: return prefix + "self_attn.q_a_layernorm.weight"
        case .qB: return prefix + "self_attn.q_b_proj.weight"
        case .kvA: return prefix + "self_attn.kv_a_proj_with_mqa.weight"
        case .kvANorm: return prefix + "self_attn.kv_a_layernorm.weight"
        case .kvB: return prefix + "self_attn.kv_b_proj.weight"
        case .router: return prefix + "mlp.gate.weight"
        case .routerBias: return prefix + "mlp.gate.bias"
        case .sinks: return prefix + "self_attn.sinks"
        case .routerSelectionBias: return prefix + "mlp.gate.e_score_correction_bias"
        case let .expert(e, projection): return prefix + "mlp.experts.\(e).\(projection.rawValue)_proj.weight"
        case let .stackedExperts(projection): return prefix + "mlp.experts.\(projection == .down ? "down" : "gate_up")_proj"
        case let .stackedExpertBias(projection): return prefix + "mlp.experts.\(projection == .down ? "down" : "gate_up")_proj_bias"
        case let .shared(projection): return prefix + "mlp.shared_expert.\(projection.rawValue)_proj.weight"
        case .sharedExpertGate: return prefix + "mlp.shared_expert_gate.weight"
        case let .dense(projection): return prefix + "mlp.\(projection.rawValue)_proj.weight"
        }
    }

    /// DeepSeek's and ERNIE's name for the fused shared experts, `mlp.shared_experts.*` (Qwen2-MoE's is singular).
    static func sharedExpertsName(_ role: TensorRole, layer: Int) -> String {
        if case let .shared(projection) = role {
            return "model.layers.\(layer).mlp.shared_experts.\(projection.rawValue)_proj.weight"
        }
        return standardName(role, layer: layer)
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String { standardName(role, layer: layer) }
    static var expertTensors: ExpertTensors { .perExpert }
}

/// The one `model_type` table: which architecture file handles a checkpoint.
enum Architectures {
    static var all: [any Architecture.Type] {
        [OlmoeArchitecture.self, Qwen2MoeArchitecture.self, DeepseekArchitecture.self,
         MixtralArchitecture.self, Qwen3MoeArchitecture.self, GraniteMoeArchitecture.self,
         Ernie45MoeArchitecture.self, DeepseekV2Architecture.self,
         DeepseekV3Architecture.self, GptOssArchitecture.self]
    }

    static var supportedTypes: [String] { all.map { $0.modelType } }

    private struct ModelTypeProbe: Decodable {
        let modelType: String?
        enum CodingKeys: String, CodingKey { case modelType = "model_type" }
    }

    /// The architecture named by `config.json`'s `model_type`, or an error naming the type and the supported ones.
    static func architecture(config: Data, file: String) throws -> any Architecture.Type {
        let probe = try decodeConfig(ModelTypeProbe.self, from: config, file: file)
        guard let type = probe.modelType, let architecture = all.first(where: { $0.modelType == type }) else {
            throw ConfigError.unsupportedModelType(file: file, found: probe.modelType, supported: supportedTypes)
        }
        return architecture
    }

    /// Decodes and validates a config with its architecture.
    static func spec(config: Data, file: String) throws -> (spec: ModelSpec, architecture: any Architecture.Type) {
        let architecture = try architecture(config: config, file: file)
        let spec = try architecture.spec(config: config, file: file).validated(file: file)
        return (spec, architecture)
    }
}
