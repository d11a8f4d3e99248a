import Foundation
import Testing
import TestSupport
@testable import Extract

/// Small tokenizers built with Hugging Face `tokenizers` for what the real ones do not exercise: unknown tokens
/// with `fuse_unk`, `ignore_merges`, added tokens with `lstrip`/`rstrip`/`single_word`, Metaspace, Split
/// MergedWithPrevious, Digits runs, ByteLevel `add_prefix_space`, Roberta and Template post-processors, and decoders.
/// Files and expected ids: `scripts/reference/tiny_tokenizers/` (from `scripts/reference/tiny_tokenizers.py`).
@Suite struct TokenizerTinyTests {
    static let folder = SharedData.repository("scripts/reference/tiny_tokenizers")

    @Test func tinyTokenizersMatchTheReference() throws {
        let lines = try String(contentsOf: Self.folder.appendingPathComponent("expected.jsonl"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        #expect(lines.count >= 80)
        var tokenizers: [String: Tokenizer] = [:]
        var failures: [String] = []
        for line in lines {
            let root = JSONNode(value: try JSONTree.parse(Array(line.utf8)), file: "expected.jsonl", path: "")
            let name = try root.string("tokenizer")
            let tokenizer = try tokenizers[name] ?? Tokenizer(directory: Self.folder.appendingPathComponent(name))
            tokenizers[name] = tokenizer
            let text = try root.string("text")
            let ids = try root.required("ids").array().map { try $0.int() }
            let plain = try root.required("ids_plain").array().map { try $0.int() }
            let gotIDs = tokenizer.encode(text), gotPlain = tokenizer.encode(text, addSpecialTokens: false)
            if gotIDs != ids || gotPlain != plain {
                failures.append("\(name) \(String(reflecting: text)): got \(gotIDs) / \(gotPlain), want \(ids) / \(plain)")
            }
            let decoded = try tokenizer.decode(plain)
            if decoded != (try root.string("decoded")) {
                failures.append("\(name) decode \(String(reflecting: text)): got \(String(reflecting: decoded)), want \(String(reflecting: try root.string("decoded")))")
            }
        }
        #expect(failures.isEmpty, Comment(rawValue: failures.prefix(10).joined(separator: "\n")))
    }
}
