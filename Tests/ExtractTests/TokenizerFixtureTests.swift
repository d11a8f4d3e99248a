import Foundation
import Testing
import TestSupport
@testable import Extract

/// Every line of `../shared/fixtures/tokenizers/*.jsonl` (ids computed by Hugging Face `tokenizers`, see that
/// folder's README) must come out identical, with and without special tokens.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct TokenizerFixtureTests {
    struct FixtureLine: Decodable {
        let text: String
        let ids: [Int]
        let ids_plain: [Int]
    }

    static let models = [
        "allenai--OLMoE-1B-7B-0924",
        "Qwen--Qwen1.5-MoE-A2.7B",
        "deepseek-ai--deepseek-moe-16b-base",
        "mistralai--Mixtral-8x7B-v0.1",
    ]

    @Test(arguments: models)
    func everyFixtureLineMatches(model: String) throws {
        let tokenizer = try SharedTokenizers.load(model)
        let fixture = SharedData.url("fixtures/tokenizers/\(model).jsonl")
        let lines = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 400)
        var mismatches: [String] = []
        for (index, line) in lines.enumerated() {
            let expected = try JSONDecoder().decode(FixtureLine.self, from: Data(line.utf8))
            let ids = tokenizer.encode(expected.text)
            let plain = tokenizer.encode(expected.text, addSpecialTokens: false)
            if ids != expected.ids || plain != expected.ids_plain {
                mismatches.append("line \(index + 1) \(String(reflecting: expected.text).prefix(80)): "
                                  + "got \(plain.prefix(24)) want \(expected.ids_plain.prefix(24))")
            }
        }
        print("tokenizer fixture \(model): \(lines.count - mismatches.count)/\(lines.count) lines match (ids and ids_plain)")
        #expect(mismatches.isEmpty, Comment(rawValue: mismatches.prefix(8).joined(separator: "\n")))
    }
}

/// Each real tokenizer is loaded once per test process (Qwen's vocabulary alone is 151k entries).
enum SharedTokenizers {
    private static let cache = TokenizerCache()

    static func load(_ model: String) throws -> Tokenizer {
        try cache.get(model) { try Tokenizer(directory: SharedData.url("models/\(model)")) }
    }
}

private final class TokenizerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var loaded: [String: Tokenizer] = [:]

    func get(_ key: String, make: () throws -> Tokenizer) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let hit = loaded[key] { return hit }
        let made = try make()
        loaded[key] = made
        return made
    }
}

/// A Qwen2-family folder with only `vocab.json` + `merges.txt` loads like its tokenizer.json: the Qwen1.5 folder's
/// pair, with the three added tokens declared in a `tokenizer_config.json` as Qwen's own declares them, gives every
/// Qwen fixture line; the Qwen3 folder (no tokenizer.json at all) loads and agrees on plain text.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct VocabMergesTests {
    @Test func qwenVocabAndMergesMatchTheFixture() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-qwen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name),
                                                       withDestinationURL: SharedData.url("models/Qwen--Qwen1.5-MoE-A2.7B/\(name)"))
        }
        let entry = { (content: String) in
            "{\"content\": \"\(content)\", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}"
        }
        let config = "{\"tokenizer_class\": \"Qwen2Tokenizer\", \"added_tokens_decoder\": {\"151643\": \(entry("<|endoftext|>")), "
            + "\"151644\": \(entry("<|im_start|>")), \"151645\": \(entry("<|im_end|>"))}}"
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try Tokenizer(directory: folder)
        let reference = try SharedTokenizers.load("Qwen--Qwen1.5-MoE-A2.7B")
        #expect(tokenizer.vocabularySize == reference.vocabularySize)

        let lines = try String(contentsOf: SharedData.url("fixtures/tokenizers/Qwen--Qwen1.5-MoE-A2.7B.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        var mismatches = 0
        for line in lines {
            let expected = try JSONDecoder().decode(TokenizerFixtureTests.FixtureLine.self, from: Data(line.utf8))
            if tokenizer.encode(expected.text) != expected.ids { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func qwen3FolderLoadsFromVocabAndMerges() throws {
        let qwen3 = try Tokenizer(directory: SharedData.url("models/Qwen--Qwen3-30B-A3B"))
        let qwen15 = try SharedTokenizers.load("Qwen--Qwen1.5-MoE-A2.7B")
        let text = "Plain text: 12345 words, it's the same BPE.\n<|endoftext|>"
        #expect(qwen3.encode(text) == qwen15.encode(text))
    }
}

/// llama.cpp's tokenizer test vectors (ids from the Hugging Face tokenizer, no special tokens) for the two
/// vocabularies we ship: `qwen2` (= Qwen1.5) and `deepseek-llm` (= DeepSeekMoE), both llama.cpp snapshots.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct LlamaCppVectorTests {
    @Test(arguments: [("c392e50", "qwen2", "Qwen--Qwen1.5-MoE-A2.7B"), ("0c1e570", "qwen2", "Qwen--Qwen1.5-MoE-A2.7B"),
                      ("c392e50", "deepseek-llm", "deepseek-ai--deepseek-moe-16b-base"),
                      ("0c1e570", "deepseek-llm", "deepseek-ai--deepseek-moe-16b-base")])
    func vectorsMatch(snapshot: String, vocabulary: String, model: String) throws {
        let base = SharedData.url("fixtures/tokenizers/llama.cpp/\(snapshot)/ggml-vocab-\(vocabulary).gguf")
        let input = try String(contentsOf: URL(fileURLWithPath: base.path + ".inp"), encoding: .utf8)
        let output = try String(contentsOf: URL(fileURLWithPath: base.path + ".out"), encoding: .utf8)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        texts.removeLast()
        var expected = output.components(separatedBy: "\n")
        expected.removeLast()
        try #require(texts.count == expected.count && texts.count >= 40)
        let tokenizer = try SharedTokenizers.load(model)
        for (text, line) in zip(texts, expected) {
            let ids = line.split(separator: " ").compactMap { Int($0) }
            #expect(tokenizer.encode(text, addSpecialTokens: false) == ids, "\(String(reflecting: text))")
        }
    }
}
