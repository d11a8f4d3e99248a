import Foundation

/// The four ways cached tensors become an embedding (SPEC.md §7).
enum RecipeKind: String, Sendable, CaseIterable, Comparable {
    case hs, rw, moeeConcat = "moee-concat", moeeSum = "moee-sum"

    /// As the paper writes them.
    var displayName: String {
        switch self {
        case .hs: return "HS"
        case .rw: return "RW"
        case .moeeConcat: return "MoEE-concat"
        case .moeeSum: return "MoEE-sum"
        }
    }

    static func < (a: RecipeKind, b: RecipeKind) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }

    /// The grid parameters each recipe takes, in the order labels list them.
    var parameterKeys: [String] {
        switch self {
        case .hs: return ["layer", "pooling"]
        case .rw: return ["layers", "softmax", "pooling"]
        case .moeeConcat: return ["layer", "layers", "softmax", "pooling"]
        case .moeeSum: return ["alpha", "layer", "layers", "softmax", "pooling"]
        }
    }
}

enum Pooling: String, Sendable, CaseIterable {
    case last, mean
}

/// Which MoE layers' router weights RW uses: all of them (in layer order) or a list of decoder-layer indices,
/// concatenated in the order given.
enum LayerSelection: Sendable, Hashable, CustomStringConvertible {
    case all
    case indices([Int])

    var description: String {
        switch self {
        case .all: return "all"
        case .indices(let list): return list.map(String.init).joined(separator: "+")
        }
    }
}

/// One point of a recipe grid: everything needed to build the vectors of a task from the cache.
struct RecipePoint: Sendable, Hashable {
    var kind: RecipeKind
    /// HS: the hidden-state entry (0 = embeddings, -1 = after the final norm, the default).
    var layer: Int = -1
    var pooling: Pooling = .last
    /// RW: the MoE layers, all by default.
    var layers: LayerSelection = .all
    /// RW: softmax probabilities (true, default) or raw router logits.
    var softmax: Bool = true
    /// MoEE-sum: the weight of the RW cosine.
    var alpha: Double = 1

    /// The non-default parameters, e.g. `alpha=0.5` or `layer=-1 pooling=mean`; alpha always shown.
    var parameterLabel: String {
        var parts: [String] = []
        let defaults = RecipePoint(kind: kind)
        for key in kind.parameterKeys {
            switch key {
            case "alpha": parts.append("alpha=\(RecipePoint.format(alpha))")
            case "layer" where layer != defaults.layer: parts.append("layer=\(layer)")
            case "layers" where layers != defaults.layers: parts.append("layers=\(layers)")
            case "softmax" where softmax != defaults.softmax: parts.append(softmax ? "softmax" : "logits")
            case "pooling" where pooling != defaults.pooling: parts.append("pooling=\(pooling.rawValue)")
            default: break
            }
        }
        return parts.joined(separator: " ")
    }

    /// `MoEE-sum alpha=0.5`: the row label in reports.
    var label: String {
        parameterLabel.isEmpty ? kind.displayName : "\(kind.displayName) \(parameterLabel)"
    }

    /// A file-name-safe identifier of the point, with every parameter, for result file names.
    var identifier: String {
        var parts = [kind.rawValue]
        for key in kind.parameterKeys {
            switch key {
            case "alpha": parts.append("alpha\(RecipePoint.format(alpha))")
            case "layer": parts.append("layer\(layer)")
            case "layers": parts.append("layers-\(layers)")
            case "softmax": parts.append(softmax ? "softmax" : "logits")
            case "pooling": parts.append(pooling.rawValue)
            default: break
            }
        }
        return parts.joined(separator: "_")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}

/// A recipe entry of a manifest, e.g. `{"recipe": "moee-sum", "alpha": [0, 0.5, 1]}`: every parameter takes one
/// value or a list, and the grid is their Cartesian product.
struct RecipeGrid: Sendable {
    let kind: RecipeKind
    let points: [RecipePoint]

