/// The vectors of one task's texts, compact (one row per text of `ScoreTask.requiredTexts`), with their
/// L2-normalised copy computed once for every evaluator that needs cosines.
public struct TaskVectors: Sendable {
    public let matrix: EmbeddingMatrix
    public let normalized: EmbeddingMatrix
    private let rowOfText: [String: Int]

    /// - Parameter texts: distinct texts, one per row of `matrix`.
    public init(texts: [String], matrix: EmbeddingMatrix) {
        precondition(texts.count == matrix.rows, "TaskVectors: \(texts.count) texts for \(matrix.rows) rows")
        self.matrix = matrix
        normalized = Similarity.normalizedRows(matrix)
        var rows = [String: Int](minimumCapacity: texts.count)
        for (index, text) in texts.enumerated() { rows[text] = index }
        rowOfText = rows
    }

    /// The rows of `texts` (every one is a required text of the task, so present).
    public func rows(_ texts: [String]) -> [Int] { texts.map { rowOfText[$0] ?? 0 } }
}
