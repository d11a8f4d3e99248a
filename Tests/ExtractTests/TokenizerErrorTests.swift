import Foundation
import Testing
import TestSupport
@testable import Extract

/// Bad tokenizer folders give errors that name the file and the JSON key path, never a crash.
@Suite struct TokenizerErrorTests {
    /// A minimal valid tokenizer.json, as a JSON object to modify.
    static func minimal() -> [String: Any] {
        [
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "model": ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2, "Ġ": 3], "merges": ["a b"]],
            "added_tokens": [["id": 4, "content": "<s>", "special": true, "normalized": false]],
        ]
    }

    /// Writes `tokenizer` (and optionally `tokenizer_config.json`) to a fresh folder and loads it.
    static func load(_ tokenizer: [String: Any]?, config: [String: Any]? = nil) throws -> Tokenizer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        if let tokenizer {
            try JSONSerialization.data(withJSONObject: tokenizer).write(to: folder.appendingPathComponent("tokenizer.json"))
        }
        if let config {
            try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        }
        return try Tokenizer(directory: folder)
    }

    /// Loading fails with a message containing every one of `fragments`.
    static func expectFailure(_ tokenizer: [String: Any]?, config: [String: Any]? = nil, _ fragments: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try load(tokenizer, config: config)
            Issue.record("loaded, expected an error containing \(fragments)", sourceLocation: sourceLocation)
        } catch {
            let message = "\(error)"
            for fragment in fragments {
                #expect(message.contains(fragment), "\(message)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func minimalTokenizerLoads() throws {
        let tokenizer = try Self.load(Self.minimal())
        #expect(tokenizer.vocabularySize == 5)
        #expect(tokenizer.encode("ab<s>") == [2, 4])
        #expect(try tokenizer.decode([2, 4]) == "ab<s>")
    }

    @Test func unknownNormalizerNamesTheKeyPath() {
        var json = Self.minimal()
        json["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "NFD"], ["type": "Foo"]]]
        Self.expectFailure(json, ["tokenizer.json", "normalizer.normalizers[2].type", "unknown type \"Foo\"", "NFC"])
    }

    @Test func unknownPreTokenizerNamesTheKeyPath() {
        var json = Self.minimal()
        json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Whitespace"]]]
        Self.expectFailure(json, ["pre_tokenizer.pretokenizers[0].type", "\"Whitespace\""])
    }

    @Test func unknownSplitBehaviorNamesTheKeyPath() {
        var json = Self.minimal()
        json["pre_tokenizer"] = ["type": "Split", "pattern": ["String": " "], "behavior": "Sideways", "invert": false]
        Self.expectFailure(json, ["pre_tokenizer.behavior", "\"Sideways\"", "MergedWithNext"])
    }

    @Test func invalidRegexNamesTheKeyPath() {
        var json = Self.minimal()
        json["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated"]
        Self.expectFailure(json, ["pre_tokenizer.pattern.Regex", "(unclosed"])
    }

    @Test func unknownPostProcessorAndDecoderNameTheKeyPath() {
        var json = Self.minimal()
        json["post_processor"] = ["type": "Nonsense"]
        Self.expectFailure(json, ["post_processor.type", "\"Nonsense\""])
        json = Self.minimal()
        json["decoder"] = ["type": "Sequence", "decoders": [["type": "CTC"]]]
        Self.expectFailure(json, ["decoder.decoders[0].type", "\"CTC\""])
    }

    @Test func missingOrBadMergesAreNamed() {
        var json = Self.minimal()
        json["model"] = ["type": "BPE", "vocab": ["a": 0]]
        Self.expectFailure(json, ["model.merges", "missing"])
        json["model"] = ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b", "a c"]]
        Self.expectFailure(json, ["model.merges[1]", "\"c\""])
        json["model"] = ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": ["a b"]]
        Self.expectFailure(json, ["model.merges[0]", "\"ab\""])
        json["model"] = ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b c"]]
        Self.expectFailure(json, ["model.merges[0]"])
    }

    @Test func unsupportedModelTypeIsNamed() {
        var json = Self.minimal()
        json["model"] = ["type": "WordPiece", "vocab": ["a": 0]]
        Self.expectFailure(json, ["model.type", "\"WordPiece\"", "BPE"])
    }

    @Test func missingAndInvalidFiles() throws {
        Self.expectFailure(nil, ["tokenizer.json", "not found"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{\"model\": [1, 2,".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        #expect(throws: TokenizerError.self) { try Tokenizer(directory: folder) }
        do { _ = try Tokenizer(directory: folder) } catch { #expect("\(error)".contains("tokenizer.json: not a valid JSON object")) }
    }

    @Test func llamaConfigWithoutBOSIsAnError() {
        Self.expectFailure(Self.minimal(), config: ["tokenizer_class": "LlamaTokenizerFast", "add_bos_token": true],
                           ["tokenizer_config.json", "bos_token"])
        Self.expectFailure(Self.minimal(), config: ["bos_token": "<nope>"], ["tokenizer_config.json", "bos_token", "<nope>"])
    }

    @Test func llamaConfigAddsBOSAndEOS() throws {
        let tokenizer = try Self.load(Self.minimal(), config: ["tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>",
                                                               "eos_token": ["content": "b"], "add_eos_token": true])
        #expect(tokenizer.bosTokenID == 4)
        #expect(tokenizer.eosTokenID == 1)
        #expect(tokenizer.encode("a") == [4, 0, 1])
        #expect(tokenizer.encode("a", addSpecialTokens: false) == [0])
    }

    @Test func decodeRejectsUnknownIDs() throws {
        let tokenizer = try Self.load(Self.minimal())
        #expect(throws: TokenizerError.unknownTokenID(99)) { try tokenizer.decode([0, 99]) }
        #expect(throws: TokenizerError.unknownTokenID(-1)) { try tokenizer.decode([-1]) }
    }
}
