/// The vectors of many recipes over one task's texts, sharing what consecutive recipes have in common: MoEE-sum's
/// standardised, normalised parts are built once per (layer, pooling, layers, normalize) and each alpha only
/// rescales them (an alpha sweep standardises once, not once per alpha), and the text index is built once.
/// Every table is bit-identical to `recipe.embeddings(from: source, texts: texts)`.
public final class RecipeSweep<Source: TensorSource> {
    public let source: Source
    public let texts: [String]
    private struct PartsKey: Equatable {
        var layer: Int, pooling: Pooling, layers: [Int]?, normalize: RouterNormalization
    }
    /// Only the latest parts are kept: a grid over many layers would otherwise hold all of them.
    private var parts: (key: PartsKey, value: MoEESumParts)?
    private var index: EmbeddingTable?
    /// Label-free alphas already chosen, by parts and rule.
    private var chosen: [(key: PartsKey, rule: LabelFreeAlpha.Rule, alpha: Double)] = []
    /// Label-free layers already chosen, by rule and pooling.
    private var chosenLayers: [(rule: LabelFreeLayer.Rule, pooling: Pooling, layer: Int)] = []

    public init(source: Source, texts: [String]) {
        self.source = source
        self.texts = texts
    }

    public func embeddings(_ recipe: Recipe) throws -> EmbeddingTable {
        try recipe.validate()
        let recipe = try resolvingLayer(recipe)
        guard recipe.kind == .moeeSum else { return try recipe.embeddings(from: source, texts: texts) }
        let built = try moeeSumParts(recipe)
        let matrix = built.vectors(alpha: try alpha(for: recipe))
        if let index { return index.replacingMatrix(matrix) }
        let table = EmbeddingTable(texts: texts, matrix: matrix)
        index = table
        return table
    }

    /// The HS layer entry used for this task: what the recipe's label-free rule picks (nil when it names a layer).
    public func layer(for recipe: Recipe) throws -> Int? {
        guard recipe.layerRule != nil, recipe.kind != .rw else { return nil }
        return try resolvingLayer(recipe).layer
    }

    /// The recipe with its label-free layer resolved; one choice per (rule, pooling), as it depends on nothing else.
    private func resolvingLayer(_ recipe: Recipe) throws -> Recipe {
        guard let rule = recipe.layerRule else { return recipe }
        var resolved = recipe
        resolved.layerRule = nil
        guard recipe.kind != .rw else { return resolved }  // RW reads no hidden state
        if let known = chosenLayers.first(where: { $0.rule == rule && $0.pooling == recipe.pooling }) {
            resolved.layer = known.layer
        } else {
            resolved.layer = try LabelFreeLayer.choose(rule, source: source, pooling: recipe.pooling, texts: texts).layer
            chosenLayers.append((rule, recipe.pooling, resolved.layer))
        }
        return resolved
    }

    /// MoEE-sum's alpha for this task: the recipe's number, or what its label-free rule picks from the parts.
    public func alpha(for recipe: Recipe) throws -> Double {
        let recipe = try resolvingLayer(recipe)
        guard let rule = recipe.alphaRule else { return recipe.alpha }
        let key = PartsKey(layer: recipe.layer, pooling: recipe.pooling, layers: recipe.layers, normalize: recipe.normalize)
        if let known = chosen.first(where: { $0.key == key && $0.rule == rule }) { return known.alpha }
        let alpha = LabelFreeAlpha.choose(rule, parts: try moeeSumParts(recipe))
        chosen.append((key, rule, alpha))
        return alpha
    }

    private func moeeSumParts(_ recipe: Recipe) throws -> MoEESumParts {
        let key = PartsKey(layer: recipe.layer, pooling: recipe.pooling, layers: recipe.layers, normalize: recipe.normalize)
        if let parts, parts.key == key { return parts.value }
        let built = try MoEESumParts(recipe: recipe, source: source, texts: texts)
        parts = (key, built)
        return built
    }
}
