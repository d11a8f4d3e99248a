/// Embeddings as one row-major float32 matrix, one row per text: what every evaluator takes.
///
/// Float32 because mteb's evaluators see float32 numpy arrays, and several of its metrics (sklearn's
/// paired cosine, ties in ranks) depend on float32 rounding.
public struct EmbeddingMatrix: Sendable, Equatable {
    public let rows: Int
    public let dimension: Int
    public var values: [Float]

    public init(rows: Int, dimension: Int, values: [Float]) {
        precondition(values.count == rows * dimension, "EmbeddingMatrix: \(values.count) values for \(rows) x \(dimension)")
        self.rows = rows
        self.dimension = dimension
        self.values = values
    }

    /// Stacks equally long vectors; the caller has checked their lengths.
    public init(stacking vectors: [[Float]], dimension: Int) {
        self.init(rows: vectors.count, dimension: dimension, values: vectors.flatMap { $0 })
    }

    /// Row `index` as a contiguous slice.
    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * dimension)..<((index + 1) * dimension)]
    }

    /// The rows at `indices`, in that order (a gather).
    public func selecting(rows indices: [Int]) -> EmbeddingMatrix {
        var gathered = [Float]()
        gathered.reserveCapacity(indices.count * dimension)
        for index in indices { gathered.append(contentsOf: row(index)) }
        return EmbeddingMatrix(rows: indices.count, dimension: dimension, values: gathered)
    }
}

/// What an evaluator returns: mteb's metric names and values, and which of them is the main score.
public struct Scores: Sendable, Equatable {
    /// mteb's name of the main metric, e.g. `cosine_spearman`.
    public let mainScoreName: String
    /// Every metric mteb reports for the task type, by mteb's key names.
    public var metrics: [String: Double]

    public init(mainScoreName: String, metrics: [String: Double]) {
        self.mainScoreName = mainScoreName
        self.metrics = metrics
    }

    public var mainScore: Double { metrics[mainScoreName] ?? .nan }
}
