/// The vectors of many recipes over one task's texts, sharing what consecutive recipes have in common: MoEE-sum's
/// standardised, normalised parts are built once per (layer, pooling, layers, softmax) and each alpha only
/// rescales them (an alpha sweep standardises once, not once per alpha), and the text index is built once.
/// Every table is bit-identical to `recipe.embeddings(from: source, texts: texts)`.
public final class RecipeSweep<Source: TensorSource> {
    public let source: Source
    public let texts: [String]
    private struct PartsKey: Equatable {
        var layer: Int, pooling: Pooling, layers: [Int]?, softmax: Bool
    }
    /// Only the latest parts are kept: a grid over many layers would otherwise hold all of them.
    private var parts: (key: PartsKey, value: MoEESumParts)?
    private var index: EmbeddingTable?

    public init(source: Source, texts: [String]) {
        self.source = source
        self.texts = texts
    }

    public func embeddings(_ recipe: Recipe) throws -> EmbeddingTable {
        guard recipe.kind == .moeeSum else { return try recipe.embeddings(from: source, texts: texts) }
        try recipe.validate()
        let key = PartsKey(layer: recipe.layer, pooling: recipe.pooling, layers: recipe.layers, softmax: recipe.softmax)
        let built: MoEESumParts
        if let parts, parts.key == key {
            built = parts.value
        } else {
            built = try MoEESumParts(recipe: recipe, source: source, texts: texts)
            parts = (key, built)
        }
        let matrix = built.vectors(alpha: recipe.alpha)
        if let index { return index.replacingMatrix(matrix) }
        let table = EmbeddingTable(texts: texts, matrix: matrix)
        index = table
        return table
    }
}
