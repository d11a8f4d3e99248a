import Foundation

/// Any JSON value, for the free-form parts of a config (`rope_scaling`, `rope_parameters`).
public enum JSONValue: Decodable, Sendable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case let .bool(value): "\(value)"
        case let .number(value): "\(value)"
        case let .string(value): "\"\(value)\""
        case let .array(values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case let .object(pairs): "{" + pairs.keys.sorted().map { "\"\($0)\": \(pairs[$0]?.description ?? "")" }.joined(separator: ", ") + "}"
        }
    }

    subscript(key: String) -> JSONValue? {
        if case let .object(pairs) = self { return pairs[key] }
        return nil
    }

    var string: String? { if case let .string(value) = self { return value }; return nil }
    var number: Double? { if case let .number(value) = self { return value }; return nil }
    var bool: Bool? { if case let .bool(value) = self { return value }; return nil }
}

/// HF defaults of the keys every decoder config class has; each architecture passes its own.
struct CommonDefaults {
    var vocabSize: Int
    var hiddenSize: Int
    var intermediateSize: Int
    var layerCount: Int
    var headCount: Int
    /// nil: defaults to the head count (MHA).
    var kvHeadCount: Int?
    var maxPositions: Int
    var rmsNormEps: Double
    var ropeTheta: Double
}

/// The keys shared by every decoder config class, in both dialects: transformers 4.x (`rope_theta`,
/// `rope_scaling`, `torch_dtype` at top level) and 5.x (`rope_parameters: {rope_theta, rope_type}`, `dtype`).
struct CommonDecoderConfig {
    var modelType: String
    var vocabSize: Int
    var hiddenSize: Int
    var intermediateSize: Int
    var layerCount: Int
    var headCount: Int
    var kvHeadCount: Int
    var headDim: Int?
    var hiddenAct: String
    var maxPositions: Int
    var rmsNormEps: Double
    var ropeTheta: Double
    var ropeScaling: JSONValue?
    var ropeParameters: JSONValue?
    var dtype: String?
    var tieWordEmbeddings: Bool
    var attentionBias: Bool

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case kvHeadCount = "num_key_value_heads"
        case headDim = "head_dim"
        case hiddenAct = "hidden_act"
        case maxPositions = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case torchDType = "torch_dtype"
        case dtype
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
    }

    init(from decoder: Decoder, defaults: CommonDefaults) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? ""
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? defaults.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? defaults.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? defaults.intermediateSize
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount) ?? defaults.layerCount
        // Bounded here already: the architectures build per-layer lists from it before `validated` runs, and a
        // hostile 1e9 would allocate tens of GB (issue 7). `validated` keeps the full check and message.
        guard layerCount <= 4096 else {
            throw DecodingError.dataCorruptedError(forKey: .layerCount, in: c,
                                                   debugDescription: "\(layerCount) is not a size between 1 and 4096")
        }
        headCount = try c.decodeIfPresent(Int.self, forKey: .headCount) ?? defaults.headCount
        kvHeadCount = try c.decodeIfPresent(Int.self, forKey: .kvHeadCount) ?? defaults.kvHeadCount ?? headCount
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? defaults.maxPositions
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? defaults.rmsNormEps
        ropeScaling = try c.decodeIfPresent(JSONValue.self, forKey: .ropeScaling)
        ropeParameters = try c.decodeIfPresent(JSONValue.self, forKey: .ropeParameters)
        // 5.x keeps the base inside rope_parameters; 4.x at top level.
        ropeTheta = try ropeParameters?["rope_theta"]?.number
            ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? defaults.ropeTheta
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype) ?? c.decodeIfPresent(String.self, forKey: .torchDType)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
    }

    /// Refuses what the shared forward pass does not implement: RoPE variants other than plain RoPE (and YaRN where
    /// the architecture reads it, `allowingYarn`), activations other than SiLU.
    func checkSupported(file: String, allowingYarn: Bool = false) throws {
        for (key, value) in [("rope_parameters", ropeParameters), ("rope_scaling", ropeScaling)] {
            guard let value, value != .null else { continue }
            let type = value["rope_type"]?.string ?? value["type"]?.string ?? "default"
            guard type == "default" || (type == "yarn" && allowingYarn) else {
                throw ConfigError.unsupported(file: file, key: key,
                    reason: "RoPE scaling \(value) is not supported; only plain RoPE (rope_type \"default\" or rope_scaling null)\(allowingYarn ? " and yarn" : "") is implemented")
            }
        }
        guard hiddenAct == "silu" || hiddenAct == "swish" else {
            throw ConfigError.unsupported(file: file, key: "hidden_act", reason: "activation '\(hiddenAct)' is not supported; only silu is implemented")
        }
    }

    /// The YaRN parameters of `rope_parameters` (5.x) or `rope_scaling` (4.x) when their type is "yarn", as
    /// transformers' `_compute_yarn_parameters` reads them; nil for plain RoPE.
    func yarn(file: String) throws -> YarnScaling? {
        for (key, value) in [("rope_parameters", ropeParameters), ("rope_scaling", ropeScaling)] {
            guard let value, (value["rope_type"]?.string ?? value["type"]?.string) == "yarn" else { continue }
            func number(_ name: String) -> Double? { value[name]?.number }
            guard let original = number("original_max_position_embeddings"), original > 0 else {
                throw ConfigError.badValue(file: file, key: key + ".original_max_position_embeddings", reason: "yarn needs a positive value")
            }
            // transformers: a missing factor is max_position_embeddings / original (DeepSeek-V3's files).
            let factor = number("factor") ?? Double(maxPositions) / original
            guard factor.isFinite && factor > 0 else {
                throw ConfigError.badValue(file: file, key: key + ".factor", reason: "\(factor) is not a positive number")
            }
            let mscale = number("mscale"), mscaleAllDim = number("mscale_all_dim")
            let attentionFactor: Double
            if let given = number("attention_factor") {
                attentionFactor = given
            } else if let mscale, let mscaleAllDim, mscale != 0, mscaleAllDim != 0 {
                attentionFactor = YarnScaling.mscale(factor, mscale) / YarnScaling.mscale(factor, mscaleAllDim)
            } else {
                attentionFactor = YarnScaling.mscale(factor, 1)
            }
            // `or` in transformers: 0 and null take the defaults too.
            let betaFast = number("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32
            let betaSlow = number("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1
            return YarnScaling(factor: factor, originalMaxPositions: original, betaFast: betaFast, betaSlow: betaSlow,
                               attentionFactor: attentionFactor, mscaleAllDim: mscaleAllDim ?? 0,
                               truncate: value["truncate"]?.bool ?? true)
        }
        return nil
    }

    /// The spec fields every architecture shares; the caller fills in attention details and the layer list.
    func baseSpec(headDim resolvedHeadDim: Int? = nil, attention: AttentionSpec, layers: [FeedForwardSpec]) -> ModelSpec {
        ModelSpec(modelType: modelType, vocabSize: vocabSize, hiddenSize: hiddenSize, layerCount: layerCount,
                  headCount: headCount, kvHeadCount: kvHeadCount,
                  headDim: resolvedHeadDim ?? (headCount > 0 ? hiddenSize / headCount : 0),
                  maxPositions: maxPositions, rmsNormEps: Float(rmsNormEps), ropeTheta: ropeTheta,
                  attention: attention, layers: layers, tiedEmbeddings: tieWordEmbeddings,
                  declaredDType: dtype, slidingWindow: nil)
    }
}

/// Decodes a config class, turning a `DecodingError` into a `ConfigError` that names the key path.
func decodeConfig<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let error as DecodingError {
        switch error {
        case let .typeMismatch(expected, context):
            throw ConfigError.badValue(file: file, key: keyPath(context.codingPath), reason: "expected \(expected): \(context.debugDescription)")
        case let .valueNotFound(expected, context):
            throw ConfigError.badValue(file: file, key: keyPath(context.codingPath), reason: "expected \(expected), found null")
        case let .keyNotFound(key, context):
            throw ConfigError.badValue(file: file, key: keyPath(context.codingPath + [key]), reason: "required key is missing")
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty { throw ConfigError.invalidJSON(file: file, reason: context.debugDescription) }
            throw ConfigError.badValue(file: file, key: keyPath(context.codingPath), reason: context.debugDescription)
        @unknown default:
            throw ConfigError.invalidJSON(file: file, reason: "\(error)")
        }
    }
}

