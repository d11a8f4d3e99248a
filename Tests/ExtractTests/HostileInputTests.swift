import Foundation
import Testing
import TestSupport
@testable import Extract

/// Hostile checkpoint, config, tokenizer and text inputs (issue 7): each gets a typed error naming what is wrong,
/// or a documented result, with memory bounded by the input (nothing is allocated from a claimed size).
@Suite struct HostileInputTests {
    private static func safetensors(header: String, data: Int = 16, length: UInt64? = nil) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-hostile-\(UUID().uuidString).safetensors")
        var bytes = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data(header.utf8))
        bytes.append(Data(repeating: 0, count: data))
        try bytes.write(to: url)
        return url
    }

    /// Opening fails with a CheckpointError whose message contains `fragment`.
    private static func expectRefusal(_ header: String, data: Int = 16, length: UInt64? = nil, _ fragment: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = try safetensors(header: header, data: data, length: length)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try SafetensorsFile(url: url)
            Issue.record("opened, expected a refusal containing \(fragment)", sourceLocation: sourceLocation)
        } catch let error as CheckpointError {
            #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            #expect("\(error)".contains(url.lastPathComponent), "names the file: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func headerLengthNearUInt64MaxIsRefusedWithoutAllocating() throws {
        try Self.expectRefusal("{}", length: .max, "exceeds")
        try Self.expectRefusal("{}", length: UInt64(Int.max) + 1, "exceeds")
        try Self.expectRefusal("{}", length: 50_000_000, "past the end")
    }

    @Test func shapesClaimingHugeSizesAreRefused() throws {
        // 2^62 x 4 elements overflows Int; 2^40 x 2^40 too; a large but representable shape mismatches the bytes.
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}}"#, "overflows")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 16]}}"#, "overflows")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [1000000000, 1000], "data_offsets": [0, 16]}}"#, "needs")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [1e300], "data_offsets": [0, 16]}}"#, "non-negative integers")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [-1, -4], "data_offsets": [0, 16]}}"#, "non-negative integers")
    }

    @Test func offsetsOutsideTheFileOrNegativeAreRefused() throws {
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [-16, 0]}}"#, "outside")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}"#, "outside")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [9223372036854775807, 9223372036854775807]}}"#, "data_offsets")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1e19]}}"#, "pair of integers")
        try Self.expectRefusal(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0.5, 16.5]}}"#, "pair of integers")
    }

    @Test func overlappingAndNestedRangesAreRefused() throws {
        // Partial overlap, one range inside another, and two tensors on the very same bytes.
        try Self.expectRefusal(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#, "overlap")
        try Self.expectRefusal(#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, "overlap")
        try Self.expectRefusal(#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, "overlap")
    }

    @Test func emptyTensorsAndAdjacentRangesAreAccepted() throws {
        // Documented result: zero-element tensors may sit anywhere in the data area; touching ranges are fine.
        let url = try Self.safetensors(header: #"{"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "c": {"dtype": "F16", "shape": [4], "data_offsets": [8, 16]}}"#)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try SafetensorsFile(url: url)
        #expect(file.names == ["a", "b", "c"])
        #expect(try file.floats("a").isEmpty)
    }

    @Test func deeplyNestedHeaderIsAnErrorNotAStackOverflow() throws {
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        try Self.expectRefusal(#"{"w": "# + nested + "}", "not valid JSON")
    }

    // MARK: config.json

    /// Regression (found by this suite): num_hidden_layers = 1e9 made the architectures allocate a 48 GB layer
    /// list before validation; it is now refused while decoding, naming the key.

    @Test(arguments: [("num_experts", 0), ("num_experts_per_tok", 0), ("intermediate_size", -1), ("max_position_embeddings", 0),
                      ("hidden_size", Int(Int32.max)), ("num_hidden_layers", 1_000_000_000), ("num_attention_heads", 0),
                      ("rms_norm_eps", -1), ("intermediate_size", Int.max)])
    func absurdConfigSizesAreRefusedNamingTheKey(_ key: String, _ value: Int) throws {
        let url = FixtureModels.url("olmoe-tiny").appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        config[key] = value
        do {
            let spec = try Architectures.spec(config: JSONSerialization.data(withJSONObject: config), file: "config.json").spec
            Issue.record("accepted \(key)=\(value): \(spec)")
        } catch {
            #expect("\(error)".contains(key), "\(error)")
        }
    }

    // MARK: texts

    private static let textModel = "allenai--OLMoE-1B-7B-0924"

    /// NUL and other control characters are ordinary bytes to a byte-level tokenizer: they encode, and decode back.
    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func nulAndControlCharactersRoundTrip() throws {
        let tokenizer = try SharedTokenizers.load(Self.textModel)
        for text in ["\u{0}", "a\u{0}b", String(repeating: "\u{0}", count: 1000), "\u{1}\u{7f}\u{feff}\u{200b}", "\r\n\t\u{b}\u{c}"] {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            #expect(!ids.isEmpty)
            #expect(try tokenizer.decode(ids) == text)
        }
    }

    /// Escaped lone surrogates are not Unicode text: the JSON-lines reader of `tokenize` refuses them naming the
    /// line; U+FFFD (what a lenient reader would make of them) encodes like any other character.
    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func escapedLoneSurrogatesAreRefusedByTheLineReader() throws {
        for line in [#""\ud800""#, #""a\udfffb""#, #""\ud800\u0041""#, #""\udc00\ud800""#] {
            do {
                let text = try JSONLinesIO.text(ofJSONLine: ArraySlice(line.utf8), number: 7)
                Issue.record("accepted \(line) as \(Array(text.unicodeScalars))")
            } catch {
                #expect("\(error)".contains("7") && "\(error)".contains("surrogate"), "\(error)")
            }
        }
        // A valid pair is one character.
        #expect(try JSONLinesIO.text(ofJSONLine: ArraySlice(#""\ud83d\ude42""#.utf8), number: 1) == "🙂")
        let tokenizer = try SharedTokenizers.load(Self.textModel)
        #expect(try tokenizer.decode(tokenizer.encode("\u{fffd}", addSpecialTokens: false)) == "\u{fffd}")
    }

    /// 100k one-character texts in one batch: every one encodes, as it does alone.
    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func hundredThousandOneCharacterTexts() throws {
        let tokenizer = try SharedTokenizers.load(Self.textModel)
        let alphabet = Array("abcXYZ09 .!é日\u{0}🙂")
        let texts = (0..<100_000).map { String(alphabet[$0 % alphabet.count]) }
        let batch = tokenizer.encode(batch: texts, addSpecialTokens: false)
        #expect(batch.count == texts.count)
        for (index, character) in alphabet.enumerated() {
            #expect(batch[index] == tokenizer.encode(String(character), addSpecialTokens: false))
        }
        #expect(batch.allSatisfy { !$0.isEmpty })
    }
}
