import Foundation

/// The `--embeddings FILE.jsonl` format (SPEC §3): one line per text, `{"text": "...", "embedding": [floats]}`.
public enum EmbeddingsFile {
    /// Reads the file into an `EmbeddingTable`. Errors name the line: bad JSON, a missing or mistyped key,
    /// a vector whose length differs from the first line's, an empty vector. A repeated text keeps its first row.
    public static func read(_ url: URL) throws -> EmbeddingTable {
        var texts: [String] = []
        var values: [Float] = []
        var dimension: Int?
        for record in try JSONLines.read(url) {
            let text = try record.string("text")
            guard let list = record.object["embedding"] as? [Any] else { throw record.bad("embedding", "a list of numbers") }
            if let dimension, list.count != dimension {
                throw ScoreError.dimensionMismatch(file: record.file, line: record.line, expected: dimension, found: list.count)
            }
            guard !list.isEmpty else { throw record.bad("embedding", "a non-empty list of numbers") }
            dimension = list.count
            for element in list {
                guard let number = JSONRecord.number(element) else { throw record.bad("embedding", "a list of numbers") }
                values.append(Float(number))
            }
            texts.append(text)
        }
        guard let dimension else {
            throw ScoreError.unreadable(file: url.path, line: 0, reason: "no embeddings in the file")
        }
        return EmbeddingTable(texts: texts, matrix: EmbeddingMatrix(rows: texts.count, dimension: dimension, values: values))
    }
}