    static func decode(_ value: JSONValue) throws -> RecipeGrid {
        let kindValue: JSONValue
        if value.isObject {
            let peek = try value.object(allowedKeys: ["recipe"])
            kindValue = try peek.required("recipe")
        } else {
            kindValue = value
        }
        let kindName = try kindValue.string()
        guard let kind = RecipeKind(rawValue: kindName) else {
            throw kindValue.error("unknown recipe \"\(kindName)\"" + suggestion(kindName, RecipeKind.allCases.map(\.rawValue))
                                  + " (recipes: \(RecipeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // A bare string ("hs") means the recipe with its defaults (MoEE-sum needs its alpha).
        guard value.isObject else {
            if kind == .moeeSum { throw value.error("moee-sum needs an \"alpha\" grid, e.g. {\"recipe\": \"moee-sum\", \"alpha\": [0, 0.5, 1]}") }
            return RecipeGrid(kind: kind, points: [RecipePoint(kind: kind)])
        }
        let object = try value.object(allowedKeys: ["recipe"] + kind.parameterKeys)
        try object.finish()
        if kind == .moeeSum, object.optional("alpha") == nil {
            throw object.error("moee-sum needs \"alpha\" (one number or a list, e.g. [0, 0.25, 0.5, 1, 2])")
        }
        var points = [RecipePoint(kind: kind)]
        for key in kind.parameterKeys {
            guard let parameter = object.optional(key) else { continue }
            let values = try gridValues(parameter, key: key)
            guard !values.isEmpty else { throw parameter.error("is an empty list") }
            var expanded: [RecipePoint] = []
            for point in points {
                for setter in values {
                    var next = point
                    setter(&next)
                    expanded.append(next)
                }
            }
            points = expanded
        }
        // Duplicate grid points would only be scored twice.
        var seen = Set<RecipePoint>()
        return RecipeGrid(kind: kind, points: points.filter { seen.insert($0).inserted })
    }

    /// The values one parameter takes in the grid, each as a setter.
    private static func gridValues(_ value: JSONValue, key: String) throws -> [(inout RecipePoint) -> Void] {
        switch key {
        case "alpha":
            return try value.oneOrMany().map { item in
                let alpha = try item.double()
                guard alpha >= 0 else { throw item.error("alpha must be >= 0 (it weights a cosine similarity)") }
                return { $0.alpha = alpha }
            }
        case "layer":
            return try value.oneOrMany().map { item in
                let layer = try item.int()
                return { $0.layer = layer }
            }
        case "pooling":
            return try value.oneOrMany().map { item in
                let text = try item.string()
                guard let pooling = Pooling(rawValue: text) else {
                    throw item.error("unknown pooling \"\(text)\"" + suggestion(text, Pooling.allCases.map(\.rawValue)) + " (valid: last, mean)")
                }
                return { $0.pooling = pooling }
            }
        case "softmax":
            return try value.oneOrMany().map { item in
                let softmax = try item.bool()
                return { $0.softmax = softmax }
            }
        case "layers":
            // "all", [0, 1, 2] (one selection), or a grid of selections: ["all", [14, 15]].
            let items = try value.array(orSingle: true)
            let isSingleSelection = value.isArray && items.allSatisfy { (try? $0.int()) != nil }
            let selections = isSingleSelection ? [value] : items
            return try selections.map { item in
                let selection = try layerSelection(item)
                return { $0.layers = selection }
            }
        default:
            throw value.error("unknown parameter")
        }
    }

    private static func layerSelection(_ value: JSONValue) throws -> LayerSelection {
        if value.isString {
            guard try value.string() == "all" else { throw value.error("expected \"all\" or a list of MoE layer indices") }
            return .all
        }
        let indices = try value.array().map { try $0.int() }
        guard !indices.isEmpty else { throw value.error("an empty layer list selects nothing") }
        return .indices(indices)
    }
}

extension JSONValue {
    /// The elements of an array, or `[self]` when `orSingle` and the value is not an array.
    func array(orSingle: Bool) throws -> [JSONValue] {
        if orSingle && !isArray { return [self] }
        return try array()
    }
}
