import Foundation
import Testing
@testable import Score

/// The streamed JSONL reader's fast path (`EmbeddingLineScanner`, `DecimalParsing`) against the reference it
/// replaces: every line through JSONSerialization, each number to the nearest float64 (Foundation's doubles, and
/// glibc's correctly rounded `strtod` for the long decimals Foundation hands over as NSDecimalNumber), then
/// `Float(Double)`: what Python's `np.float32(json.loads(...))` gives. Equal texts and bit-identical floats, or
/// the test fails.
@Suite struct EmbeddingsFileTests {
    private static func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("embeddings-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        return url
    }

    /// The reference reading: JSONSerialization per line, as the reader did before the fast path.
    private static func reference(_ url: URL) throws -> (texts: [String], values: [Float]) {
        var texts: [String] = []
        var values: [Float] = []
        for record in try JSONLines.read(url) {
            texts.append(try record.string("text"))
            let list = try #require(record.object["embedding"] as? [Any])
            for element in list { values.append(Float(try #require(JSONRecord.number(element)))) }
        }
        return (texts, values)
    }

    private static func expectSameAsReference(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fast = try EmbeddingsFile.read(url)
        let slow = try reference(url)
        #expect(fast.matrix.rows == slow.texts.count, sourceLocation: sourceLocation)
        for (row, text) in slow.texts.enumerated() where fast.row(of: text) != row {
            Issue.record("text \(text.debugDescription) at row \(fast.row(of: text).map(String.init) ?? "none"), expected \(row)",
                         sourceLocation: sourceLocation)
        }
        let differing = zip(fast.matrix.values, slow.values).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(fast.matrix.values.count == slow.values.count, sourceLocation: sourceLocation)
        #expect(differing.isEmpty, "\(differing.count) floats differ, first (index, fast, reference): \(differing.prefix(3).map { "\($0.offset) \($0.element)" })",
                sourceLocation: sourceLocation)
    }

    /// Decimals as other tools write them: float32 values as float64 reprs (numpy `.tolist()` + json, 17
    /// digits), float32 shortest reprs, fixed and exponent forms, long mantissas, exact float32 midpoints
    /// (where decimal -> float64 -> float32 rounds twice) and their neighbours, subnormals, zeros.
    @Test func numbersMatchJSONSerializationBitForBit() throws {
        var generator = SplitMix64(seed: 20261206)
        var numbers: [String] = ["0", "-0", "0.0", "-0.0", "1", "-1", "1e0", "1E+2", "1e-2", "0.1", "123456789012345678901234",
                                 "1.00000000000000000000001", "3.4028235e38", "1.1754944e-38", "1e-45", "1.4e-45", "7e-46",
                                 "2.5e-39", "9007199254740993", "0.000001", "1e22", "1e23", "1e-22", "1e-23"]
        for _ in 0..<20_000 {
            let bits = UInt32(truncatingIfNeeded: generator.next())
            let value = Float(bitPattern: bits)
            guard value.isFinite else { continue }
            numbers.append("\(Double(value))")    // Python's repr of a float32 widened to float64
            numbers.append("\(value)")            // the shortest float32 repr
            let scaled = Float(Double(Int64(bitPattern: generator.next()) % 1_000_000) / 1e7)
            numbers.append("\(Double(scaled))")
            // The exact midpoint between `scaled` and its upper neighbour, and one float64 ulp either side.
            let midpoint = (Double(scaled) + Double(scaled.nextUp)) / 2
            for candidate in [midpoint, midpoint.nextUp, midpoint.nextDown] {
                numbers.append(String(format: "%.30g", candidate))
                numbers.append("\(candidate)")
            }
            numbers.append(String(format: "%.\(generator.next() % 25)e", Double(scaled) * 3.7))
        }
        let dimension = 16
        var lines: [String] = []
        var k = 0
        while k + dimension <= numbers.count {
            lines.append(#"{"text": "row \#(lines.count)", "embedding": [\#(numbers[k..<(k + dimension)].joined(separator: ", "))]}"#)
            k += dimension
        }
        try Self.expectSameAsReference(try Self.file(lines.joined(separator: "\n") + "\n"))
    }

    /// Escapes (Python's json.dumps writes non-ASCII as \uXXXX), raw UTF-8, other keys of every JSON kind in any
    /// order, and spacing: the same texts as JSONSerialization.
    @Test func textsAndLayoutsMatchJSONSerialization() throws {
        let lines = [
            #"{"text": "caf\u00e9 \"quoted\" back\\slash \/ tab\t nl\n \ud83d\ude00 \u0041", "embedding": [1, 2]}"#,
            #"{"text": "café 😀 raw", "embedding": [3, 4]}"#,
            #"{"id": 7, "embedding": [5,6], "meta": {"a": [1, {"b": null}], "c": "x\"y"}, "text": "order", "ok": true}"#,
            #"  {  "text"  :  "spaces"  ,  "embedding"  :  [  7  ,  8  ]  }  "#,
            #"{"text": "", "embedding": [-0.0, -0], "big": 1e300, "small": 1e-7}"#,
            #"{"text": "a\u0000b", "embedding": [9, 10], "f": false, "n": -12.5e+3}"#,
        ]
        try Self.expectSameAsReference(try Self.file(lines.joined(separator: "\r\n")))
    }

    /// Lines only the slow path accepts (a lone surrogate may be read as U+FFFD; repeated keys) give its result.
    @Test func linesTheScannerDeclinesFallBackToJSONSerialization() throws {
        let lines = [
            #"{"text": "lone \ud800 high", "embedding": [1, 2]}"#,
            #"{"text": "first", "text": "second", "embedding": [3, 4]}"#,
            #"{"text": "ints", "embedding": [1, 2]}"#,
        ]
        let url = try Self.file(lines.joined(separator: "\n"))
        do {
            let slow = try Self.reference(url)
            let fast = try EmbeddingsFile.read(url)
            #expect(fast.matrix.values == slow.values)
            #expect(slow.texts.allSatisfy { fast.row(of: $0) != nil })
        } catch {
            // Foundation refuses the line: the fast reader must refuse it too, naming the line.
            let message = TaskLoadingTests.error { _ = try EmbeddingsFile.read(url) }
            #expect(message.contains(url.lastPathComponent), "\(message)")
        }
    }

    /// Bad lines keep the errors of the JSONSerialization reader: file and line named.
    @Test(arguments: [
        (#"{"text": "x", "embedding": [1 2]}"#, "not valid JSON"),
        (#"{"text": "x", "embedding": [01, 2]}"#, "not valid JSON"),
        (#"{"text": "x", "embedding": ["1", 2]}"#, "embedding"),
        (#"{"text": 5, "embedding": [1, 2]}"#, "text"),
        (#"{"embedding": [1, 2]}"#, "text"),
        (#"{"text": "x"}"#, "embedding"),
        (#"{"text": "x", "embedding": [1, 2, 3]}"#, "3"),
        (#"[1, 2]"#, "object"),
    ])
    func badLinesAreNamed(_ line: String, _ says: String) throws {
        let url = try Self.file(#"{"text": "ok", "embedding": [0.5, 1]}"# + "\n\n" + line + "\n")
        let message = TaskLoadingTests.error { _ = try EmbeddingsFile.read(url) }
        #expect(message.contains("\(url.lastPathComponent):3") && message.contains(says), "\(message)")
    }

    /// Lines split across read chunks of any size come out whole and numbered as in the file.
    @Test func chunkBoundariesNeverSplitALine() throws {
        let text = "{\"a\": 1}\n\n  \n{\"b\": 22}\r\n{\"c\": 333}"
        let url = try Self.file(text)
        var expected: [String] = []
        try JSONLines.forEachLine(of: url, chunkBytes: 1 << 20) { line, number in expected.append("\(number):\(String(decoding: line, as: UTF8.self))") }
        #expect(expected == ["1:{\"a\": 1}", "4:{\"b\": 22}\r", "5:{\"c\": 333}"])
        for chunk in 1...12 {
            var seen: [String] = []
            try JSONLines.forEachLine(of: url, chunkBytes: chunk) { line, number in seen.append("\(number):\(String(decoding: line, as: UTF8.self))") }
            #expect(seen == expected, "chunk \(chunk)")
        }
        #expect(try JSONLines.countLines(of: url) == 3)
    }
}

/// SplitMix64, for reproducible test inputs.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
