/// What the shared forward pass needs to know about a model, whatever its `model_type`.
///
/// Each architecture file decodes its own `config.json` class and reduces it to this description; everything
/// after that (weights, forward pass, summary) reads only the spec.
public struct ModelSpec: Sendable, Equatable, Codable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var maxPositions: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var attention: AttentionSpec
    /// The feed-forward block of every decoder layer, in order.
    public var layers: [FeedForwardSpec]
    public var tiedEmbeddings: Bool
    /// The dtype `config.json` declares (`torch_dtype` / `dtype`), if any.
    public var declaredDType: String?
    /// Sliding-window attention span, when the config enables it: a query sees itself and the `slidingWindow - 1`
    /// keys before it (transformers' `kv_idx > q_idx - sliding_window`), in the layers `windowedLayers` lists.
    public var slidingWindow: Int?
    /// The layers whose attention is windowed (gpt-oss: every `sliding_attention` of `layer_types`); nil = every
    /// layer when `slidingWindow` is set (Mixtral).
    public var windowedLayers: [Int]? = nil
    /// YaRN's rescaled RoPE frequencies and cos/sin factor (`rope_type` "yarn"); nil = plain RoPE.
    public var yarn: YarnScaling? = nil
    /// Layers stored after the decoder that the forward pass never runs (DeepSeek-V3's multi-token-prediction
    /// layers, `num_nextn_predict_layers`): their tensors `model.layers.<layerCount + i>.*` are skipped at load.
    public var unusedTrailingLayers: Int = 0
    /// The config declares MXFP4 experts (`quantization_config.quant_method` "mxfp4", gpt-oss as the hub ships it):
    /// the checkpoint holds them as MXFP4 blocks and scales, which run in place.
    public var mxfp4Experts: Bool = false
    /// Granite's `embedding_multiplier`: the token embedding is scaled by it; nil = 1.
    public var embeddingMultiplier: Float? = nil
    /// Granite's `residual_multiplier`: each attention and feed-forward output is scaled by it before it joins the
    /// residual stream; nil = 1.
    public var residualMultiplier: Float? = nil

    /// The attention window of decoder layer `layer`, nil = full causal attention.
    public func window(layer: Int) -> Int? {
        guard let slidingWindow else { return nil }
        return windowedLayers.map { $0.contains(layer) ? slidingWindow : nil } ?? slidingWindow
    }

    /// Indices of the decoder layers whose feed-forward block is a MoE block (the router layers).
    public var moeLayers: [Int] { layers.indices.filter { layers[$0].moe != nil } }
    /// The routed-expert count (the router's width), from the first MoE layer.
    public var expertCount: Int { layers.lazy.compactMap(\.moe).first?.experts ?? 0 }
    public var topK: Int { layers.lazy.compactMap(\.moe).first?.topK ?? 0 }
    /// Per-head widths: q·k runs over `qkHeadDim` values, each head's value and output has `vHeadDim`. Both are
    /// `headDim` except under multi-head latent attention (`LatentAttentionSpec`).
    public var qkHeadDim: Int { attention.latent.map { $0.qkNopeHeadDim + $0.qkRopeHeadDim } ?? headDim }
    public var vHeadDim: Int { attention.latent?.vHeadDim ?? headDim }
    /// The dimensions RoPE rotates in each q and k head: all of them, or MLA's rope part.
    public var ropeDim: Int { attention.latent?.qkRopeHeadDim ?? headDim }
    public var qWidth: Int { headCount * qkHeadDim }
    /// Width of one token's keys (all kv heads).
    public var kvWidth: Int { kvHeadCount * qkHeadDim }
    /// Width of one token's values, and of the attention output before o_proj.
    public var vWidth: Int { kvHeadCount * vHeadDim }
    public var attentionOutputWidth: Int { headCount * vHeadDim }

    /// Every attention projection's (rows, cols), by the short name the weights and the quantized cache use: the one
    /// list behind parameter counts, FLOPs and the resident-size estimate.
    public var attentionMatrices: [(name: String, rows: Int, cols: Int)] {
        let h = hiddenSize
        guard let latent = attention.latent else {
            return [("q", qWidth, h), ("k", kvWidth, h), ("v", vWidth, h), ("o", h, attentionOutputWidth)]
        }
        var list: [(name: String, rows: Int, cols: Int)] = []
        if let rank = latent.qLoraRank {
            list += [("q_a", rank, h), ("q_b", qWidth, rank)]
        } else {
            list.append(("q", qWidth, h))
        }
        list += [("kv_a", latent.kvLoraRank + latent.qkRopeHeadDim, h),
                 ("kv_b", headCount * (latent.qkNopeHeadDim + latent.vHeadDim), latent.kvLoraRank),
                 ("o", h, attentionOutputWidth)]
        return list
    }
}