private func keyPath(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}

extension ModelSpec {
    /// Refuses zero, negative and absurd sizes and inconsistent head layouts, naming the HF key.
    func validated(file: String) throws -> ModelSpec {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigError.badValue(file: file, key: key, reason: reason) }
        }
        func size(_ value: Int, _ key: String, max: Int) throws {
            try check(value > 0 && value <= max, key, "\(value) is not a size between 1 and \(max)")
        }
        try size(vocabSize, "vocab_size", max: 10_000_000)
        try size(hiddenSize, "hidden_size", max: 131_072)
        try size(layerCount, "num_hidden_layers", max: 4096)
        try size(headCount, "num_attention_heads", max: 4096)
        try size(kvHeadCount, "num_key_value_heads", max: 4096)
        try size(headDim, "head_dim", max: 65_536)
        try size(maxPositions, "max_position_embeddings", max: 1 << 24)
        try check(headCount % kvHeadCount == 0, "num_key_value_heads",
                  "\(kvHeadCount) does not divide num_attention_heads \(headCount)")
        try check(headDim % 2 == 0, "head_dim", "\(headDim) is odd; rotary embeddings need an even head size")
        try check(rmsNormEps.isFinite && rmsNormEps > 0, "rms_norm_eps", "\(rmsNormEps) is not a positive number")
        try check(ropeTheta.isFinite && ropeTheta > 0, "rope_theta", "\(ropeTheta) is not a positive number")
        try check(layers.count == layerCount, "num_hidden_layers", "layer list has \(layers.count) entries")
        for layer in layers {
            switch layer {
            case let .dense(intermediate):
                try size(intermediate, "intermediate_size", max: 1 << 20)
            case let .moe(moe):
                try size(moe.experts, "num_experts", max: 65_536)
                try size(moe.expertIntermediate, "moe_intermediate_size", max: 1 << 20)
                try check(moe.topK >= 1 && moe.topK <= moe.experts, "num_experts_per_tok",
                          "\(moe.topK) is not between 1 and the expert count \(moe.experts)")
                if let shared = moe.shared { try size(shared.intermediate, "shared_expert_intermediate_size", max: 1 << 22) }
            }
        }
        if let slidingWindow { try size(slidingWindow, "sliding_window", max: 1 << 24) }
        return self
    }
}
