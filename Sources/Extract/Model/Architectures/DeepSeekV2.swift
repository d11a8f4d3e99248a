// DeepSeek-V2 (deepseek-ai/DeepSeek-V2-Lite, DeepSeek-V2). Mirrors transformers
// `models/deepseek_v2/modeling_deepseek_v2.py` and `configuration_deepseek_v2.py` (DeepseekV2Config). What differs:
// multi-head latent attention (`LatentAttentionSpec`: q_lora_rank, kv_lora_rank, qk_nope/qk_rope/v head dims; the
// latent norms' eps is 1e-6), RoPE on the rope part only, rotating interleaved pairs (transformers multiplies them
// as complex numbers), plain or YaRN (V2-Lite: factor 40, whose mscale_all_dim also scales q·kᵀ); the first `first_k_dense_replace` layers dense; `n_shared_experts` ungated experts fused as
// one MLP; routing softmax -> top-k (`greedy`) or the best `topk_group` of `n_group` groups by their best expert
// (`group_limited_greedy`) -> times `routed_scaling_factor`. transformers ignores `norm_topk_prob` here; the
// model's own remote code renormalises when it is true, and so do we (false in the released V2 models).
import Foundation

struct DeepseekV2Config {
    var common: CommonDecoderConfig
    var routedExperts: Int
    var sharedExperts: Int
    var topK: Int
    var moeIntermediate: Int
    var firstKDenseReplace: Int
    var kvLoraRank: Int
    var qLoraRank: Int?
    var qkNopeHeadDim: Int
    var qkRopeHeadDim: Int
    var vHeadDim: Int
    var routedScalingFactor: Double
    var topkMethod: String
    var groupCount: Int?
    var topkGroup: Int?
    var normTopKProb: Bool
    var scoringFunc: String
    var mlpBias: Bool

    enum CodingKeys: String, CodingKey {
        case routedExperts = "n_routed_experts"
        case sharedExperts = "n_shared_experts"
        case topK = "num_experts_per_tok"
        case moeIntermediate = "moe_intermediate_size"
        case firstKDenseReplace = "first_k_dense_replace"
        case kvLoraRank = "kv_lora_rank"
        case qLoraRank = "q_lora_rank"
        case qkNopeHeadDim = "qk_nope_head_dim"
        case qkRopeHeadDim = "qk_rope_head_dim"
        case vHeadDim = "v_head_dim"
        case routedScalingFactor = "routed_scaling_factor"
        case topkMethod = "topk_method"
        case groupCount = "n_group"
        case topkGroup = "topk_group"
        case normTopKProb = "norm_topk_prob"
        case scoringFunc = "scoring_func"
        case mlpBias = "mlp_bias"
    }

    /// `defaults` are transformers' DeepseekV2Config defaults (V3's file passes its own).
    init(from decoder: Decoder, defaults: CommonDefaults, qLoraRank defaultQLoraRank: Int?, experts: Int, shared: Int,
         topK defaultTopK: Int, moeIntermediate defaultMoeIntermediate: Int, topkMethod defaultMethod: String,
         scoringFunc defaultScoring: String, firstKDenseReplace defaultFirstDense: Int = 0, normTopKProb defaultNorm: Bool = false,
         routedScalingFactor defaultScaling: Double = 1, groups defaultGroups: (count: Int, kept: Int)? = nil) throws {
        common = try CommonDecoderConfig(from: decoder, defaults: defaults)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        routedExperts = try c.decodeIfPresent(Int.self, forKey: .routedExperts) ?? experts
        sharedExperts = try c.decodeIfPresent(Int.self, forKey: .sharedExperts) ?? shared
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? defaultTopK
        moeIntermediate = try c.decodeIfPresent(Int.self, forKey: .moeIntermediate) ?? defaultMoeIntermediate
        firstKDenseReplace = try c.decodeIfPresent(Int.self, forKey: .firstKDenseReplace) ?? defaultFirstDense
        kvLoraRank = try c.decodeIfPresent(Int.self, forKey: .kvLoraRank) ?? 512
        // null in the file means "no low-rank q" (V2-Lite), so only a missing key takes the default.
        qLoraRank = c.contains(.qLoraRank) ? try c.decodeIfPresent(Int.self, forKey: .qLoraRank) : defaultQLoraRank
        qkNopeHeadDim = try c.decodeIfPresent(Int.self, forKey: .qkNopeHeadDim) ?? 128
        qkRopeHeadDim = try c.decodeIfPresent(Int.self, forKey: .qkRopeHeadDim) ?? 64
        vHeadDim = try c.decodeIfPresent(Int.self, forKey: .vHeadDim) ?? 128
        routedScalingFactor = try c.decodeIfPresent(Double.self, forKey: .routedScalingFactor) ?? defaultScaling
        topkMethod = try c.decodeIfPresent(String.self, forKey: .topkMethod) ?? defaultMethod
        groupCount = try c.decodeIfPresent(Int.self, forKey: .groupCount) ?? defaultGroups?.count
        topkGroup = try c.decodeIfPresent(Int.self, forKey: .topkGroup) ?? defaultGroups?.kept
        normTopKProb = try c.decodeIfPresent(Bool.self, forKey: .normTopKProb) ?? defaultNorm
        scoringFunc = try c.decodeIfPresent(String.self, forKey: .scoringFunc) ?? defaultScoring
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
    }

