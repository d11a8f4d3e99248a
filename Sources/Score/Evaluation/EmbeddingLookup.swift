/// Where `evaluate` finds each text's vector: a row of one `EmbeddingMatrix`, looked up by the exact text.
public protocol EmbeddingLookup {
    /// Every vector, one row per text.
    var matrix: EmbeddingMatrix { get }
    /// The row of `text` in `matrix`, nil when the text has no embedding.
    func row(of text: String) -> Int?
}

/// The plain implementation: a dictionary text -> row. A text given twice keeps its first row.
public struct EmbeddingTable: EmbeddingLookup, Sendable {
    public let matrix: EmbeddingMatrix
    private let rows: [String: Int]

    /// - Parameter texts: one per row of `matrix`, in row order.
    public init(texts: [String], matrix: EmbeddingMatrix) {
        precondition(texts.count == matrix.rows, "EmbeddingTable: \(texts.count) texts for \(matrix.rows) rows")
        var rows = [String: Int](minimumCapacity: texts.count)
        for (index, text) in texts.enumerated() where rows[text] == nil { rows[text] = index }
        self.rows = rows
        self.matrix = matrix
    }

    public func row(of text: String) -> Int? { rows[text] }

    /// The same texts with other vectors (same shape of rows), without rebuilding the text index:
    /// for sweeps that rescore one task many times.
    public func replacingMatrix(_ matrix: EmbeddingMatrix) -> EmbeddingTable {
        precondition(matrix.rows == self.matrix.rows, "replacingMatrix: row counts differ")
        return EmbeddingTable(matrix: matrix, rows: rows)
    }

    private init(matrix: EmbeddingMatrix, rows: [String: Int]) {
        self.matrix = matrix
        self.rows = rows
    }
}

extension EmbeddingLookup {
    /// Checks that every text of `texts` has a finite vector of positive dimension.
    /// - Throws: `missingTexts` (how many, the first few), `nonFiniteEmbedding` (naming the text).
    func validate(_ texts: [String], task: String) throws {
        guard matrix.dimension > 0 else { throw ScoreError.invalidInput("the embeddings have dimension 0") }
        var missing: [String] = []
        var missingCount = 0
        for text in texts {
            guard let row = row(of: text) else {
                missingCount += 1
                if missing.count < 5 { missing.append(text) }
                continue
            }
            if !matrix.rowIsFinite(row) { throw ScoreError.nonFiniteEmbedding(text: text) }
        }
        if missingCount > 0 { throw ScoreError.missingTexts(task: task, count: missingCount, examples: missing) }
    }

    /// The vectors of `texts`, in that order (validated beforehand by `validate`); no copy when the matrix
    /// already holds exactly these texts in this order (recipe outputs, benchmarks).
    func gather(_ texts: [String]) -> EmbeddingMatrix {
        let rows = texts.map { row(of: $0) ?? 0 }
        if rows.count == matrix.rows && rows.enumerated().allSatisfy({ $0.offset == $0.element }) { return matrix }
        return matrix.selecting(rows: rows)
    }
}

extension EmbeddingMatrix {
    /// Whether row `index` holds no NaN or Inf: `x * 0` is 0 for finite x and NaN otherwise (SIMD, no branches).
    func rowIsFinite(_ index: Int) -> Bool {
        values.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return true }
            let x = base + index * dimension
            var lanes = SIMD16<Float>()
            var i = 0
            while i + 16 <= dimension {
                lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * 0
                i += 16
            }
            var sum = lanes.sum()
            while i < dimension { sum += x[i] * 0; i += 1 }
            return sum == 0
        }
    }
}
