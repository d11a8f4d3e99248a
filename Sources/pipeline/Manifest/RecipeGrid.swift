import Foundation
import Score

/// A manifest's grid point is a Score `Recipe` (kind, layer, pooling, layers, normalize, alpha): the manifest decodes
/// straight into it. What reports need on top: labels and file names.
extension Recipe {
    /// The non-default parameters, e.g. `alpha=0.5` or `layer=-1 pooling=mean`; alpha always shown.
    var parameterLabel: String {
        var parts: [String] = []
        let defaults = Recipe(kind: kind)
        for key in kind.parameterKeys {
            switch key {
            case "alpha": parts.append("alpha=\(alphaText)")
            case "layer" where layer != defaults.layer || layerRule != nil: parts.append("layer=\(layerText)")
            case "layers" where layers != defaults.layers: parts.append("layers=\(layerList)")
            case "normalize" where normalize != defaults.normalize: parts.append(normalize == .logits ? "logits" : "normalize=\(normalize.rawValue)")
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
            case "alpha": parts.append("alpha\(alphaText)")
            case "layer": parts.append("layer\(layerText)")
            case "layers": parts.append("layers-\(layerList)")
            case "normalize": parts.append(normalize.rawValue)
            case "pooling": parts.append(pooling.rawValue)
            default: break
            }
        }
        return parts.joined(separator: "_")
    }

    /// RW's MoE layers as labels show them: "all" or "14+15".
    var layerList: String { layers.map { $0.map(String.init).joined(separator: "+") } ?? "all" }
}

/// A recipe entry of a manifest, e.g. `{"recipe": "moee-sum", "alpha": [0, 0.5, 1]}`: every parameter takes one
/// value or a list, and the grid is their Cartesian product.
struct RecipeGrid: Sendable {
    let kind: Recipe.Kind
    let points: [Recipe]

    static func decode(_ value: JSONValue) throws -> RecipeGrid {
        let kindValue: JSONValue
        if value.isObject {
            let peek = try value.object(allowedKeys: ["recipe"])
            kindValue = try peek.required("recipe")
        } else {
            kindValue = value
        }
        let kindName = try kindValue.string()
        guard let kind = Recipe.Kind(rawValue: kindName) else {
            throw kindValue.error("unknown recipe \"\(kindName)\"" + suggestion(kindName, Recipe.Kind.allCases.map(\.rawValue))
                                  + " (recipes: \(Recipe.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        // A bare string ("hs") means the recipe with its defaults (MoEE-sum needs its alpha).
        guard value.isObject else {
            if kind == .moeeSum { throw value.error("moee-sum needs an \"alpha\" grid, e.g. {\"recipe\": \"moee-sum\", \"alpha\": [0, 0.5, 1]}") }
            return RecipeGrid(kind: kind, points: [Recipe(kind: kind)])
        }
        // `softmax` (true / false) is the older spelling of `normalize` (softmax / logits).
        let keys = kind.parameterKeys + (kind.parameterKeys.contains("normalize") ? ["softmax"] : [])
        let object = try value.object(allowedKeys: ["recipe"] + keys)
        try object.finish()
        if keys.contains("softmax"), object.optional("softmax") != nil, let normalize = object.optional("normalize") {
            throw normalize.error("give \"normalize\" or the older \"softmax\", not both")
        }
        if kind == .moeeSum, object.optional("alpha") == nil {
            throw object.error("moee-sum needs \"alpha\" (one number or a list, e.g. [0, 0.25, 0.5, 1, 2])")
        }
        var points = [Recipe(kind: kind)]
        for key in keys {
            guard let parameter = object.optional(key) else { continue }
            let values = try gridValues(parameter, key: key)
            guard !values.isEmpty else { throw parameter.error("is an empty list") }
            var expanded: [Recipe] = []
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
        var seen = Set<Recipe>()
        return RecipeGrid(kind: kind, points: points.filter { seen.insert($0).inserted })
    }

    /// The values one parameter takes in the grid, each as a setter.
    private static func gridValues(_ value: JSONValue, key: String) throws -> [(inout Recipe) -> Void] {
        switch key {
        case "alpha":
            // A number, or a label-free rule chosen per task at score time ("label-free", "label-free-variance").
            return try value.oneOrMany().map { item in
                if item.isString {
                    let text = try item.string()
                    let rules = LabelFreeAlpha.Rule.allCases.map(\.rawValue)
                    guard let rule = LabelFreeAlpha.Rule(rawValue: text) else {
                        throw item.error("unknown alpha \"\(text)\"" + suggestion(text, rules)
                                         + " (a number >= 0, or \(rules.joined(separator: " / ")))")
                    }
                    return { $0.alphaRule = rule }
                }
                let alpha = try item.double()
                guard alpha >= 0 else { throw item.error("alpha must be >= 0 (it weights a cosine similarity)") }
                return { $0.alpha = alpha }
            }
        case "layer":
            // An entry number, or a label-free rule chosen per task at score time ("label-free").
            return try value.oneOrMany().map { item in
                if item.isString {
                    let text = try item.string()
                    let rules = LabelFreeLayer.Rule.allCases.map(\.rawValue)
                    guard let rule = LabelFreeLayer.Rule(rawValue: text) else {
                        throw item.error("unknown layer \"\(text)\"" + suggestion(text, rules)
                                         + " (an integer: 0 = embedding output, -1 = final norm output; or \(rules.joined(separator: " / ")))")
                    }
                    return { $0.layerRule = rule }
                }
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
                let normalize: RouterNormalization = try item.bool() ? .softmax : .logits
                return { $0.normalize = normalize }
            }
        case "normalize":
            return try value.oneOrMany().map { item in
                let text = try item.string()
                let names = RouterNormalization.allCases.map(\.rawValue)
                guard let normalize = RouterNormalization(rawValue: text) else {
                    throw item.error("unknown normalize \"\(text)\"" + suggestion(text, names)
                                     + " (softmax: over all experts; router: the router's own scoring; logits: raw)")
                }
                return { $0.normalize = normalize }
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

    private static func layerSelection(_ value: JSONValue) throws -> [Int]? {
        if value.isString {
            guard try value.string() == "all" else { throw value.error("expected \"all\" or a list of MoE layer indices") }
            return nil  // every MoE layer
        }
        let indices = try value.array().map { try $0.int() }
        guard !indices.isEmpty else { throw value.error("an empty layer list selects nothing") }
        return indices
    }
}

extension JSONValue {
    /// The elements of an array, or `[self]` when `orSingle` and the value is not an array.
    func array(orSingle: Bool) throws -> [JSONValue] {
        if orSingle && !isArray { return [self] }
        return try array()
    }
}
