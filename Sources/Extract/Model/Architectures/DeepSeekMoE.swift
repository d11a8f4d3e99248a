// DeepSeekMoE v1 (deepseek-ai/deepseek-moe-16b-base). Mirrors the model's remote code `modeling_deepseek.py`
// and `configuration_deepseek.py` (DeepseekConfig, model_type "deepseek"). What differs: the first
// `first_k_dense_replace` layers (and layers off the `moe_layer_freq` grid) are dense MLPs of `intermediate_size`;
// MoE layers add `n_shared_experts` always-on experts, stored fused as one MLP of n x moe_intermediate_size, ungated;
// `scoring_func` softmax -> top-k -> optional `norm_topk_prob`.
import Foundation

struct DeepseekConfig: Decodable {
    var common: CommonDecoderConfig
    var routedExperts: Int?
    var sharedExperts: Int?
    var topK: Int?
    var moeIntermediate: Int
    var moeLayerFreq: Int
    var firstKDenseReplace: Int
    var normTopKProb: Bool
    var scoringFunc: String

    enum CodingKeys: String, CodingKey {
        case routedExperts = "n_routed_experts"
        case sharedExperts = "n_shared_experts"
        case topK = "num_experts_per_tok"
        case moeIntermediate = "moe_intermediate_size"
        case moeLayerFreq = "moe_layer_freq"
        case firstKDenseReplace = "first_k_dense_replace"
        case normTopKProb = "norm_topk_prob"
        case scoringFunc = "scoring_func"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 102_400, hiddenSize: 4096, intermediateSize: 11008, layerCount: 30, headCount: 32,
            kvHeadCount: nil, maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        routedExperts = try c.decodeIfPresent(Int.self, forKey: .routedExperts)
        sharedExperts = try c.decodeIfPresent(Int.self, forKey: .sharedExperts)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        moeIntermediate = try c.decodeIfPresent(Int.self, forKey: .moeIntermediate) ?? 1407
        moeLayerFreq = try c.decodeIfPresent(Int.self, forKey: .moeLayerFreq) ?? 1
        firstKDenseReplace = try c.decodeIfPresent(Int.self, forKey: .firstKDenseReplace) ?? 0
        normTopKProb = try c.decodeIfPresent(Bool.self, forKey: .normTopKProb) ?? false
        scoringFunc = try c.decodeIfPresent(String.self, forKey: .scoringFunc) ?? "softmax"
    }
}

enum DeepseekArchitecture: Architecture {
    static let modelType = "deepseek"
    static let reference = "DeepseekForCausalLM, remote code modeling_deepseek.py of deepseek-ai/deepseek-moe-16b-base"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(DeepseekConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        guard config.scoringFunc == "softmax" else {
            throw ConfigError.unsupported(file: file, key: "scoring_func", reason: "'\(config.scoringFunc)' is not supported; only softmax")
        }
        guard config.moeLayerFreq >= 1 else {
            throw ConfigError.badValue(file: file, key: "moe_layer_freq", reason: "\(config.moeLayerFreq) is not a positive frequency")
        }
        var moe: MoESpec?
        if let experts = config.routedExperts {
            guard let topK = config.topK else {
                throw ConfigError.badValue(file: file, key: "num_experts_per_tok", reason: "required when n_routed_experts is set")
            }
            let shared = (config.sharedExperts ?? 0) > 0
                ? SharedExpertSpec(intermediate: config.moeIntermediate * (config.sharedExperts ?? 0), sigmoidGated: false) : nil
            moe = MoESpec(experts: experts, topK: topK, expertIntermediate: config.moeIntermediate,
                          renormalize: config.normTopKProb, shared: shared)
        }
        let layers: [FeedForwardSpec] = (0..<max(0, config.common.layerCount)).map { layer in
            if let moe, layer >= config.firstKDenseReplace, layer % config.moeLayerFreq == 0 { return .moe(moe) }
            return .dense(intermediate: config.common.intermediateSize)
        }
        let attention = AttentionSpec(qkvBias: config.common.attentionBias, outputBias: config.common.attentionBias,
                                      qkNorm: .none, clipQKV: nil)
        return config.common.baseSpec(attention: attention, layers: layers)
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String { sharedExpertsName(role, layer: layer) }
}