    /// The MLA description, validated.
    func latent(file: String) throws -> LatentAttentionSpec {
        for (key, value) in [("kv_lora_rank", kvLoraRank), ("qk_nope_head_dim", qkNopeHeadDim), ("v_head_dim", vHeadDim),
                             ("q_lora_rank", qLoraRank ?? 1)] where !(value > 0 && value <= 1 << 16) {
            throw ConfigError.badValue(file: file, key: key, reason: "\(value) is not a size between 1 and 65536")
        }
        guard qkRopeHeadDim > 0 && qkRopeHeadDim <= 1 << 16 && qkRopeHeadDim % 2 == 0 else {
            throw ConfigError.badValue(file: file, key: "qk_rope_head_dim", reason: "\(qkRopeHeadDim) is not an even size between 2 and 65536")
        }
        return LatentAttentionSpec(qLoraRank: qLoraRank, kvLoraRank: kvLoraRank, qkNopeHeadDim: qkNopeHeadDim,
                                   qkRopeHeadDim: qkRopeHeadDim, vHeadDim: vHeadDim, normEps: 1e-6)
    }

    /// `n_group` / `topk_group` as `ExpertGroups`, validated against the expert count.
    func groups(score: ExpertGroups.Score, file: String) throws -> ExpertGroups {
        guard let count = groupCount, count >= 1, routedExperts % count == 0 else {
            throw ConfigError.badValue(file: file, key: "n_group", reason: "\(groupCount.map(String.init) ?? "null") must be a positive divisor of n_routed_experts \(routedExperts) for \(topkMethod)")
        }
        guard let kept = topkGroup, kept >= 1, kept <= count, kept * (routedExperts / count) >= topK else {
            throw ConfigError.badValue(file: file, key: "topk_group", reason: "\(topkGroup.map(String.init) ?? "null") must be between 1 and n_group \(count), and its groups must hold at least num_experts_per_tok \(topK) experts")
        }
        return ExpertGroups(count: count, kept: kept, score: score)
    }

    /// Dense below `first_k_dense_replace`, MoE from there on; the attention is MLA with interleaved RoPE.
    func spec(routing: RoutingPolicy, file: String) throws -> ModelSpec {
        try common.checkSupported(file: file, allowingYarn: true)
        if mlpBias {
            throw ConfigError.unsupported(file: file, key: "mlp_bias", reason: "biases on the MLP projections are not implemented")
        }
        let shared = sharedExperts > 0 ? SharedExpertSpec(intermediate: moeIntermediate * sharedExperts, sigmoidGated: false) : nil
        let moe = MoESpec(experts: routedExperts, topK: topK, expertIntermediate: moeIntermediate, routing: routing, shared: shared)
        let layers: [FeedForwardSpec] = (0..<max(0, common.layerCount)).map { layer in
            routedExperts > 0 && layer >= firstKDenseReplace ? .moe(moe) : .dense(intermediate: common.intermediateSize)
        }
        let latent = try latent(file: file)
        var attention = AttentionSpec(qkvBias: false, outputBias: false, qkNorm: .none, clipQKV: nil)
        attention.rope = .interleaved
        attention.latent = latent
        let yarn = try common.yarn(file: file)
        // transformers' yarn_apply_mscale: MLA scales q·kᵀ (all dims) by mscale(factor, mscale_all_dim)² as well.
        var scale = 1 / Double(latent.qkNopeHeadDim + latent.qkRopeHeadDim).squareRoot()
        if let yarn, yarn.mscaleAllDim != 0 {
            let m = YarnScaling.mscale(yarn.factor, yarn.mscaleAllDim)
            scale = scale * m * m
        }
        attention.scale = Float(scale)
        var spec = common.baseSpec(headDim: latent.qkRopeHeadDim, attention: attention, layers: layers)
        spec.yarn = yarn
        // MLA has no key/value heads of its own: every head reads the shared latent.
        spec.kvHeadCount = spec.headCount
        return spec
    }
}

enum DeepseekV2Architecture: Architecture {
    static let modelType = "deepseek_v2"
    static let reference = "transformers DeepseekV2ForCausalLM (models/deepseek_v2/modeling_deepseek_v2.py)"

    static func spec(config: Data, file: String) throws -> ModelSpec {
        let config = try decodeConfig(DeepseekV2ConfigV2.self, from: config, file: file).config
        guard config.scoringFunc == "softmax" else {
            throw ConfigError.unsupported(file: file, key: "scoring_func", reason: "'\(config.scoringFunc)' is not supported for deepseek_v2; only softmax")
        }
        var routing = RoutingPolicy(renormalize: config.normTopKProb, scale: Float(config.routedScalingFactor))
        switch config.topkMethod {
        case "greedy": break
        case "group_limited_greedy": routing.groups = try config.groups(score: .best, file: file)
        default:
            throw ConfigError.unsupported(file: file, key: "topk_method", reason: "'\(config.topkMethod)' is not supported for deepseek_v2; greedy or group_limited_greedy")
        }
        return try config.spec(routing: routing, file: file)
    }

    static func tensorName(_ role: TensorRole, layer: Int) -> String { sharedExpertsName(role, layer: layer) }
}

/// DeepseekV2Config with transformers' V2 defaults (DeepSeek-V3's file passes V3's).
private struct DeepseekV2ConfigV2: Decodable {
    let config: DeepseekV2Config
    init(from decoder: Decoder) throws {
        config = try DeepseekV2Config(from: decoder, defaults: CommonDefaults(
            vocabSize: 102_400, hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32,
            kvHeadCount: nil, maxPositions: 2048, rmsNormEps: 1e-6, ropeTheta: 10_000),
            // transformers' default num_experts_per_tok is null, which its router cannot run; 6 is what both
            // released V2 models (V2, V2-Lite) set.
            qLoraRank: 1536, experts: 64, shared: 2, topK: 6, moeIntermediate: 1407, topkMethod: "greedy",
            scoringFunc: "softmax")
    }
}