public struct AttentionSpec: Sendable, Equatable, Codable {
    /// Biases on the q, k and v projections (Qwen2-MoE; `attention_bias` elsewhere).
    public var qkvBias: Bool
    /// A bias on the output projection (`attention_bias` of OLMoE, Qwen3-MoE, DeepSeek).
    public var outputBias: Bool
    public var qkNorm: QKNorm
    /// OLMoE's `clip_qkv`: q, k, v clamped to [-c, c] after the q/k norm.
    public var clipQKV: Float?
    /// The factor of q·kᵀ before the softmax; nil = 1/sqrt(head_dim) (Granite: `attention_multiplier`).
    public var scale: Float? = nil
    /// Which pairs of a head's dimensions RoPE rotates together.
    public var rope: RotaryLayout = .halves
    /// Multi-head latent attention (DeepSeek-V2/V3) in place of q/k/v projections; nil = MHA/GQA.
    public var latent: LatentAttentionSpec? = nil
    /// A learned logit per head (`self_attn.sinks`, gpt-oss) that joins every query's softmax as one more key with
    /// no value: it takes a share of the attention and is dropped.
    public var sinks: Bool = false
}

/// DeepSeek's multi-head latent attention: keys and values come from one low-rank latent per token,
///
///     q        = q_proj(x)  or  q_b(rmsnorm(q_a(x)))                    (heads x (nope + rope))
///     c, k_pe  = kv_a_proj_with_mqa(x) split (kv_lora_rank, rope)      k_pe is shared by every head
///     k_nope, v = kv_b(rmsnorm(c)) split per head (nope, v_head_dim)
///     k        = (k_nope, RoPE(k_pe)),  q = (q_nope, RoPE(q_pe))
///
/// then ordinary causal attention with heads x heads (no grouping) and values of `vHeadDim`.
public struct LatentAttentionSpec: Sendable, Equatable, Codable {
    /// nil: q is one projection of the hidden state (DeepSeek-V2-Lite).
    public var qLoraRank: Int?
    public var kvLoraRank: Int
    public var qkNopeHeadDim: Int
    public var qkRopeHeadDim: Int
    public var vHeadDim: Int
    /// The eps of q_a_layernorm and kv_a_layernorm: transformers builds them with the RMSNorm default 1e-6,
    /// not `rms_norm_eps`.
    public var normEps: Float
}

public enum RotaryLayout: String, Sendable, Equatable, Codable {
    /// Dimension i with i + head_dim/2 (transformers' `rotate_half`, the llama / GPT-NeoX layout).
    case halves
    /// Dimension 2i with 2i + 1 (GPT-J / GLM layout: ERNIE 4.5, DeepSeek-V3's `rope_interleave`).
    case interleaved
}

public enum QKNorm: String, Sendable, Equatable, Codable {
    case none
    /// RMSNorm over the whole q (heads x head_dim) and k (kv_heads x head_dim) projections, before the head split (OLMoE).
    case wholeProjection
    /// RMSNorm over each head's head_dim values (Qwen3-MoE).
    case perHead
}

public enum FeedForwardSpec: Sendable, Equatable, Codable {
    /// A SiLU-gated MLP of this intermediate size.
    case dense(intermediate: Int)
    case moe(MoESpec)

    public var moe: MoESpec? {
        if case let .moe(spec) = self { return spec }
        return nil
    }
}

/// One MoE block: router linear -> the routing policy chooses k experts and their weights -> weighted sum of the
/// chosen experts, plus optional always-on shared experts.
public struct MoESpec: Sendable, Equatable, Codable {
    public var experts: Int
    public var topK: Int
    public var expertIntermediate: Int
    public var routing: RoutingPolicy
    public var shared: SharedExpertSpec?
    /// A bias on the router linear (gpt-oss `mlp.router.bias`): part of the logits the store keeps.
    public var routerBias: Bool = false
    /// Biases on every routed expert's gate, up and down projections (gpt-oss).
    public var expertBias: Bool = false
    /// The routed experts' gated activation.
    public var activation: GatedActivation = .silu

