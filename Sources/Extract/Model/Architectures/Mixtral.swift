// Mixtral (mistralai/Mixtral-8x7B-v0.1). Mirrors transformers `models/mixtral/modeling_mixtral.py` and
// `configuration_mixtral.py` (MixtralConfig). What differs: experts named w1 (gate), w3 (up), w2 (down) under
// `block_sparse_moe`; routing is a softmax over the chosen k logits, i.e. softmax -> top-k -> renormalise.
import Foundation

struct MixtralConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var slidingWindow: Int?

    enum CodingKeys: String, CodingKey {
        case experts = "num_local_experts"
        case topK = "num_experts_per_tok"
        case slidingWindow = "sliding_window"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, layerCount: 32, headCount: 32,
            kvHeadCount: 8, maxPositions: 4096 * 32, rmsNormEps: 1e-5, ropeTheta: 1_000_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 8
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 2
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
    }
}

enum MixtralArchitecture: Architecture {
    static let modelType = "mixtral"
    static let reference = "transformers MixtralForCausalLM (models/mixtral/modeling_mixtral.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(MixtralConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.common.intermediateSize,
                          renormalize: true, shared: nil)
        let attention = AttentionSpec(qkvBias: false, outputBias: false, qkNorm: .none, clipQKV: nil)
        var spec = config.common.baseSpec(headDim: config.common.headDim, attention: attention,
                                          layers: Array(repeating: .moe(moe), count: max(0, config.common.layerCount)))
        spec.slidingWindow = config.slidingWindow
        return spec
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String {
        let prefix = "model.layers.\(layer).block_sparse_moe."
        switch role {
        case .router: return prefix + "gate.weight"
        case let .expert(e, projection):
            let name = switch projection { case .gate: "w1"; case .up: "w3"; case .down: "w2" }
            return prefix + "experts.\(e).\(name).weight"
        default: return standardName(role, layer: layer)
        }
    }
}
