// DeepSeek-V3 (deepseek-ai/DeepSeek-V3, moonshotai/Moonlight-16B-A3B). Mirrors transformers
// `models/deepseek_v3/modeling_deepseek_v3.py` and `configuration_deepseek_v3.py` (DeepseekV3Config). What differs
// from DeepSeek-V2 (whose config and MLA it shares): the router scores are sigmoid(logits); experts are chosen by
// score + `e_score_correction_bias` (under `mlp.gate`) within the best `topk_group` of `n_group` groups, a group
// scored by the sum of its two best biased scores; the weights are the unbiased scores, renormalised when
// `norm_topk_prob` (transformers adds 1e-20 to the sum; we floor it at 1e-20, the same in float32 for any sum above
// 1e-13), times `routed_scaling_factor`. RoPE pairs are interleaved when `rope_interleave` (the default), halves
// otherwise. DeepSeek-V3's checkpoint also holds `num_nextn_predict_layers` multi-token-prediction layers after the
// decoder (`model.layers.61.*`), which transformers does not run either: they are skipped at load.
import Foundation

enum DeepseekV3Architecture: Architecture {
    static let modelType = "deepseek_v3"
    static let reference = "transformers DeepseekV3ForCausalLM (models/deepseek_v3/modeling_deepseek_v3.py)"

    private struct Config: Decodable {
        let config: DeepseekV2Config
        let ropeInterleave: Bool
        let nextTokenLayers: Int
        enum CodingKeys: String, CodingKey { case ropeInterleave = "rope_interleave", nextTokenLayers = "num_nextn_predict_layers" }
        init(from decoder: Decoder) throws {
            config = try DeepseekV2Config(from: decoder, defaults: CommonDefaults(
                vocabSize: 129_280, hiddenSize: 7168, intermediateSize: 18432, layerCount: 61, headCount: 128,
                kvHeadCount: 128, maxPositions: 4096, rmsNormEps: 1e-6, ropeTheta: 10_000),
                qLoraRank: 1536, experts: 256, shared: 1, topK: 8, moeIntermediate: 2048, topkMethod: "noaux_tc",
                scoringFunc: "sigmoid", firstKDenseReplace: 3, normTopKProb: true, routedScalingFactor: 2.5,
                groups: (8, 4))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ropeInterleave = try c.decodeIfPresent(Bool.self, forKey: .ropeInterleave) ?? true
            // transformers 5.x: `num_mtp_layers`, default 1, read from this key too.
            nextTokenLayers = try c.decodeIfPresent(Int.self, forKey: .nextTokenLayers) ?? 1
        }
    }

    static func spec(config data: Data, file: String) throws -> ModelSpec {
        let decoded = try decodeConfig(Config.self, from: data, file: file)
        let config = decoded.config
        guard config.scoringFunc == "sigmoid" else {
            throw ConfigError.unsupported(file: file, key: "scoring_func", reason: "'\(config.scoringFunc)' is not supported for deepseek_v3; transformers' router is sigmoid")
        }
        guard config.topkMethod == "noaux_tc" else {
            throw ConfigError.unsupported(file: file, key: "topk_method", reason: "'\(config.topkMethod)' is not supported for deepseek_v3; transformers' router is noaux_tc")
        }
        let routing = RoutingPolicy(scoring: .sigmoid, selectionBias: true, renormalize: config.normTopKProb,
                                    renormalizationFloor: config.normTopKProb ? 1e-20 : nil,
                                    scale: Float(config.routedScalingFactor),
                                    groups: try config.groups(score: .sumOfBestTwo, file: file))
        var spec = try config.spec(routing: routing, file: file)
        spec.attention.rope = decoded.ropeInterleave ? .interleaved : .halves
        spec.unusedTrailingLayers = max(0, min(decoded.nextTokenLayers, 16))
        return spec
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String {
        DeepseekV2Architecture.tensorName(role, layer: layer)
    }
}