    public init(experts: Int, topK: Int, expertIntermediate: Int, routing: RoutingPolicy, shared: SharedExpertSpec?,
                routerBias: Bool = false, expertBias: Bool = false, activation: GatedActivation = .silu) {
        self.experts = experts
        self.topK = topK
        self.expertIntermediate = expertIntermediate
        self.routing = routing
        self.shared = shared
        self.routerBias = routerBias
        self.expertBias = expertBias
        self.activation = activation
    }

    /// The policy of the first five families: softmax over all experts, top-k, optional renormalisation.
    public init(experts: Int, topK: Int, expertIntermediate: Int, renormalize: Bool, shared: SharedExpertSpec?) {
        self.init(experts: experts, topK: topK, expertIntermediate: expertIntermediate,
                  routing: RoutingPolicy(renormalize: renormalize), shared: shared)
    }
}

/// `act(gate, up)` of a gated MLP, `down(act(gate(x), up(x)))`.
public enum GatedActivation: Sendable, Equatable, Codable {
    /// silu(gate) * up.
    case silu
    /// gpt-oss: gate clamped to at most `limit`, up to [-limit, limit], then gate * sigmoid(alpha * gate) * (up + 1)
    /// (`swiglu_alpha`, `swiglu_limit`).
    case clampedSwiGLU(alpha: Float, limit: Float)
}

/// How a router turns its logits into k experts and their weights, as llama.cpp's `build_moe_ffn` gating options:
///
///     scores   = softmax(logits) over all experts | sigmoid(logits) | logits  (scoring)
///     choose   = top-k of scores [+ selection bias] [within the best groups]   (selectionBias, groups)
///     weights  = scores of the chosen | softmax of the chosen logits,
///                [/ max(sum, floor)] [* scale]                                 (renormalize, renormalizationFloor, scale)
///
/// The bias only chooses; the weights come from the unbiased scores (DeepSeek-V3, ERNIE 4.5 `e_score_correction_bias`).
public struct RoutingPolicy: Sendable, Equatable, Codable {
    public enum Scoring: String, Sendable, Equatable, Codable, CaseIterable {
        case softmax, sigmoid
        /// Top-k of the logits themselves, weights = softmax over the k chosen logits (gpt-oss).
        case softmaxOverChosen = "softmax over chosen"
    }

    public var scoring: Scoring = .softmax
    /// A learned per-expert bias (`e_score_correction_bias`) added to the scores for the choice only.
    public var selectionBias: Bool = false
    /// Renormalise the k chosen weights to sum 1 (`norm_topk_prob`; Mixtral always, which equals its softmax over the chosen k).
    public var renormalize: Bool
    /// The renormalising sum is at least this (ERNIE's `moe_norm_min`), so k near-zero scores cannot blow up.
    public var renormalizationFloor: Float? = nil
    /// The chosen weights times this, after renormalising (`routed_scaling_factor`).
    public var scale: Float = 1
    /// Group-limited choice (DeepSeek-V2 `group_limited_greedy`, V3 `noaux_tc`); nil = top-k over all experts.
    public var groups: ExpertGroups? = nil

    public init(scoring: Scoring = .softmax, selectionBias: Bool = false, renormalize: Bool,
                renormalizationFloor: Float? = nil, scale: Float = 1, groups: ExpertGroups? = nil) {
        self.scoring = scoring
        self.selectionBias = selectionBias
        self.renormalize = renormalize
        self.renormalizationFloor = renormalizationFloor
        self.scale = scale
        self.groups = groups
    }
}

/// The experts split into `count` equal groups; only the `kept` best groups may supply the k experts.
public struct ExpertGroups: Sendable, Equatable, Codable {
    public enum Score: String, Sendable, Equatable, Codable {
        /// A group's best expert score (DeepSeek-V2).
        case best
        /// The sum of a group's two best (biased) scores (DeepSeek-V3).
        case sumOfBestTwo
    }
    public var count: Int
    public var kept: Int
    public var score: Score

    public init(count: Int, kept: Int, score: Score) {
        self.count = count
        self.kept = kept
        self.score = score
    }
}

public struct SharedExpertSpec: Sendable, Equatable, Codable {
    /// Intermediate size of the shared MLP (DeepSeek fuses its n shared experts into one MLP of n x moe_intermediate_size).
    public var intermediate: Int
    /// Qwen2-MoE scales the shared output by `sigmoid(shared_expert_gate(h))`; DeepSeek adds it ungated.
    public var sigmoidGated: Bool
}
