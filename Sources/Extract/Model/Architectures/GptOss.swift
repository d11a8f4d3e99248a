// gpt-oss (openai/gpt-oss-20b, gpt-oss-120b). Mirrors transformers `models/gpt_oss/modeling_gpt_oss.py` and
// `configuration_gpt_oss.py` (GptOssConfig). What differs: layers alternate (`layer_types`) between attention over
// the last `sliding_window` keys and full causal attention; every head has a learned sink logit that joins its
// softmax and is dropped; q/k/v/o, the router and the experts have biases; the router takes the top-k of its logits
// and weighs them by a softmax over those k; experts are stacked (`mlp.experts.gate_up_proj`, gate and up columns
// alternating) and use the clamped SwiGLU (`swiglu_alpha`, `swiglu_limit`); RoPE is YaRN (the hub's factor 32, not
// truncated). The hub ships the experts in MXFP4 (`quantization_config.quant_method` "mxfp4"); they stay MXFP4 in
// memory and are decoded a tile at a time as they are multiplied (`ExpertTensors.interleavedGateUp`, `MXFP4Rows`).
import Foundation

struct GptOssConfig: Decodable {
    var common: CommonDecoderConfig
    var experts: Int
    var topK: Int
    var slidingWindow: Int?
    var layerTypes: [String]?
    var swigluAlpha: Double
    var swigluLimit: Double
    var quantizationConfig: JSONValue?

    enum CodingKeys: String, CodingKey {
        case experts = "num_local_experts"
        case topK = "num_experts_per_tok"
        case slidingWindow = "sliding_window"
        case layerTypes = "layer_types"
        case swigluAlpha = "swiglu_alpha"
        case swigluLimit = "swiglu_limit"
        case quantizationConfig = "quantization_config"
    }

    init(from decoder: Decoder) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: CommonDefaults(
            vocabSize: 201_088, hiddenSize: 2880, intermediateSize: 2880, layerCount: 36, headCount: 64,
            kvHeadCount: 8, maxPositions: 131_072, rmsNormEps: 1e-5, ropeTheta: 150_000))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        experts = try c.decodeIfPresent(Int.self, forKey: .experts) ?? 128
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 4
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        layerTypes = try c.decodeIfPresent([String].self, forKey: .layerTypes)
        swigluAlpha = try c.decodeIfPresent(Double.self, forKey: .swigluAlpha) ?? 1.702
        swigluLimit = try c.decodeIfPresent(Double.self, forKey: .swigluLimit) ?? 7.0
        quantizationConfig = try c.decodeIfPresent(JSONValue.self, forKey: .quantizationConfig)
        // transformers' defaults: attention biases on, head_dim 64 (not hidden / heads).
        let keys = try decoder.container(keyedBy: CommonDecoderConfig.CodingKeys.self)
        common.attentionBias = try keys.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? true
        common.headDim = try keys.decodeIfPresent(Int.self, forKey: .headDim) ?? 64
    }

    /// The windowed layers: `layer_types` entries "sliding_attention" (transformers' default: the even layers).
    func windowedLayers(file: String) throws -> [Int] {
        let types = layerTypes ?? (0..<common.layerCount).map { $0 % 2 == 0 ? "sliding_attention" : "full_attention" }
        guard types.count == common.layerCount else {
            throw ConfigError.badValue(file: file, key: "layer_types", reason: "\(types.count) entries for \(common.layerCount) layers")
        }
        for (i, type) in types.enumerated() where type != "sliding_attention" && type != "full_attention" {
            throw ConfigError.unsupported(file: file, key: "layer_types[\(i)]", reason: "'\(type)' is not sliding_attention or full_attention")
        }
        return types.indices.filter { types[$0] == "sliding_attention" }
    }
}

enum GptOssArchitecture: Architecture {
    static let modelType = "gpt_oss"
    static let reference = "transformers GptOssForCausalLM (models/gpt_oss/modeling_gpt_oss.py)"
    static let expertTensors = ExpertTensors.interleavedGateUp

    static func spec(config data: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(GptOssConfig.self, from: data, file: file)
        try config.common.checkSupported(file: file, allowingYarn: true)
        var mxfp4 = false
        if let quantization = config.quantizationConfig, quantization != .null {
            let method = quantization["quant_method"]?.string ?? "(none)"
            guard method == "mxfp4" else {
                throw ConfigError.unsupported(file: file, key: "quantization_config.quant_method",
                                              reason: "'\(method)' is not supported; gpt-oss loads unquantized or MXFP4 experts")
            }
            mxfp4 = true
        }
        guard config.swigluLimit.isFinite && config.swigluLimit > 0 else {
            throw ConfigError.badValue(file: file, key: "swiglu_limit", reason: "\(config.swigluLimit) is not a positive number")
        }
        guard config.swigluAlpha.isFinite else {
            throw ConfigError.badValue(file: file, key: "swiglu_alpha", reason: "\(config.swigluAlpha) is not a number")
        }
        let moe = MoESpec(experts: config.experts, topK: config.topK, expertIntermediate: config.common.intermediateSize,
                          routing: RoutingPolicy(scoring: .softmaxOverChosen, renormalize: false), shared: nil,
                          routerBias: true, expertBias: true,
                          activation: .clampedSwiGLU(alpha: Float(config.swigluAlpha), limit: Float(config.swigluLimit)))
        var attention = AttentionSpec(qkvBias: config.common.attentionBias, outputBias: config.common.attentionBias,
                                      qkNorm: .none, clipQKV: nil)
        attention.sinks = true
        var spec = config.common.baseSpec(headDim: config.common.headDim, attention: attention,
                                          layers: Array(repeating: .moe(moe), count: max(0, config.common.layerCount)))
        spec.yarn = try config.common.yarn(file: file)
        spec.slidingWindow = config.slidingWindow
        spec.windowedLayers = try config.windowedLayers(file: file)
        spec.mxfp4Experts = mxfp4
        return spec
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String {
        let prefix = "model.layers.\(layer).mlp."
        switch role {
        case .router: return prefix + "router.weight"
        case .routerBias: return prefix + "router.bias"
        default: return standardName(role, layer: layer)
        }
    }
}
