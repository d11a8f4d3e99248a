import Foundation

/// Finds the non-overlapping matches of a pattern in a piece of text, as ranges of Unicode-scalar indices.
///
/// Implementations are compiled once when the tokenizer loads and are safe to share between threads.
protocol ScalarPattern: Sendable {
    func matches(in text: [Unicode.Scalar]) -> [Range<Int>]
}

/// Character classes as the `tokenizers` regex engine (Oniguruma) sees them.
enum CharacterClass {
    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    @inline(__always) static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return (scalar.value | 0x20) &- 0x61 < 26 }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`: Nd, Nl, No (also Rust's `char::is_numeric`, which the Digits pre-tokenizer uses).
    @inline(__always) static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value &- 0x30 < 10 }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s`: the Unicode White_Space property (tab to CR, space, NEL, Zs, Zl, Zp).
    @inline(__always) static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value == 0x20 || (scalar.value &- 0x09) < 5 }
        return scalar.properties.isWhitespace
    }

    @inline(__always) static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\r" || scalar == "\n"
    }
}

/// Builds the matcher for a `{"Regex": ...}` or `{"String": ...}` pattern.
///
/// The two regexes that byte-level tokenizers use in practice (GPT-2's, used by ByteLevel with `use_regex`, and
/// Qwen2's Split regex) get hand-written scanners: they are the hot loop of encoding, and a scanner has no
/// UTF-16 conversion or regex-engine overhead. Sequences of character classes (DeepSeek's Split regexes) get
/// `SequencePattern`. Any other regex goes to `NSRegularExpression` (ICU), compiled once.
func makePattern(_ node: JSONNode) throws -> any ScalarPattern {
    if let literal = try node.optionalString("String") {
        return LiteralPattern(literal: Array(literal.unicodeScalars))
    }
    guard let regexNode = try node.optional("Regex") else { throw node.invalid("an object with \"String\" or \"Regex\"") }
    let regex = try regexNode.string()
    switch regex {
    case GPT2Pattern.source: return GPT2Pattern()
    case Qwen2Pattern.source: return Qwen2Pattern()
    default:
        if let sequence = SequencePattern.compile(regex) { return sequence }
        do { return try ICUPattern(regex) } catch {
            throw TokenizerError.invalidPattern(file: node.file, keyPath: regexNode.path, pattern: regex,
                                                reason: "\(error.localizedDescription)")
        }
    }
}

/// An exact string, matched left to right without overlaps.
struct LiteralPattern: ScalarPattern {
    let literal: [Unicode.Scalar]

    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        guard !literal.isEmpty, text.count >= literal.count, let first = literal.first else { return [] }
        var found: [Range<Int>] = []
        var index = 0
        let last = text.count - literal.count
        while index <= last {
            if text[index] == first && text[index..<(index + literal.count)].elementsEqual(literal) {
                found.append(index..<(index + literal.count))
                index += literal.count
            } else {
                index += 1
            }
        }
        return found
    }
}

/// Any other regex, through ICU. Offsets come back in UTF-16 units and are mapped to scalar indices.
final class ICUPattern: ScalarPattern, @unchecked Sendable {
    // NSRegularExpression is documented as safe to use from several threads once created.
    private let expression: NSRegularExpression

    init(_ regex: String) throws {
        expression = try NSRegularExpression(pattern: regex, options: [])
    }

    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        guard !text.isEmpty else { return [] }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text)
        let string = String(scalars)
        let length = string.utf16.count
        // utf16ToScalar[u] = index of the scalar that starts at UTF-16 offset u.
        var utf16ToScalar = [Int](repeating: 0, count: length + 1)
        var offset = 0
        for (index, scalar) in text.enumerated() {
            utf16ToScalar[offset] = index
            offset += scalar.value > 0xFFFF ? 2 : 1
        }
        utf16ToScalar[offset] = text.count
        return expression.matches(in: string, range: NSRange(location: 0, length: length))
            .map { utf16ToScalar[$0.range.location]..<utf16ToScalar[$0.range.location + $0.range.length] }
    }
}

/// A hand-written scanner for a regex that matches at every position (each scalar starts some alternative), so
/// the text is covered by consecutive matches.
protocol ScannerPattern: ScalarPattern {
    /// The end of the non-empty match that starts at `start`.
    func matchEnd(_ text: [Unicode.Scalar], at start: Int, count: Int) -> Int
}

extension ScannerPattern {
    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        found.reserveCapacity(text.count / 4 + 1)
        var start = 0
        let count = text.count
        while start < count {
            let end = matchEnd(text, at: start, count: count)
            found.append(start..<end)
            start = end
        }
        return found
    }
}

