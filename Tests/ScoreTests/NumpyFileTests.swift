import Foundation
import Testing
import TestSupport
@testable import Score

/// The `.npy` files `pipeline export` writes and `score --embeddings` reads (NumPy format 1.0; numpy.load reads
/// them: checked by hand with NumPy 2.4, see the CHANGELOG).
@Suite struct NumpyFileTests {
    let scratch: TemporaryFolder
    init() throws { scratch = try TemporaryFolder(prefix: "npy") }

    @Test func writtenArraysReadBackAndFollowTheFormat() throws {
        let matrix = EmbeddingMatrix(rows: 3, dimension: 5, values: (0..<15).map { Float($0) * 0.25 - 1 })
        let url = scratch.url.appendingPathComponent("a.npy")
        try NumpyFile.write(matrix, to: url)
        #expect(try NumpyFile.read(url) == matrix)
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(Array(bytes[0..<8]) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0 && bytes[10 + headerLength - 1] == 0x0a)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }"))
        #expect(bytes.count == 10 + headerLength + 15 * 4)
    }

    /// A float64 array in format 2.0, as NumPy writes large headers, built byte by byte.
    @Test func float64AndFormatTwoAreRead() throws {
        let values: [Double] = [1.5, -2.25, 3, 0.125]
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"
        header += String(repeating: " ", count: (64 - (12 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        let n = UInt32(header.utf8.count)
        data.append(contentsOf: [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        let url = scratch.url.appendingPathComponent("b.npy")
        try data.write(to: url)
        #expect(try NumpyFile.read(url) == EmbeddingMatrix(rows: 2, dimension: 2, values: values.map(Float.init)))
    }

    /// float16 ('<f2', what numpy's `astype(np.float16)` saves) widens exactly: IEEE binary16 bit patterns for
    /// 1, -2, the largest normal 65504, the smallest subnormal 2^-24 and -0.
    @Test func float16IsWidenedExactly() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555]
        var header = "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        data.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        bits.withUnsafeBytes { data.append(contentsOf: $0) }
        let url = scratch.url.appendingPathComponent("h.npy")
        try data.write(to: url)
        let matrix = try NumpyFile.read(url)
        #expect(matrix.rows == 3 && matrix.dimension == 2)
        #expect(Array(matrix.values.prefix(4)) == [1, -2, 65504, 0x1p-24])
        #expect(matrix.values[4] == 0 && matrix.values[4].sign == .minus)
        #expect(matrix.values[5] == Float(0x1.554p-2))  // 0x3555: exponent -2, mantissa 0x155
    }

    @Test func badFilesNameTheFileAndTheProblem() throws {
        let url = scratch.url.appendingPathComponent("bad.npy")
        func reason(_ data: Data) -> String {
            try? data.write(to: url)
            do { _ = try NumpyFile.read(url); return "no error" } catch { return "\(error)" }
        }
        #expect(reason(Data("not numpy".utf8)).contains("bad.npy: not a .npy file"))
        let matrix = EmbeddingMatrix(rows: 2, dimension: 2, values: [1, 2, 3, 4])
        try NumpyFile.write(matrix, to: url)
        let good = try Data(contentsOf: url)
        #expect(reason(good.dropLast(4)).contains("12 data bytes for shape (2, 2)"))
        var patched = [UInt8](good)  // the header (bytes 10..<74) is ASCII: patch it in place
        let header = String(decoding: patched[10..<74], as: UTF8.self).replacingOccurrences(of: "False", with: "True ")
        patched.replaceSubrange(10..<74, with: Array(header.utf8))
        #expect(reason(Data(patched)).contains("fortran_order True is not supported"))
        let int32 = String(decoding: good[10..<74], as: UTF8.self).replacingOccurrences(of: "<f4", with: "<i4")
        patched = [UInt8](good)
        patched.replaceSubrange(10..<74, with: Array(int32.utf8))
        #expect(reason(Data(patched)).contains("'<i4' is not little-endian float16, float32 or float64"))
    }

    @Test func textsAndRowsMustAgree() throws {
        let texts = scratch.url.appendingPathComponent("a.texts.jsonl")
        try NumpyFile.writeTexts(["one", "two \"quoted\"", "three/slash"], to: texts)
        #expect(try NumpyFile.readTexts(texts) == ["one", "two \"quoted\"", "three/slash"])
        #expect(NumpyFile.textsFile(for: scratch.url.appendingPathComponent("a.npy")) == texts)
        let matrix = EmbeddingMatrix(rows: 2, dimension: 1, values: [1, 2])
        #expect(throws: ScoreError.self) {
            try NumpyFile.table(texts: ["one", "two", "three"], matrix: matrix, file: URL(fileURLWithPath: "a.npy"), textsFile: texts)
        }
        #expect(throws: ScoreError.self) { try NumpyFile.readTexts(scratch.url.appendingPathComponent("missing.texts.jsonl")) }
    }
}
