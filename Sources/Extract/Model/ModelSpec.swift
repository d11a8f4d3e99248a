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
    /// Sliding-window attention span, when the config enables it (sequences longer than it are refused).
    public var slidingWindow: Int?
    /// Granite's `embedding_multiplier`: the token embedding is scaled by it; nil = 1.
    public var embeddingMultiplier: Float? = nil
    /// Granite's `residual_multiplier`: each attention and feed-forward output is scaled by it before it joins the
    /// residual stream; nil = 1.
    public var residualMultiplier: Float? = nil

    /// Indices of the decoder layers whose feed-forward block is a MoE block (the router layers).
    public var moeLayers: [Int] { layers.indices.filter { layers[$0].moe != nil } }
    /// The routed-expert count (the router's width), from the first MoE layer.
    public var expertCount: Int { layers.lazy.compactMap(\.moe).first?.experts ?? 0 }
    public var topK: Int { layers.lazy.compactMap(\.moe).first?.topK ?? 0 }
    public var qWidth: Int { headCount * headDim }
    public var kvWidth: Int { kvHeadCount * headDim }
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

/// One MoE block: router linear -> softmax over all experts -> top-k -> optional renormalisation of the k weights
/// -> weighted sum of the chosen experts, plus optional always-on shared experts.
public struct MoESpec: Sendable, Equatable, Codable {
    public var experts: Int
    public var topK: Int
    public var expertIntermediate: Int
    /// Renormalise the k chosen probabilities to sum 1 (`norm_topk_prob`; Mixtral always, which equals its softmax over the chosen k).
    public var renormalize: Bool
    public var shared: SharedExpertSpec?
}

public struct SharedExpertSpec: Sendable, Equatable, Codable {
    /// Intermediate size of the shared MLP (DeepSeek fuses its n shared experts into one MLP of n x moe_intermediate_size).
    public var intermediate: Int
    /// Qwen2-MoE scales the shared output by `sigmoid(shared_expert_gate(h))`; DeepSeek adds it ungated.
    public var sigmoidGated: Bool
}