/// GPT-2's pre-tokenization regex (also GPT-NeoX and OLMoE, via ByteLevel `use_regex`):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, as a scanner.
struct GPT2Pattern: ScannerPattern {
    static let source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The end of the (never empty) match that starts at `i`: every position starts one of the alternatives.
    @inline(__always) func matchEnd(_ text: [Unicode.Scalar], at i: Int, count: Int) -> Int {
        let first = text[i]
        if first == "'", i + 1 < count {
            let next = text[i + 1]
            if next == "s" || next == "t" || next == "m" || next == "d" { return i + 2 }
            if i + 2 < count {
                let third = text[i + 2]
                if (next == "r" && third == "e") || (next == "v" && third == "e") || (next == "l" && third == "l") {
                    return i + 3
                }
            }
        }
        // ` ?X+` for X in letters, numbers, other: the optional space only counts when X follows it.
        let body = (first == " " && i + 1 < count) ? i + 1 : i
        let lead = text[body]
        if body == i + 1 || first != " " {
            if CharacterClass.isLetter(lead) { return run(text, from: body + 1, count: count, CharacterClass.isLetter) }
            if CharacterClass.isNumber(lead) { return run(text, from: body + 1, count: count, CharacterClass.isNumber) }
            if !CharacterClass.isSpace(lead) {
                return run(text, from: body + 1, count: count) {
                    !CharacterClass.isSpace($0) && !CharacterClass.isLetter($0) && !CharacterClass.isNumber($0)
                }
            }
        }
        return whitespaceEnd(text, at: i, count: count)
    }
}

/// Qwen2's Split regex (Qwen1.5, Qwen2, Qwen2.5, Qwen3):
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
struct Qwen2Pattern: ScannerPattern {
    static let source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Case-insensitive contraction letters; U+017F (long s) and U+212A (Kelvin) case-fold to `s` and `k`.
    @inline(__always) private func folded(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value < 0x80 { return (scalar.value &- 0x41) < 26 ? Unicode.Scalar(UInt8(scalar.value + 0x20)) : scalar }
        return scalar == "\u{17F}" ? "s" : scalar
    }

    @inline(__always) func matchEnd(_ text: [Unicode.Scalar], at i: Int, count: Int) -> Int {
        let first = text[i]
        if first == "'", i + 1 < count {
            let next = folded(text[i + 1])
            if next == "s" || next == "t" || next == "m" || next == "d" { return i + 2 }
            if i + 2 < count {
                let third = folded(text[i + 2])
                if (next == "r" && third == "e") || (next == "v" && third == "e") || (next == "l" && third == "l") {
                    return i + 3
                }
            }
        }
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if CharacterClass.isLetter(first) { return run(text, from: i + 1, count: count, CharacterClass.isLetter) }
        let isNumber = CharacterClass.isNumber(first)
        if !isNumber && !CharacterClass.isLineBreak(first) && i + 1 < count && CharacterClass.isLetter(text[i + 1]) {
            return run(text, from: i + 2, count: count, CharacterClass.isLetter)
        }
        // `\p{N}`
        if isNumber { return i + 1 }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let body = (first == " " && i + 1 < count) ? i + 1 : i
        let lead = text[body]
        if (body == i + 1 || first != " ") && !CharacterClass.isSpace(lead) && !CharacterClass.isLetter(lead)
            && !CharacterClass.isNumber(lead) {
            let end = run(text, from: body + 1, count: count) {
                !CharacterClass.isSpace($0) && !CharacterClass.isLetter($0) && !CharacterClass.isNumber($0)
            }
            return run(text, from: end, count: count, CharacterClass.isLineBreak)
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last line break.
        if CharacterClass.isSpace(first) {
            let runEnd = run(text, from: i + 1, count: count, CharacterClass.isSpace)
            var lastBreak = -1
            for index in i..<runEnd where CharacterClass.isLineBreak(text[index]) { lastBreak = index }
            if lastBreak >= 0 { return lastBreak + 1 }
        }
        return whitespaceEnd(text, at: i, count: count)
    }
}

/// `\s+(?!\S)|\s+` at `i`, or a single scalar when `i` is not whitespace (the regex would skip it; the scanners
/// never reach here with such a scalar for the two patterns above, but a one-scalar step keeps the loop total).
@inline(__always) private func whitespaceEnd(_ text: [Unicode.Scalar], at i: Int, count: Int) -> Int {
    guard CharacterClass.isSpace(text[i]) else { return i + 1 }
    let end = run(text, from: i + 1, count: count, CharacterClass.isSpace)
    // Followed by a non-space: leave the last space for the next token (` word`), unless the run is one long.
    if end < count && end - i > 1 { return end - 1 }
    return end
}

@inline(__always) private func run(_ text: [Unicode.Scalar], from start: Int, count: Int,
                                   _ predicate: (Unicode.Scalar) -> Bool) -> Int {
    var index = start
    while index < count && predicate(text[index]) { index += 1 }
    return index
}
