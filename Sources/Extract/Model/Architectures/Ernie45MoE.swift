// ERNIE 4.5 MoE (baidu/ERNIE-4.5-21B-A3B-PT, ERNIE-4.5-300B-A47B-PT). Mirrors transformers
// `models/ernie4_5_moe/modeling_ernie4_5_moe.py` and `configuration_ernie4_5_moe.py` (Ernie4_5_MoeConfig). What
// differs: the router chooses by softmax(logits) + `e_score_correction_bias` (stored under `moe_statics`, shape
// (1, E)) but weighs by the unbiased probabilities, renormalised over the k with the sum floored at `moe_norm_min`;
// `moe_num_shared_experts` ungated experts fused as one MLP of n x moe_intermediate_size; layer i is MoE when
// (i + 1) % moe_layer_interval == 0 and moe_layer_start_index <= i <= moe_layer_end_index (-1: the last layer), else a
// dense MLP of `intermediate_size`; RoPE rotates interleaved pairs (2i, 2i + 1); `use_bias` puts biases on every
// projection (refused for the MLPs, which the shared pass has no bias for; false in the released models).
import Foundation

struct Ernie45MoeConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var sharedExperts: Int
    var moeIntermediate: Int
    var moeLayerStart: Int
    var moeLayerEnd: Int
    var moeLayerInterval: Int
    var normMin: Double
    var useBias: Bool

    enum CodingKeys: String, CodingKey {
        case experts = "moe_num_experts"
        case topK = "moe_k"
        case sharedExperts = "moe_num_shared_experts"
        case moeIntermediate = "moe_intermediate_size"
        case moeLayerStart = "moe_layer_start_index"
        case moeLayerEnd = "moe_layer_end_index"
        case moeLayerInterval = "moe_layer_interval"
        case normMin = "moe_norm_min"
        case useBias = "use_bias"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 103_424, hiddenSize: 2560, intermediateSize: 12288, layerCount: 28, headCount: 20,
            kvHeadCount: 4, maxPositions: 131_072, rmsNormEps: 1e-5, ropeTheta: 500_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 64
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 6
        sharedExperts = try c.decodeIfPresent(Int.self, forKey: .sharedExperts) ?? 2
        moeIntermediate = try c.decodeIfPresent(Int.self, forKey: .moeIntermediate) ?? 1536
        moeLayerStart = try c.decodeIfPresent(Int.self, forKey: .moeLayerStart) ?? 1
        moeLayerEnd = try c.decodeIfPresent(Int.self, forKey: .moeLayerEnd) ?? -1
        moeLayerInterval = try c.decodeIfPresent(Int.self, forKey: .moeLayerInterval) ?? 1
        normMin = try c.decodeIfPresent(Double.self, forKey: .normMin) ?? 1e-12
        useBias = try c.decodeIfPresent(Bool.self, forKey: .useBias) ?? false
        // transformers' default is tied embeddings (the 21B and 0.3B releases tie them); the common decoder's is false.
        let tie = try decoder.container(keyedBy: TieKey.self)
        common.tieWordEmbeddings = try tie.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
    }

    private enum TieKey: String, CodingKey { case tieWordEmbeddings = "tie_word_embeddings" }
}

enum Ernie45MoeArchitecture: Architecture {
    static let modelType = "ernie4_5_moe"
    static let reference = "transformers Ernie4_5_MoeForCausalLM (models/ernie4_5_moe/modeling_ernie4_5_moe.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(Ernie45MoeConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        if config.useBias {
            throw ConfigError.unsupported(file: file, key: "use_bias", reason: "biases on the MLP projections are not implemented (the released ERNIE 4.5 models have use_bias false)")
        }
        guard config.moeLayerInterval >= 1 else {
            throw ConfigError.badValue(file: file, key: "moe_layer_interval", reason: "\(config.moeLayerInterval) is not a positive interval")
        }
        guard config.normMin.isFinite && config.normMin >= 0 else {
            throw ConfigError.badValue(file: file, key: "moe_norm_min", reason: "\(config.normMin) is not a non-negative number")
        }
        let routing = RoutingPolicy(scoring: .softmax, selectionBias: true, renormalize: true,
                                    renormalizationFloor: Float(config.normMin))
        let shared = config.sharedExperts > 0
            ? SharedExpertSpec(intermediate: config.moeIntermediate * config.sharedExperts, sigmoidGated: false) : nil
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.moeIntermediate,
                          routing: routing, shared: shared)
        let layerCount = max(0, config.common.layerCount)
        let last = config.moeLayerEnd == -1 ? layerCount - 1 : config.moeLayerEnd
        let layers: [FeedForwardSpec] = (0..<layerCount).map { i in
            let sparse = config.experts > 0 && (i + 1) % config.moeLayerInterval == 0 && i >= config.moeLayerStart && i <= last
            return sparse ? .moe(moe) : .dense(intermediate: config.common.intermediateSize)
        }
        var attention = AttentionSpec(qkvBias: false, outputBias: false, qkNorm: .none, clipQKV: nil)
        attention.rope = .interleaved
        return config.common.baseSpec(headDim: config.common.headDim, attention: attention, layers: layers)
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String {
        if role == .routerSelectionBias { return "model.layers.\(layer).mlp.moe_statics.e_score_correction_bias" }
        return sharedExpertsName(role, layer: layer)
    }
}
