import Foundation

/// Embeddings as NumPy `.npy` (format 1.0-3.0: magic, version, header length, a Python-dict header with `descr`,
/// `fortran_order`, `shape`, then the values), the binary form `pipeline export` writes and `score --embeddings`
/// reads. The texts of the rows live beside it in a JSONL file, one `{"text": ...}` per row, in row order
/// (`textsFile(for:)`): `numpy.load(F)` and `pandas.read_json(T, lines=True)` read the pair.
public enum NumpyFile {
    /// `X.npy` -> `X.texts.jsonl` (also for `X.safetensors`).
    public static func textsFile(for url: URL) -> URL {
        url.deletingPathExtension().appendingPathExtension("texts.jsonl")
    }

    /// Writes a float32 C-order (rows, dimension) array.
    public static func write(_ matrix: EmbeddingMatrix, to url: URL) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.dimension)), }"
        // Magic (6) + version (2) + length (2) + header + "\n", padded with spaces to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        matrix.values.withUnsafeBytes { raw in
            // Little-endian float32, as '<f4' says (every host this builds for is little-endian).
            data.append(contentsOf: raw)
        }
        try data.write(to: url, options: .atomic)
    }

    /// Reads a 2-D C-order float16, float32 or float64 array (float16 widened exactly, float64 rounded to float32).
    public static func read(_ url: URL) throws -> EmbeddingMatrix {
        let file = url.path
        func bad(_ reason: String) -> ScoreError { .unreadable(file: file, line: 0, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw bad("cannot read: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw bad("not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw bad("unsupported .npy format version \(major)")
        }
        guard headerStart + headerLength <= data.count else { throw bad("header longer than the file") }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ key: String) throws -> String {
            guard let range = header.range(of: "'\(key)':") else { throw bad("header has no '\(key)'") }
            return header[range.upperBound...].trimmingCharacters(in: .whitespaces)
        }
        let descr = try field("descr")
        let width: Int
        if descr.hasPrefix("'<f4'") || descr.hasPrefix("'f4'") { width = 4 }
        else if descr.hasPrefix("'<f8'") || descr.hasPrefix("'f8'") { width = 8 }
        else if descr.hasPrefix("'<f2'") || descr.hasPrefix("'f2'") { width = 2 }
        else {
            throw bad("dtype \(descr.prefix { $0 != "," }) is not little-endian float16, float32 or float64 ('<f2', '<f4', '<f8')")
        }
        guard try field("fortran_order").hasPrefix("False") else { throw bad("fortran_order True is not supported; save with C order") }
        let shapeText = try field("shape")
        guard shapeText.hasPrefix("("), let close = shapeText.firstIndex(of: ")") else { throw bad("cannot read 'shape'") }
        let dims = shapeText[shapeText.index(after: shapeText.startIndex)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard dims.count == 2, let rows = Int(dims[0]), let dimension = Int(dims[1]), rows >= 0, dimension > 0 else {
            throw bad("shape \(shapeText.prefix(through: close)) is not (rows, dimension)")
        }
        let offset = headerStart + headerLength
        let (count, overflow) = rows.multipliedReportingOverflow(by: dimension)
        guard !overflow, data.count - offset == count * width else {
            throw bad("\(data.count - offset) data bytes for shape (\(rows), \(dimension)) of \(width)-byte floats")
        }
        let values = data.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                let body = UnsafeRawBufferPointer(rebasing: raw[offset...])
                switch width {
                case 2:
                    // Every float16 (subnormals included) is exactly a float32.
                    for i in 0..<count { buffer[i] = Float(body.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
                case 4:
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: body[..<(4 * count)]))
                default:
                    for i in 0..<count { buffer[i] = Float(body.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                }
                initialized = count
            }
        }
        return EmbeddingMatrix(rows: rows, dimension: dimension, values: values)
    }

    /// Writes one `{"text": ...}` line per text, in order.
    public static func writeTexts(_ texts: [String], to url: URL) throws {
        var out = Data()
        for text in texts {
            out.append(try JSONSerialization.data(withJSONObject: ["text": text], options: [.withoutEscapingSlashes]))
            out.append(0x0a)
        }
        try out.write(to: url, options: .atomic)
    }

    /// Reads the texts file; errors name the file and line.
    public static func readTexts(_ url: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ScoreError.unreadable(file: url.path, line: 0,
                                        reason: "missing: the texts of the embedding rows, one {\"text\": ...} per row")
        }
        return try JSONLines.map(url) { try $0.string("text") }
    }

    /// An embedding table from rows and their texts, checked for equal counts.
    public static func table(texts: [String], matrix: EmbeddingMatrix, file: URL, textsFile: URL) throws -> EmbeddingTable {
        guard texts.count == matrix.rows else {
            throw ScoreError.invalidInput("\(file.path) holds \(matrix.rows) rows but \(textsFile.path) \(texts.count) texts")
        }
        return EmbeddingTable(texts: texts, matrix: matrix)
    }
}
