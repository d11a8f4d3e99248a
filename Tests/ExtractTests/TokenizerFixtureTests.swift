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
