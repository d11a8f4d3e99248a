import Foundation

/// How cached tensors become one embedding per text (SPEC §7). The recipe builds vectors; evaluators only
/// take vectors.
///
/// Stable names (only non-default parameters appear, in this order): `hs`, `hs(layer=12,pooling=mean)`,
/// `rw`, `rw(layers=1-3-5,logits,pooling=mean)`, `rw(normalize=router)`, `moee-concat`, `moee-sum(alpha=0.5)`,
/// `hs(layer=label-free)`. `Recipe(name:)` parses them back. Codable as `{"kind": "moee-sum", "alpha": 0.5,
/// "layer": -1, "pooling": "last", "layers": null, "normalize": "softmax"}` (every key but `kind` optional; the
/// older `"softmax": true|false` still reads as `normalize` softmax|logits).
///
/// Standardisation (MoEE-concat, MoEE-sum): per dimension over all texts the task embeds, z = (x - mean) / std
/// with the population std (ddof = 0, as sklearn's `StandardScaler`); a dimension with zero variance becomes 0
/// (std treated as 1, sklearn's convention). Never per batch.
public struct Recipe: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, CaseIterable, Comparable {
        case hs
        case rw
        case moeeConcat = "moee-concat"
        case moeeSum = "moee-sum"

        /// As the paper writes them.
        public var displayName: String {
            switch self {
            case .hs: return "HS"
            case .rw: return "RW"
            case .moeeConcat: return "MoEE-concat"
            case .moeeSum: return "MoEE-sum"
            }
        }

        /// The parameters each recipe takes (the manifest's grid keys), in the order labels list them.
        public var parameterKeys: [String] {
            switch self {
            case .hs: return ["layer", "pooling"]
            case .rw: return ["layers", "normalize", "pooling"]
            case .moeeConcat: return ["layer", "layers", "normalize", "pooling"]
            case .moeeSum: return ["alpha", "layer", "layers", "normalize", "pooling"]
            }
        }

