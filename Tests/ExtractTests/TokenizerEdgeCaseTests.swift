import Foundation
import Testing
import TestSupport
@testable import Extract

/// Edge cases beyond the shared fixtures (long runs, NUL, raw BOM, case-folded contractions, special tokens next
/// to text), with ids and decoded text from Hugging Face `tokenizers`
/// (`scripts/reference/tokenizer_edge_cases.py` → `tokenizer_edge_cases.jsonl`).
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct TokenizerEdgeCaseTests {
    @Test func edgeCasesMatchTheReference() throws {
        let file = SharedData.repository("scripts/reference/tokenizer_edge_cases.jsonl")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(lines.count >= 100)
        var failures: [String] = []
        for line in lines {
            let root = JSONNode(value: try JSONTree.parse(Array(line.utf8)), file: "tokenizer_edge_cases.jsonl", path: "")
            let tokenizer = try SharedTokenizers.load(try root.string("model"))
            let text = try root.string("text")
            let ids = try root.required("ids").array().map { try $0.int() }
            let plain = try root.required("ids_plain").array().map { try $0.int() }
            let gotIDs = tokenizer.encode(text), gotPlain = tokenizer.encode(text, addSpecialTokens: false)
            if gotIDs != ids || gotPlain != plain {
                failures.append("\(try root.string("model")) \(String(reflecting: text).prefix(60)): got \(gotPlain.prefix(20)) want \(plain.prefix(20))")
            }
            let decoded = try tokenizer.decode(plain)
            if decoded != (try root.string("decoded")) {
                failures.append("\(try root.string("model")) decode \(String(reflecting: text).prefix(60)): got \(String(reflecting: decoded).prefix(80))")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(8).joined(separator: "\n")))
    }

    /// The empty text: no ids, plus BOS for the tokenizers that add one (defined behaviour, see SPEC.md §3).
    @Test(arguments: TokenizerFixtureTests.models)
    func emptyTextGivesOnlyTheSpecialTokens(model: String) throws {
        let tokenizer = try SharedTokenizers.load(model)
        #expect(tokenizer.encode("", addSpecialTokens: false) == [])
        #expect(tokenizer.encode("") == (tokenizer.encode("x").count == tokenizer.encode("x", addSpecialTokens: false).count
                                            ? [] : [tokenizer.bosTokenID ?? -1]))
    }

    /// Byte-level BPE is lossless up to normalization: decoding the ids of every fixture text gives the text back
    /// (NFC-normalized for OLMoE and Qwen, whose normalizer is NFC).
    @Test(arguments: ["allenai--OLMoE-1B-7B-0924", "Qwen--Qwen1.5-MoE-A2.7B"])
    func byteLevelDecodeRoundTrips(model: String) throws {
        let tokenizer = try SharedTokenizers.load(model)
        let lines = try String(contentsOf: SharedData.url("fixtures/tokenizers/\(model).jsonl"), encoding: .utf8)
            .split(separator: "\n")
        var failures: [String] = []
        for line in lines {
            let text = try JSONNode(value: try JSONTree.parse(Array(line.utf8)), file: "", path: "").string("text")
            let nfc = text.precomposedStringWithCanonicalMapping
            let decoded = try tokenizer.decode(tokenizer.encode(text))
            if Array(decoded.unicodeScalars) != Array(nfc.unicodeScalars) { failures.append(String(reflecting: text)) }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(5).joined(separator: "\n")))
    }

    /// A 1 MB text encodes (in bounded time: the merge loop is O(n log n) per piece) and equals the ids of its
    /// parts: for GPT-2-style splitting, N copies of " sentence" give N copies of its ids.
    @Test func oneMegabyteText() throws {
        let tokenizer = try SharedTokenizers.load("allenai--OLMoE-1B-7B-0924")
        let sentence = " The quick brown fox jumps over the lazy dog, again and again."
        let copies = 1_000_000 / sentence.utf8.count + 1
        let ids = tokenizer.encode(String(repeating: sentence, count: copies))
        let once = tokenizer.encode(sentence)
        #expect(ids.count == once.count * copies)
        #expect(Array(ids.suffix(once.count)) == once)

        // One 1 MB piece with no split point at all: a single BPE word.
        let word = String(repeating: "x", count: 1_000_000)
        let wordIDs = tokenizer.encode(word)
        #expect(try tokenizer.decode(wordIDs) == word)
    }

    /// `encode(batch:)`, several threads encoding at once, gives the same ids as one thread.
    @Test func concurrentEncodingIsDeterministic() throws {
        let tokenizer = try SharedTokenizers.load("Qwen--Qwen1.5-MoE-A2.7B")
        let texts = try String(contentsOf: SharedData.url("fixtures/tokenizers/Qwen--Qwen1.5-MoE-A2.7B.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONNode(value: try JSONTree.parse(Array($0.utf8)), file: "", path: "").string("text") }
        let sequential = texts.map { tokenizer.encode($0) }
        let repeated = Array(repeatElement(texts, count: 4).joined())
        let concurrent = tokenizer.encode(batch: repeated)
        #expect(concurrent == Array(repeatElement(sequential, count: 4).joined()))
    }
}
