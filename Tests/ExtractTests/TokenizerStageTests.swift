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
            let root = JSONNode(value: try JSONTree.parse(Array(line.utf8)), file: "pre_tokenizer_cases.jsonl",
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
        let value = try JSONTree.parse(Array("{\"\u{FEFF}\": 1, \"e\u{301}\": 2, \"\u{E9}\": 3, \"s\": \"a\\u0000\\ud83d\\ude00\"}".utf8))
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map { Array($0.key.unicodeScalars) } == [["\u{FEFF}"], ["e", "\u{301}"], ["\u{E9}"], ["s"]])
        guard case .string(let text) = members[3].value else { Issue.record("not a string"); return }
        #expect(Array(text.unicodeScalars) == ["a", "\u{0}", "\u{1F600}"])
    }

    @Test(arguments: ["\"\\ud800\"", "\"\\udc00x\"", "\"abc", "[1,]", "\"\\q\"", "nul", "\"a\"b", "\"\u{1}\""])
    func jsonParserRejects(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONTree.parse(Array(text.utf8)) }
    }
}

/// `SequencePattern` (the direct matcher for sequences of character classes) against ICU on the same regexes.
@Suite struct SequencePatternTests {
    static let regexes = [
        "[\r\n]", #"\s?[A-Za-zµÀ-ÖØ-öø-ƺ\x{0}-\x{0}]+"#.replacingOccurrences(of: #"\x{0}-\x{0}"#, with: "Ͱ-ͳ"),
        #"\s?[!-/:-~！-／：-～‘-‟　-。]+"#, #"[一-龥ࠀ-一가-퟿]+"#, #"\p{N}+"#, #"[^\s\p{L}]+\s*"#, #"a\.b*"#, #"[-x]+"#,
    ]

    @Test(arguments: regexes)
    func agreesWithICU(_ regex: String) throws {
        let sequence = try #require(SequencePattern.compile(regex))
        let icu = try ICUPattern(regex)
        var generator = SplitMix(seed: 42)
        let alphabet: [Unicode.Scalar] = ["a", "b", "Z", ".", "-", "x", " ", "\t", "\r", "\n", "1", "٣", "é", "Ω", "你",
                                          "が", "한", "‘", "　", "！", "\u{85}", "\u{A0}", "😀", "\u{301}", "ĸ", "ǅ", "!"]
        for _ in 0..<300 {
            let text = (0..<Int(generator.next() % 24)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            #expect(sequence.matches(in: text) == icu.matches(in: text), "\(String(String.UnicodeScalarView(text)).debugDescription)")
        }
    }

    @Test func richerRegexesAreLeftToICU() {
        for regex in ["a|b", "(ab)+", #"\s+(?!\S)"#, "a+?", "a{2}", "(?i:a)", "[[:alpha:]]"] {
            #expect(SequencePattern.compile(regex) == nil, "\(regex)")
        }
    }

    @Test func lineEndAnchorFollowsOniguruma() throws {
        let pattern = try #require(SequencePattern.compile(#"\s+$"#))
        #expect(pattern.matches(in: Array("a  ".unicodeScalars)) == [1..<3])
        #expect(pattern.matches(in: Array("a  \nb".unicodeScalars)) == [1..<3])  // `$` also before a newline
        #expect(pattern.matches(in: Array("a  b".unicodeScalars)) == [])
    }
}

/// A small deterministic random generator for property tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct RealPatternTests {
    /// DeepSeek's five Split regexes take the direct matcher (ICU would be ~10x slower), and every regex of the
    /// real tokenizers has a matcher other than ICU.
    @Test func realSplitRegexesAvoidICU() throws {
        for model in TokenizerFixtureTests.models {
            let root = try JSONNode.load(SharedData.url("models/\(model)/tokenizer.json"))
            guard let preTokenizer = try root.optional("pre_tokenizer") else { continue }
            let stages = try preTokenizer.optional("pretokenizers")?.array() ?? [preTokenizer]
            for stage in stages where try stage.string("type") == "Split" {
                let pattern = try makePattern(try stage.required("pattern"))
                #expect(!(pattern is ICUPattern), "\(model) \(stage.path)")
            }
        }
    }
}

/// The line format of `pipeline tokenize`: one JSON string per line.
@Suite struct JSONLinesIOTests {
    @Test func linesHoldJSONStrings() throws {
        #expect(try JSONLinesIO.text(ofJSONLine: Array("\"a\\tb\"\r".utf8)[...], number: 1) == "a\tb")
        // A raw U+FEFF at the start of the text is kept (Foundation's decoders drop it).
        let bom = try JSONLinesIO.text(ofJSONLine: Array("\"\u{FEFF}x\"".utf8)[...], number: 1)
        #expect(Array(bom.unicodeScalars) == ["\u{FEFF}", "x"])
        #expect(JSONLinesIO.jsonArray([1, 22, 333]) == "[1,22,333]")
        #expect(JSONLinesIO.jsonArray([]) == "[]")
    }

    @Test func badLinesNameTheLine() {
        let cases: [([UInt8], String)] = [
            ([0x22, 0xFF, 0x22], "invalid UTF-8"), (Array("  ".utf8), "empty line"), (Array("[\"a\"]".utf8), "an array"),
            (Array("\"a\\ud800\"".utf8), "lone surrogate"), (Array("\"a".utf8), "unterminated"),
        ]
        for (bytes, fragment) in cases {
            do {
                _ = try JSONLinesIO.text(ofJSONLine: bytes[...], number: 7)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.line == 7)
                #expect(error.description.contains(fragment), "\(error)")
            }
        }
    }
}

/// The hand-written GPT-2 and Qwen2 scanners against ICU running the same regexes, on random mixed text.
@Suite struct ScannerPatternTests {
    static let alphabet: [Unicode.Scalar] = ["a", "Z", "s", "S", "t", "r", "e", "v", "l", "d", "m", "'", " ", " ", "\t",
                                             "\r", "\n", "\u{B}", "\u{85}", "\u{A0}", "\u{3000}", "1", "٣", "½", "Ⅻ", ".",
                                             "!", "-", "é", "\u{301}", "你", "😀", "\u{17F}", "_", "\u{0}", "\u{200B}"]

    static func check(_ scanner: some ScalarPattern, _ regex: String) throws {
        let icu = try ICUPattern(regex)
        var generator = SplitMix(seed: 7)
        for _ in 0..<2000 {
            let text = (0..<Int(generator.next() % 16)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            #expect(scanner.matches(in: text) == icu.matches(in: text), "\(String(String.UnicodeScalarView(text)).debugDescription)")
        }
    }

    @Test func gpt2ScannerAgreesWithICU() throws { try Self.check(GPT2Pattern(), GPT2Pattern.source) }
    @Test func qwen2ScannerAgreesWithICU() throws { try Self.check(Qwen2Pattern(), Qwen2Pattern.source) }
}
