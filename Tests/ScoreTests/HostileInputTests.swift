import Foundation
import Testing
@testable import Score

/// Hostile embeddings and task files (issue 7): a clear error naming the file and line (or the text), or a
/// documented result, never a crash or a silent NaN score.
@Suite struct ScoreHostileInputTests {
    private static func file(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        return url
    }

    private static let sixTexts = ["a", "b", "c", "d", "e", "f"]

    private static func lines(_ embeddings: [String]) -> String {
        zip(sixTexts, embeddings).map { #"{"text": "\#($0)", "embedding": \#($1)}"# }.joined(separator: "\n")
    }

    /// JSON has no NaN or Infinity: such a line is refused naming the file and line.
    @Test(arguments: ["[NaN, 1]", "[1, Infinity]", "[-Infinity, 0]", "[nan, 1]"])
    func nanLiteralIsRefusedNamingTheLine(_ bad: String) throws {
        let url = try Self.file(Self.lines(["[1, 2]", "[1, 2]", bad, "[1, 2]", "[1, 2]", "[1, 2]"]))
        let message = TaskLoadingTests.error { _ = try EmbeddingsFile.read(url) }
        #expect(message.contains(url.lastPathComponent) && message.contains(":3"), "\(message)")
    }

    /// Numbers past Float's range become ±Inf on reading; evaluating then refuses naming the text, so no
    /// score is ever computed from a non-finite vector.
    @Test func overflowingNumbersAreRefusedNamingTheText() throws {
        let url = try Self.file(Self.lines(["[1, 2]", "[1, 2]", "[1, 2]", "[1e39, 2]", "[1, 2]", "[1, 2]"]))
        let message = TaskLoadingTests.error {
            let table = try EmbeddingsFile.read(url)
            _ = try evaluate(task: EvaluateInputTests.stsTask(), embeddings: table)
        }
        #expect(message.contains("\"d\"") || message.contains(":4"), "\(message)")
    }

    /// An all-zero vector has no direction: documented result is a finite score (cosine of a zero vector is 0)
    /// or an error naming the text, never NaN in the output.
    @Test func zeroVectorNeverGivesNaN() throws {
        let url = try Self.file(Self.lines(["[0, 0]", "[1, 2]", "[2, 1]", "[1, 1]", "[3, 1]", "[1, 3]"]))
        do {
            let result = try evaluate(task: EvaluateInputTests.stsTask(), embeddings: try EmbeddingsFile.read(url))
            let text = "\(result)"
            #expect(!text.lowercased().contains("nan"), "\(text)")
        } catch {
            #expect("\(error)".contains("\"a\""), "\(error)")
        }
    }

    /// Escaped lone surrogates in a task file: Foundation's JSON reader either refuses the line (error naming
    /// file and line) or reads the text with U+FFFD; both are acceptable, a crash is not.
    @Test func loneSurrogateInATaskFile() throws {
        let url = try TaskLoadingTests.folder(type: "STS", files: ["test.jsonl": #"""
            {"sentence1": "a\ud800b", "sentence2": "c", "score": 1.5}
            {"sentence1": "c", "sentence2": "\udc00", "score": 3}
            """#])
        do {
            let task = try ScoreTask.load(from: url)
            guard case .sts(let pairs) = task.data else { Issue.record("not STS"); return }
            #expect(pairs.count == 2)
            #expect(!pairs[0].sentence1.unicodeScalars.contains { (0xD800...0xDFFF).contains($0.value) })
        } catch {
            #expect("\(error)".contains("test.jsonl:1"), "\(error)")
        }
    }

    /// NUL inside texts is kept as a character (texts are keys: "a\0b" and "a" stay different).
    @Test func nulInsideTextsIsKept() throws {
        let url = try Self.file(#"""
            {"text": "a\u0000b", "embedding": [1, 0]}
            {"text": "a", "embedding": [0, 1]}
            """#)
        let table = try EmbeddingsFile.read(url)
        #expect(table.matrix.rows == 2)
    }

    /// A file of 100k tiny lines and one 1 MB text loads (memory is proportional to the file).
    @Test func manyLinesAndOneHugeText() throws {
        var text = (0..<100_000).map { #"{"text": "t\#($0)", "embedding": [\#($0 % 7), 1]}"# }.joined(separator: "\n")
        text += "\n" + #"{"text": ""# + String(repeating: "x", count: 1_000_000) + #"", "embedding": [0, 1]}"#
        let table = try EmbeddingsFile.read(try Self.file(text))
        #expect(table.matrix.rows == 100_001)
    }
}
