import Foundation

/// The `--embeddings FILE.jsonl` format (SPEC §3): one line per text, `{"text": "...", "embedding": [floats]}`.
public enum EmbeddingsFile {
    /// Reads the file into an `EmbeddingTable`. Errors name the line: bad JSON, a missing or mistyped key,
    /// a vector whose length differs from the first line's, an empty vector. A repeated text keeps its first row.
    ///
    /// Streamed in two passes, so memory is the vectors themselves plus one read chunk: the first counts the
    /// lines (the float buffer is then allocated once), the second scans each line in place
    /// (`EmbeddingLineScanner`). A line the scanner does not accept is re-read by JSONSerialization, whose
    /// error (or value) stands, so the fast path changes speed, never results.
    public static func read(_ url: URL) throws -> EmbeddingTable {
        let file = url.path
        let lines = try JSONLines.countLines(of: url)
        var texts: [String] = []
        texts.reserveCapacity(lines)
        var values: [Float] = []
        var dimension: Int?
        try JSONLines.forEachLine(of: url) { line, number in
            guard let base = line.baseAddress else { return }
            let found: Int
            if let (text, count) = EmbeddingLineScanner.scan(base, 0, line.count, into: &values) {
                texts.append(text)
                found = count
            } else {
                found = try appendSlowly(line, file: file, number: number, texts: &texts, values: &values)
            }
            if let dimension, found != dimension {
                throw ScoreError.dimensionMismatch(file: file, line: number, expected: dimension, found: found)
            }
            guard found > 0 else { throw ScoreError.badField(file: file, line: number, key: "embedding", expected: "a non-empty list of numbers") }
            if dimension == nil {
                dimension = found
                values.reserveCapacity(lines * found)
            }
        }
        guard let dimension else {
            throw ScoreError.unreadable(file: file, line: 0, reason: "no embeddings in the file")
        }
        return EmbeddingTable(texts: texts, matrix: EmbeddingMatrix(rows: texts.count, dimension: dimension, values: values))
    }

    /// The line through JSONSerialization: throws the error that names what is wrong, else appends the row.
    private static func appendSlowly(_ line: UnsafeBufferPointer<UInt8>, file: String, number: Int,
                                     texts: inout [String], values: inout [Float]) throws -> Int {
        let record = try JSONLines.record(line, file: file, line: number)
        let text = try record.string("text")
        guard let list = record.object["embedding"] as? [Any] else { throw record.bad("embedding", "a list of numbers") }
        var row: [Float] = []
        row.reserveCapacity(list.count)
        for element in list {
            guard let number = JSONRecord.number(element) else { throw record.bad("embedding", "a list of numbers") }
            row.append(Float(number))
        }
        texts.append(text)
        values.append(contentsOf: row)
        return row.count
    }
}
