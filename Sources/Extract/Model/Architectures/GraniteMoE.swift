// Granite MoE (ibm-granite/granite-3.0-1b-a400m-base, granite-3.1-3b-a800m). Mirrors transformers
// `models/granitemoe/modeling_granitemoe.py` and `configuration_granitemoe.py` (GraniteMoeConfig). What differs from
// Mixtral: four multipliers — the token embedding times `embedding_multiplier`, each attention and MoE output times
// `residual_multiplier` before it joins the residual stream, `attention_multiplier` in place of 1/sqrt(head_dim)
// (`logits_scaling` divides the LM logits only, which are not computed here); the experts stored stacked, one
// `input_linear` (experts, 2 x intermediate, hidden) holding gate then up, one `output_linear` (experts, hidden,
// intermediate); the router under `router.layer`. Routing: top-k of the logits, softmax over those k — the same as
// softmax -> top-k -> renormalise.
import Foundation

struct GraniteMoeConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var embeddingMultiplier: Double
    var residualMultiplier: Double
    var attentionMultiplier: Double

    enum CodingKeys: String, CodingKey {
        case experts = "num_local_experts"
        case topK = "num_experts_per_tok"
        case embeddingMultiplier = "embedding_multiplier"
        case residualMultiplier = "residual_multiplier"
        case attentionMultiplier = "attention_multiplier"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32,
            kvHeadCount: nil, maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 8
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 2
        // transformers' defaults are 1.0 for all three, attention_multiplier included (not 1/sqrt(head_dim)).
        embeddingMultiplier = try c.decodeIfPresent(Double.self, forKey: .embeddingMultiplier) ?? 1
        residualMultiplier = try c.decodeIfPresent(Double.self, forKey: .residualMultiplier) ?? 1
        attentionMultiplier = try c.decodeIfPresent(Double.self, forKey: .attentionMultiplier) ?? 1
    }
}

enum GraniteMoeArchitecture: Architecture {
    static let modelType = "granitemoe"
    static let reference = "transformers GraniteMoeForCausalLM (models/granitemoe/modeling_granitemoe.py)"
    static let expertTensors = ExpertTensors.stackedGateUp

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(GraniteMoeConfig.self, from: config, file: file)
        try config.common.checkSupported(file: file)
        for (key, value) in [("embedding_multiplier", config.embeddingMultiplier), ("residual_multiplier", config.residualMultiplier),
                             ("attention_multiplier", config.attentionMultiplier)] where !(value.isFinite && value > 0) {
            throw ConfigError.badValue(file: file, key: key, reason: "\(value) is not a positive number")
        }
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.common.intermediateSize,
                          renormalize: true, shared: nil)
        var attention = AttentionSpec(qkvBias: false, outputBias: false, qkNorm: .none, clipQKV: nil)
        attention.scale = Float(config.attentionMultiplier)
        var spec = config.common.baseSpec(headDim: config.common.headDim, attention: attention,
                                          layers: Array(repeating: .moe(moe), count: max(0, config.common.layerCount)))
        spec.embeddingMultiplier = Float(config.embeddingMultiplier)
        spec.residualMultiplier = Float(config.residualMultiplier)
        return spec
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String {
        let prefix = "model.layers.\(layer).block_sparse_moe."
        switch role {
        case .router: return prefix + "router.layer.weight"
        case .stackedExperts(.gate), .stackedExperts(.up): return prefix + "input_linear.weight"
        case .stackedExperts(.down): return prefix + "output_linear.weight"
        default: return standardName(role, layer: layer)
        }
    }
}
