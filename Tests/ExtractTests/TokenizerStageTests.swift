import Foundation
import Testing
import TestSupport
@testable import Extract

/// Pre-tokenizer stages alone against Hugging Face `tokenizers` (`pre_tokenize_str`): every Split behavior with
/// and without `invert`, regex and string patterns, Digits, Metaspace's prepend schemes, ByteLevel.
/// Reference: `scripts/reference/pre_tokenizer_cases.jsonl` (from `scripts/reference/tokenizer_edge_cases.py`).
@Suite struct TokenizerStageTests {
    @Test func preTokenizersMatchTheReference() throws {
        let file = SharedData.repository("scripts/reference/pre_tokenizer_cases.jsonl")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 100)
        var failures: [String] = []
        for (index, line) in lines.enumerated() {
            let root = JSONNode(value: try JSONValue.parse(Array(line.utf8)), file: "pre_tokenizer_cases.jsonl",
                                path: "line \(index + 1)")
            let stage = try makePreTokenizer(try root.required("pre_tokenizer"))
            let text = try root.string("text")
            let expected = try root.required("pieces").array().map { try $0.string() }
            let pieces = stage.preTokenize([Array(text.unicodeScalars)], firstSegment: true)
                .map { String(String.UnicodeScalarView($0)) }
            if pieces != expected {
                failures.append("line \(index + 1): \(String(line.prefix(140))): got \(pieces)")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(6).joined(separator: "\n")))
    }

    @Test func byteAlphabetIsAPermutationOfPrintableCharacters() {
        let table = ByteLevelAlphabet.byteToScalar
        #expect(Set(table).count == 256)
        #expect(table[Int(UInt8(ascii: " "))] == "Ġ")
        #expect(table[Int(UInt8(ascii: "\n"))] == "Ċ")
        #expect(table[Int(UInt8(ascii: "A"))] == "A")
        for (byte, scalar) in table.enumerated() { #expect(ByteLevelAlphabet.scalarToByte[scalar] == UInt8(byte)) }
    }

    @Test func jsonParserKeepsWhatFoundationWouldChange() throws {
        // A leading U+FEFF stays (Foundation drops it), keys stay distinct byte for byte, escapes decode.
        let value = try JSONValue.parse(Array("{\"\u{FEFF}\": 1, \"e\u{301}\": 2, \"\u{E9}\": 3, \"s\": \"a\\u0000\\ud83d\\ude00\"}".utf8))
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map { Array($0.key.unicodeScalars) } == [["\u{FEFF}"], ["e", "\u{301}"], ["\u{E9}"], ["s"]])
        guard case .string(let text) = members[3].value else { Issue.record("not a string"); return }
        #expect(Array(text.unicodeScalars) == ["a", "\u{0}", "\u{1F600}"])
    }

    @Test(arguments: ["\"\\ud800\"", "\"\\udc00x\"", "\"abc", "[1,]", "\"\\q\"", "nul", "\"a\"b", "\"\u{1}\""])
    func jsonParserRejects(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Array(text.utf8)) }
    }
}
