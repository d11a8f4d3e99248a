/// The vectors of one task's texts, compact (one row per text of `ScoreTask.requiredTexts`), with their
/// L2-normalised copy computed once for every evaluator that needs cosines.
public struct TaskVectors: Sendable {
    public let matrix: EmbeddingMatrix
    /// The rows divided by their norms; empty (0 x dimension) when made with `normalize: false`.
    public let normalized: EmbeddingMatrix
    private let rowOfText: [String: Int]

    /// - Parameters:
    ///   - texts: distinct texts, one per row of `matrix`.
    ///   - normalize: whether to make `normalized` (classification and clustering never read it).
    public init(texts: [String], matrix: EmbeddingMatrix, normalize: Bool = true) {
        precondition(texts.count == matrix.rows, "TaskVectors: \(texts.count) texts for \(matrix.rows) rows")
        self.matrix = matrix
        normalized = normalize ? Similarity.normalizedRows(matrix)
            : EmbeddingMatrix(rows: 0, dimension: matrix.dimension, values: [])
        var rows = [String: Int](minimumCapacity: texts.count)
        for (index, text) in texts.enumerated() { rows[text] = index }
        rowOfText = rows
    }

    /// The rows of `texts` (every one is a required text of the task, so present).
    public func rows(_ texts: [String]) -> [Int] { texts.map { rowOfText[$0] ?? 0 } }
}
