// How a per-token tensor became one vector per text (last token or mean): the store's `Pooling`, re-exported so
// that Score's clients name it without importing Store.
@_exported import enum Store.Pooling

/// Where recipes read cached tensors from (the Store's cache in the pipeline; memory in tests and for
/// `--embeddings`). Rows come back in the order of `texts`.
public protocol TensorSource {
    /// The hidden state of `layer` (Hugging Face `output_hidden_states` numbering, 0 = embedding output;
    /// negative counts from the end, -1 = the output of the final norm), one row per text.
    func hiddenStates(layer: Int, pooling: Pooling, texts: [String]) throws -> EmbeddingMatrix
    /// How many hidden-state entries each text has (L + 1: the embedding output and every decoder layer's, the
    /// last one after the final norm).
    func hiddenStateEntries() throws -> Int
    /// The raw router logits of every MoE layer, concatenated in layer order: `layers.count * experts` values
    /// per row; `layers` are the decoder-layer indices of the router entries.
    func routerLogits(pooling: Pooling, texts: [String]) throws -> (matrix: EmbeddingMatrix, layers: [Int], experts: Int)
    /// How the model's router scores its logits (RW's `normalize=router`).
    func routerScoring() throws -> RouterScoring
}

/// A `TensorSource` held in memory: per pooling, every hidden-state layer and the router logits, by text.
public struct InMemoryTensorSource: TensorSource, Sendable {
    public struct Pooled: Sendable {
        /// One matrix per hidden-state entry (L + 1 of them), rows aligned with `texts`.
        public var hiddenStates: [EmbeddingMatrix]
        /// Rows aligned with `texts`; `routerLayers.count * experts` columns.
        public var routerLogits: EmbeddingMatrix
        public init(hiddenStates: [EmbeddingMatrix], routerLogits: EmbeddingMatrix) {
            self.hiddenStates = hiddenStates; self.routerLogits = routerLogits
        }
    }

    public let texts: [String]
    public let pooled: [Pooling: Pooled]
    public let routerLayers: [Int]
    public let experts: Int
    public let scoring: RouterScoring
    private let rowOfText: [String: Int]

    public init(texts: [String], pooled: [Pooling: Pooled], routerLayers: [Int], experts: Int, scoring: RouterScoring = .softmax) {
        self.texts = texts
        self.pooled = pooled
        self.routerLayers = routerLayers
        self.experts = experts
        self.scoring = scoring
        var rows = [String: Int]()
        for (index, text) in texts.enumerated() where rows[text] == nil { rows[text] = index }
        rowOfText = rows
    }

    /// Externally computed embeddings as a source with one hidden-state layer (so `hs` returns them as they
    /// are, for either pooling) and no routers.
    public init(embeddings table: EmbeddingTable, texts: [String]) {
        let matrix = table.matrix.selecting(rows: texts.map { table.row(of: $0) ?? 0 })
        let pooled = Pooled(hiddenStates: [matrix], routerLogits: EmbeddingMatrix(rows: texts.count, dimension: 0, values: []))
        self.init(texts: texts, pooled: [.last: pooled, .mean: pooled], routerLayers: [], experts: 0)
    }

    private func rows(_ texts: [String]) throws -> [Int] {
        var missing: [String] = []
        var missingCount = 0
        let rows = texts.map { text -> Int in
            if let row = rowOfText[text] { return row }
            missingCount += 1
            if missing.count < 5 { missing.append(text) }
            return 0
        }
        if missingCount > 0 { throw ScoreError.missingTexts(task: "tensor source", count: missingCount, examples: missing) }
        return rows
    }

    private func pooledOrThrow(_ pooling: Pooling) throws -> Pooled {
        guard let entry = pooled[pooling] else { throw ScoreError.invalidRecipe("no \(pooling.rawValue)-pooled tensors in this source") }
        return entry
    }

    public func hiddenStateEntries() throws -> Int {
        pooled.values.map(\.hiddenStates.count).max() ?? 0
    }

    public func routerScoring() throws -> RouterScoring { scoring }

    public func hiddenStates(layer: Int, pooling: Pooling, texts: [String]) throws -> EmbeddingMatrix {
        let entry = try pooledOrThrow(pooling)
        let count = entry.hiddenStates.count
        let index = layer < 0 ? count + layer : layer
        guard index >= 0, index < count else {
            throw ScoreError.invalidRecipe("hidden-state layer \(layer) does not exist (the source has \(count) entries: 0...\(count - 1) or -\(count)...-1)")
        }
        return entry.hiddenStates[index].selecting(rows: try rows(texts))
    }

    public func routerLogits(pooling: Pooling, texts: [String]) throws -> (matrix: EmbeddingMatrix, layers: [Int], experts: Int) {
        let entry = try pooledOrThrow(pooling)
        return (entry.routerLogits.selecting(rows: try rows(texts)), routerLayers, experts)
    }
}
