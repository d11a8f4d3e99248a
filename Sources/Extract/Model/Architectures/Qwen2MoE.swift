// Qwen2-MoE (Qwen/Qwen1.5-MoE-A2.7B). Mirrors transformers `models/qwen2_moe/modeling_qwen2_moe.py` and
// `configuration_qwen2_moe.py` (Qwen2MoeConfig). What differs: q/k/v biases (`qkv_bias`, always on in 4.x);
// a shared expert scaled by sigmoid(shared_expert_gate(h)) added to the routed sum; dense MLP layers chosen by
// `mlp_only_layers` and `decoder_sparse_step` (layer i is MoE when (i + 1) % step == 0).
import Foundation

struct Qwen2MoeConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var normTopKProb: Bool
    var moeIntermediate: Int
    var sharedIntermediate: Int
    var decoderSparseStep: Int
    var mlpOnlyLayers: [Int]
    var qkvBias: Bool
    var useSlidingWindow: Bool

    enum CodingKeys: String, CodingKey {
        case experts = "num_experts"
        case topK = "num_experts_per_tok"
        case normTopKProb = "norm_topk_prob"
        case moeIntermediate = "moe_intermediate_size"
        case sharedIntermediate = "shared_expert_intermediate_size"
        case decoderSparseStep = "decoder_sparse_step"
        case mlpOnlyLayers = "mlp_only_layers"
        case qkvBias = "qkv_bias"
        case useSlidingWindow = "use_sliding_window"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 151_936, hiddenSize: 2048, intermediateSize: 5632, layerCount: 24, headCount: 16,
            kvHeadCount: 16, maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 60
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 4
        normTopKProb = try c.decodeIfPresent(Bool.self, forKey: .normTopKProb) ?? false
        moeIntermediate = try c.decodeIfPresent(Int.self, forKey: .moeIntermediate) ?? 1408
        sharedIntermediate = try c.decodeIfPresent(Int.self, forKey: .sharedIntermediate) ?? 5632
        decoderSparseStep = try c.decodeIfPresent(Int.self, forKey: .decoderSparseStep) ?? 1
        mlpOnlyLayers = try c.decodeIfPresent([Int].self, forKey: .mlpOnlyLayers) ?? []
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? true
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
    }
}

/// The Qwen MoE families' layer plan: MoE unless listed in `mlp_only_layers` or off the `decoder_sparse_step` grid.
func qwenLayerPlan(layerCount: Int, experts: Int, step: Int, mlpOnly: [Int], denseIntermediate: Int, moe: MoESpec,
                   file: String) throws -> [FeedForwardSpec] {
    guard step >= 1 else { throw ConfigError.badValue(file: file, key: "decoder_sparse_step", reason: "\(step) is not a positive step") }
    return (0..<max(0, layerCount)).map { layer in
        let sparse = !mlpOnly.contains(layer) && experts > 0 && (layer + 1) % step == 0
        return sparse ? .moe(moe) : .dense(intermediate: denseIntermediate)
    }
}

enum Qwen2MoeArchitecture: Architecture {
    static let modelType = "qwen2_moe"
    static let reference = "transformers Qwen2MoeForCausalLM (models/qwen2_moe/modeling_qwen2_moe.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(Qwen2MoeConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        if config.useSlidingWindow {
            throw ConfigError.unsupported(file: file, key: "use_sliding_window", reason: "sliding-window attention is not implemented")
        }
        let shared = config.sharedIntermediate > 0 ? SharedExpertSpec(intermediate: config.sharedIntermediate, sigmoidGated: true) : nil
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.moeIntermediate,
                          renormalize: config.normTopKProb, shared: shared)
        let layers = try qwenLayerPlan(layerCount: config.common.layerCount, experts: config.experts, step: config.decoderSparseStep,
                                       mlpOnly: config.mlpOnlyLayers, denseIntermediate: config.common.intermediateSize,
                                       moe: moe, file: file)
        let attention = AttentionSpec(qkvBias: config.qkvBias, outputBias: false, qkNorm: .none, clipQKV: nil)
        return config.common.baseSpec(attention: attention, layers: layers)
    }
}
