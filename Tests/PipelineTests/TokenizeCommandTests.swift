import Foundation
import Testing
import TestSupport

/// `pipeline tokenize` (SPEC.md §3): JSON strings on stdin, JSON arrays on stdout, errors naming the line.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct TokenizeCommandTests {
    static let mixtral = SharedData.url("models/mistralai--Mixtral-8x7B-v0.1").path

    /// The fixture's texts, re-serialized one per line, and their expected ids.
    static func fixture(_ model: String, lines: Int) throws -> (input: String, ids: [String], plain: [String]) {
        let text = try String(contentsOf: SharedData.url("fixtures/tokenizers/\(model).jsonl"), encoding: .utf8)
        var input = "", ids: [String] = [], plain: [String] = []
        for line in text.split(separator: "\n").prefix(lines) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            // The fixture lines are pure ASCII with \u escapes: cut the "text" value out verbatim.
            let start = try #require(line.range(of: "{\"text\": ")).upperBound
            let end = try #require(line.range(of: ", \"ids\": ")).lowerBound
            input += line[start..<end] + "\n"
            ids.append(Self.compact(try #require(object["ids"] as? [Int])))
            plain.append(Self.compact(try #require(object["ids_plain"] as? [Int])))
        }
        return (input, ids, plain)
    }

    static func compact(_ ids: [Int]) -> String { "[" + ids.map(String.init).joined(separator: ",") + "]" }

    @Test func idsOfEveryLineInOrder() throws {
        let (input, ids, plain) = try Self.fixture("mistralai--Mixtral-8x7B-v0.1", lines: 434)
        let special = try PipelineProcess.run(["tokenize", "--model", Self.mixtral], stdin: input)
        #expect(special.status == 0, "\(special.stderr)")
        #expect(special.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == ids)
        let noSpecial = try PipelineProcess.run(["tokenize", "--model", Self.mixtral, "--no-special"], stdin: input)
        #expect(noSpecial.status == 0, "\(noSpecial.stderr)")
        #expect(noSpecial.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == plain)
    }

    @Test func emptyInputAndEmptyText() throws {
        let none = try PipelineProcess.run(["tokenize", "--model", Self.mixtral], stdin: "")
        #expect(none.status == 0)
        #expect(none.stdout == "")
        // The empty text: BOS only with special tokens, nothing without. A final line may lack its newline.
        let empty = try PipelineProcess.run(["tokenize", "--model", Self.mixtral], stdin: "\"\"\n\"\"")
        #expect(empty.stdout == "[1]\n[1]\n")
        let plain = try PipelineProcess.run(["tokenize", "--model", Self.mixtral, "--no-special"], stdin: "\"\"\r\n")
        #expect(plain.stdout == "[]\n")
    }

    @Test func invalidJSONNamesTheLineAndKeepsEarlierOutput() throws {
        let result = try PipelineProcess.run(["tokenize", "--model", Self.mixtral, "--no-special"],
                                             stdin: "\"a\"\n\"b\"\n\"unterminated\n\"d\"\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("line 3"), "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 2)
        for bad in ["{\"text\": \"a\"}", "42", "", "\"\\ud800\"", "\"a\\x\""] {
            let run = try PipelineProcess.run(["tokenize", "--model", Self.mixtral], stdin: "\"ok\"\n" + bad + "\n")
            #expect(run.status == 1, "\(bad)")
            #expect(run.stderr.contains("line 2"), "\(bad): \(run.stderr)")
        }
    }

    @Test func missingTokenizerIsAFailure() throws {
        let result = try PipelineProcess.run(["tokenize", "--model", "/nonexistent/model"], stdin: "\"a\"\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/model/tokenizer.json"), "\(result.stderr)")
    }

    @Test func usageErrors() throws {
        for arguments in [["tokenize"], ["tokenize", "--model"], ["tokenize", "--model", Self.mixtral, "extra"],
                          ["tokenize", "--model", Self.mixtral, "--bogus"]] {
            let result = try PipelineProcess.run(arguments, stdin: "")
            #expect(result.status == 2, "\(arguments)")
        }
        let help = try PipelineProcess.run(["tokenize", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--no-special"))
    }
}
