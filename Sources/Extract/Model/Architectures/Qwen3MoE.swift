// Qwen3-MoE (Qwen/Qwen3-30B-A3B). Mirrors transformers `models/qwen3_moe/modeling_qwen3_moe.py` and
// `configuration_qwen3_moe.py` (Qwen3MoeConfig). What differs: explicit `head_dim` (heads x head_dim may differ
// from hidden_size); RMSNorm on each q and k head (weight of size head_dim) before RoPE; no shared expert;
// `norm_topk_prob`; dense layers by `mlp_only_layers` / `decoder_sparse_step`. 5.x writes the expert count as
// `num_local_experts`, the hub's 4.x files as `num_experts`.
import Foundation

struct Qwen3MoeConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var normTopKProb: Bool
    var moeIntermediate: Int
    var decoderSparseStep: Int
    var mlpOnlyLayers: [Int]
    var useSlidingWindow: Bool

    enum CodingKeys: String, CodingKey {
        case experts = "num_experts"
        case localExperts = "num_local_experts"
        case topK = "num_experts_per_tok"
        case normTopKProb = "norm_topk_prob"
        case moeIntermediate = "moe_intermediate_size"
        case decoderSparseStep = "decoder_sparse_step"
        case mlpOnlyLayers = "mlp_only_layers"
        case useSlidingWindow = "use_sliding_window"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 151_936, hiddenSize: 2048, intermediateSize: 6144, layerCount: 24, headCount: 32,
            kvHeadCount: 4, maxPositions: 32768, rmsNormEps: 1e-6, ropeTheta: 10_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? c.decodeIfPresent(Int.self, forKey: .localExperts) ?? 128
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 8
        normTopKProb = try c.decodeIfPresent(Bool.self, forKey: .normTopKProb) ?? false
        moeIntermediate = try c.decodeIfPresent(Int.self, forKey: .moeIntermediate) ?? 768
        decoderSparseStep = try c.decodeIfPresent(Int.self, forKey: .decoderSparseStep) ?? 1
        mlpOnlyLayers = try c.decodeIfPresent([Int].self, forKey: .mlpOnlyLayers) ?? []
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
    }
}

enum Qwen3MoeArchitecture: Architecture {
    static let modelType = "qwen3_moe"
    static let reference = "transformers Qwen3MoeForCausalLM (models/qwen3_moe/modeling_qwen3_moe.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(Qwen3MoeConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        if config.useSlidingWindow {
            throw ConfigError.unsupported(file: file, key: "use_sliding_window", reason: "sliding-window attention is not implemented")
        }
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.moeIntermediate,
                          renormalize: config.normTopKProb, shared: nil)
        let layers = try qwenLayerPlan(layerCount: config.common.layerCount, experts: config.experts, step: config.decoderSparseStep,
                                       mlpOnly: config.mlpOnlyLayers, denseIntermediate: config.common.intermediateSize,
                                       moe: moe, file: file)
        let attention = AttentionSpec(qkvBias: config.common.attentionBias, outputBias: config.common.attentionBias,
                                      qkNorm: .perHead, clipQKV: nil)
        return config.common.baseSpec(headDim: config.common.headDim, attention: attention, layers: layers)
    }
}