        /// In the order above (HS, RW, MoEE-concat, MoEE-sum): the order of report rows.
        public static func < (a: Kind, b: Kind) -> Bool {
            (allCases.firstIndex(of: a) ?? 0) < (allCases.firstIndex(of: b) ?? 0)
        }
    }

    public var kind: Kind
    /// HS layer (`output_hidden_states` numbering; -1 = final norm output).
    public var layer: Int = -1
    /// HS: choose the layer per task without labels (`LabelFreeLayer`) instead of using `layer`.
    public var layerRule: LabelFreeLayer.Rule? = nil
    /// Pooling of both HS and RW.
    public var pooling: Pooling = .last
    /// RW decoder-layer indices, in the order to concatenate; nil = every MoE layer in layer order.
    public var layers: [Int]?
    /// RW: what each layer's cached router logits become (`RouterNormalization`).
    public var normalize: RouterNormalization = .softmax
    /// MoEE-sum weight of the RW similarity (>= 0).
    public var alpha: Double = 1
    /// MoEE-sum: choose alpha per task without labels (`LabelFreeAlpha`) instead of using `alpha`.
    public var alphaRule: LabelFreeAlpha.Rule? = nil

    public init(kind: Kind, layer: Int = -1, pooling: Pooling = .last, layers: [Int]? = nil,
                normalize: RouterNormalization = .softmax, alpha: Double = 1, alphaRule: LabelFreeAlpha.Rule? = nil,
                layerRule: LabelFreeLayer.Rule? = nil) {
        self.kind = kind; self.layer = layer; self.pooling = pooling
        self.layers = layers; self.normalize = normalize; self.alpha = alpha; self.alphaRule = alphaRule
        self.layerRule = layerRule
    }

    /// The alpha as a label shows it: the number, or the label-free rule's name.
    public var alphaText: String { alphaRule?.rawValue ?? Self.format(alpha) }
    /// The HS layer as a label shows it: the number, or the label-free rule's name.
    public var layerText: String { layerRule?.rawValue ?? String(layer) }
    /// Whether a label-free rule picks a parameter of this point per task.
    public var isLabelFree: Bool { alphaRule != nil || layerRule != nil }

    public static let hs = Recipe(kind: .hs)
    public static let rw = Recipe(kind: .rw)
    public static let moeeConcat = Recipe(kind: .moeeConcat)
    public static func moeeSum(alpha: Double) -> Recipe { Recipe(kind: .moeeSum, alpha: alpha) }

    enum CodingKeys: String, CodingKey { case kind, layer, pooling, layers, normalize, softmax, alpha }

    /// `alpha` is a number, or the label-free rule's name ("label-free", "label-free-variance").
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        if let layerRule { try container.encode(layerRule, forKey: .layer) } else { try container.encode(layer, forKey: .layer) }
        try container.encode(pooling, forKey: .pooling)
        try container.encode(layers, forKey: .layers)
        try container.encode(normalize, forKey: .normalize)
        if let alphaRule { try container.encode(alphaRule, forKey: .alpha) } else { try container.encode(alpha, forKey: .alpha) }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        if let rule = try? container.decodeIfPresent(LabelFreeLayer.Rule.self, forKey: .layer) {
            layerRule = rule
        } else {
            layer = try container.decodeIfPresent(Int.self, forKey: .layer) ?? -1
        }
        pooling = try container.decodeIfPresent(Pooling.self, forKey: .pooling) ?? .last
        layers = try container.decodeIfPresent([Int].self, forKey: .layers)
        if let given = try container.decodeIfPresent(RouterNormalization.self, forKey: .normalize) {
            normalize = given
        } else if let softmax = try container.decodeIfPresent(Bool.self, forKey: .softmax) {
            normalize = softmax ? .softmax : .logits
        }
        if let rule = try? container.decodeIfPresent(LabelFreeAlpha.Rule.self, forKey: .alpha) {
            alphaRule = rule
        } else {
            alpha = try container.decodeIfPresent(Double.self, forKey: .alpha) ?? 1
        }
        try validate()
    }

    public func validate() throws {
        guard alpha.isFinite, alpha >= 0 else { throw ScoreError.invalidRecipe("recipe \(name): alpha must be a finite number >= 0") }
        if let layers, layers.isEmpty { throw ScoreError.invalidRecipe("recipe \(name): layers must not be empty") }
    }

    /// The stable name, e.g. `moee-sum(alpha=0.5)`.
    public var name: String {
        var parameters: [String] = []
        let usesHS = kind != .rw, usesRW = kind != .hs
        if usesHS && (layer != -1 || layerRule != nil) { parameters.append("layer=\(layerText)") }
        if usesRW, let layers { parameters.append("layers=" + layers.map(String.init).joined(separator: "-")) }
        if usesRW && normalize == .logits { parameters.append("logits") }
        if usesRW && normalize == .router { parameters.append("normalize=router") }
        if pooling != .last { parameters.append("pooling=\(pooling.rawValue)") }
        if kind == .moeeSum { parameters.append("alpha=\(alphaText)") }
        return kind.rawValue + (parameters.isEmpty ? "" : "(" + parameters.joined(separator: ",") + ")")
    }

    public var description: String { name }

    /// Shortest text that reads back to the same Double (`0.5`, `1`, `0.25`).
    public static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    /// Parses a stable name (`hs`, `rw(logits)`, `moee-sum(alpha=2)`, ...).
    public init(name text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let head = trimmed.prefix { $0 != "(" }
        guard let kind = Kind(rawValue: String(head)) else {
            throw ScoreError.invalidRecipe("unknown recipe '\(text)' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(kind: kind)
        var rest = trimmed.dropFirst(head.count)
        if !rest.isEmpty {
            guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw ScoreError.invalidRecipe("recipe '\(text)': expected name(key=value,...)") }
            rest = rest.dropFirst().dropLast()
            for part in rest.split(separator: ",") {
                let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                switch (pieces.first ?? "", pieces.count == 2 ? pieces[1] : nil) {
                case ("logits", nil): normalize = .logits
                case ("softmax", nil): normalize = .softmax
                case let ("normalize", value?) where RouterNormalization(rawValue: value) != nil:
                    normalize = RouterNormalization(rawValue: value) ?? .softmax
                case let ("layer", value?) where Int(value) != nil: layer = Int(value) ?? -1
                case let ("layer", value?) where LabelFreeLayer.Rule(rawValue: value) != nil:
                    layerRule = LabelFreeLayer.Rule(rawValue: value)
                case let ("pooling", value?) where Pooling(rawValue: value) != nil: pooling = Pooling(rawValue: value) ?? .last
                case let ("alpha", value?) where Double(value) != nil: alpha = Double(value) ?? 1
                case let ("alpha", value?) where LabelFreeAlpha.Rule(rawValue: value) != nil:
                    alphaRule = LabelFreeAlpha.Rule(rawValue: value)
                case let ("layers", value?):
                    let parsed = value.split(separator: "-").map { Int($0) }
                    guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
                        throw ScoreError.invalidRecipe("recipe '\(text)': layers must look like 0-1-2")
                    }
                    layers = parsed.compactMap { $0 }
                default:
                    throw ScoreError.invalidRecipe("recipe '\(text)': cannot read parameter '\(part)'")
                }
            }
        }
        try validate()
    }
}

/// What RW makes of each MoE layer's cached router logits (the store keeps them raw, for every family):
/// - `softmax`: a softmax over all the layer's experts, whatever the router computes (the paper's RW, the default);
/// - `router`: the router's own scoring (`RouterScoring`): the softmax over all experts for softmax routers, each
///   expert's sigmoid for sigmoid routers (DeepSeek-V3, Moonlight: the scores before the selection bias), the
///   softmax over the top-k logits (0 elsewhere) for gpt-oss;
/// - `logits`: the raw logits.
public enum RouterNormalization: String, Codable, Sendable, CaseIterable {
    case softmax, router, logits
}

/// How a model's router scores its logits (what `RouterNormalization.router` applies); the store's model summary
/// says which.
public enum RouterScoring: Sendable, Equatable {
    case softmax
    case sigmoid
    /// gpt-oss: softmax over the `k` largest logits, the other experts 0.
    case softmaxOverTopK(Int)

    /// One layer's scores from its logits, in float64 then rounded (as RW's softmax has always been computed).
    func scores(_ logits: ArraySlice<Float>) -> [Float] {
        switch self {
        case .softmax:
            let maximum = logits.max() ?? 0
            let exps = logits.map { Foundation.exp(Double($0 - maximum)) }
            let total = exps.reduce(0, +)
            return exps.map { Float($0 / total) }
        case .sigmoid:
            return logits.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }
        case let .softmaxOverTopK(k):
            // Ties: the lower expert first, as the extract's top-k.
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let chosen = Array(order.prefix(max(1, k)))
            var scores = [Float](repeating: 0, count: logits.count)
            let weights = RouterScoring.softmax.scores(ArraySlice(chosen.map { logits[$0] }))
            for (index, weight) in zip(chosen, weights) { scores[index - logits.startIndex] = weight }
            return scores
        }
    }
}
