// OLMoE (allenai/OLMoE-1B-7B-0924). Mirrors transformers `models/olmoe/modeling_olmoe.py` and
// `configuration_olmoe.py` (OlmoeConfig). What differs from the shared decoder: q/k RMSNorm over the whole
// projection before the head split, optional `clip_qkv`, every layer MoE, softmax -> top-k, `norm_topk_prob`.
import Foundation

struct OlmoeConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var normTopKProb: Bool
    var clipQKV: Double?

    enum CodingKeys: String, CodingKey {
        case experts = "num_experts"
        case topK = "num_experts_per_tok"
        case normTopKProb = "norm_topk_prob"
        case clipQKV = "clip_qkv"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 50304, hiddenSize: 2048, intermediateSize: 2048, layerCount: 16, headCount: 16,
            kvHeadCount: nil, maxPositions: 4096, rmsNormEps: 1e-5, ropeTheta: 10_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 64
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 8
        normTopKProb = try c.decodeIfPresent(Bool.self, forKey: .normTopKProb) ?? false
        clipQKV = try c.decodeIfPresent(Double.self, forKey: .clipQKV)
    }
}

enum OlmoeArchitecture: Architecture {
    static let modelType = "olmoe"
    static let reference = "transformers OlmoeForCausalLM (models/olmoe/modeling_olmoe.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(OlmoeConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        // OLMoE's experts use `intermediate_size` (there is no moe_intermediate_size key).
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.common.intermediateSize,
                          renormalize: config.normTopKProb, shared: nil)
        let attention = AttentionSpec(qkvBias: config.common.attentionBias, outputBias: config.common.attentionBias,
                                      qkNorm: .wholeProjection, clipQKV: config.clipQKV.map(Float.init))
        return config.common.baseSpec(attention: attention,
                                      layers: Array(repeating: .moe(moe), count: max(0, config.common.layerCount)))
    }
}
