import Foundation

/// The second stage: splits a normalized segment into the pieces ("words") that the model encodes one by one.
protocol PreTokenizer: Sendable {
    /// Splits every piece of `pieces`. `firstSegment` says whether these pieces came from the start of the text
    /// (Metaspace's `prepend_scheme: "first"` needs it).
    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]]
}

func makePreTokenizer(_ node: JSONNode) throws -> any PreTokenizer {
    let type = try node.string("type")
    switch type {
    case "ByteLevel":
        return ByteLevelPreTokenizer(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                                     useRegex: try node.bool("use_regex", default: true))
    case "Split":
        let behaviorNode = try node.required("behavior")
        let behaviorName = try behaviorNode.string()
        guard let behavior = SplitBehavior(rawValue: behaviorName) else {
            throw TokenizerError.unknownType(file: node.file, keyPath: behaviorNode.path, type: behaviorName,
                                             known: SplitBehavior.allCases.map(\.rawValue))
        }
        return SplitPreTokenizer(pattern: try makePattern(try node.required("pattern")), behavior: behavior,
                                 invert: try node.bool("invert", default: false))
    case "Digits":
        return DigitsPreTokenizer(individual: try node.bool("individual_digits", default: false))
    case "Metaspace":
        let replacement = try node.optionalString("replacement") ?? "▁"
        guard replacement.unicodeScalars.count == 1, let scalar = replacement.unicodeScalars.first else {
            throw try node.required("replacement").invalid("a single character")
        }
        let scheme: MetaspacePreTokenizer.PrependScheme
        if let schemeNode = try node.optional("prepend_scheme") {
            let name = try schemeNode.string()
            guard let parsed = MetaspacePreTokenizer.PrependScheme(rawValue: name) else {
                throw TokenizerError.unknownType(file: node.file, keyPath: schemeNode.path, type: name,
                                                 known: ["always", "first", "never"])
            }
            scheme = parsed
        } else {
            // Files written before `prepend_scheme` existed say `add_prefix_space`.
            scheme = try node.bool("add_prefix_space", default: true) ? .always : .never
        }
        return MetaspacePreTokenizer(replacement: scalar, prependScheme: scheme,
                                     split: try node.bool("split", default: true))
    case "Sequence":
        return SequencePreTokenizer(stages: try node.required("pretokenizers").array().map(makePreTokenizer))
    default:
        throw TokenizerError.unknownType(file: node.file, keyPath: node.path + ".type", type: type,
                                         known: ["ByteLevel", "Split", "Digits", "Metaspace", "Sequence"])
    }
}

/// How a Split pre-tokenizer treats the text its pattern matches (the `behavior` key).
enum SplitBehavior: String, CaseIterable, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Cuts `piece` at `matches` (sorted, non-overlapping) and appends the non-empty parts to `output`.
    func split(_ piece: [Unicode.Scalar], matches: [Range<Int>], invert: Bool, into output: inout [[Unicode.Scalar]]) {
        // The whole piece as alternating (range, isMatch) parts, as `tokenizers` builds it.
        var parts: [(range: Range<Int>, isMatch: Bool)] = []
        parts.reserveCapacity(matches.count * 2 + 1)
        var previous = 0
        for range in matches {
            if previous != range.lowerBound { parts.append((previous..<range.lowerBound, invert)) }
            parts.append((range, !invert))
            previous = range.upperBound
        }
        if previous != piece.count { parts.append((previous..<piece.count, invert)) }

        var merged: [Range<Int>] = []
        merged.reserveCapacity(parts.count)
        switch self {
        case .isolated:
            merged = parts.map(\.range)
        case .removed:
            merged = parts.filter { !$0.isMatch }.map(\.range)
        case .mergedWithPrevious:
            var previousMatch = false
            for part in parts {
                if part.isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    merged.append(part.range)
                }
                previousMatch = part.isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for part in parts.reversed() {
                if part.isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = part.range.lowerBound..<last.upperBound
                } else {
                    merged.append(part.range)
                }
                previousMatch = part.isMatch
            }
            merged.reverse()
        case .contiguous:
            var previousMatch = false
            for part in parts {
                if part.isMatch == previousMatch, let last = merged.last {
                    merged[merged.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    merged.append(part.range)
                }
                previousMatch = part.isMatch
            }
        }
        for range in merged where !range.isEmpty { output.append(Array(piece[range])) }
    }
}

struct SplitPreTokenizer: PreTokenizer {
    let pattern: any ScalarPattern
    let behavior: SplitBehavior
    let invert: Bool

    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]] {
        var output: [[Unicode.Scalar]] = []
        output.reserveCapacity(pieces.count * 4)
        for piece in pieces {
            behavior.split(piece, matches: pattern.matches(in: piece), invert: invert, into: &output)
        }
        return output
    }
}

/// Splits digits from the rest: each digit alone (`individual_digits`) or runs of digits.
struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool

    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]] {
        var output: [[Unicode.Scalar]] = []
        output.reserveCapacity(pieces.count)
        for piece in pieces {
            var matches: [Range<Int>] = []
            for (index, scalar) in piece.enumerated() where CharacterClass.isNumber(scalar) {
                matches.append(index..<(index + 1))
            }
            (individual ? SplitBehavior.isolated : .contiguous).split(piece, matches: matches, invert: false,
                                                                       into: &output)
        }
        return output
    }
}

/// GPT-2's byte-level step: optionally a leading space and the GPT-2 regex split, then every UTF-8 byte written
/// as one printable character of the byte alphabet (space → `Ġ`), so the model never sees a raw byte.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool
    private let regex = GPT2Pattern()

    init(addPrefixSpace: Bool, useRegex: Bool) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]] {
        var split: [[Unicode.Scalar]] = []
        split.reserveCapacity(pieces.count * 4)
        for var piece in pieces where !piece.isEmpty {
            if addPrefixSpace && piece.first != " " { piece.insert(" ", at: 0) }
            if useRegex {
                SplitBehavior.isolated.split(piece, matches: regex.matches(in: piece), invert: false, into: &split)
            } else if !piece.isEmpty {
                split.append(piece)
            }
        }
        return split.map(ByteLevelAlphabet.encode)
    }
}

/// SentencePiece's word boundary: spaces become `▁`, a `▁` is put in front, and the text is cut before each `▁`.
struct MetaspacePreTokenizer: PreTokenizer {
    enum PrependScheme: String, Sendable { case always, first, never }
    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme
    let split: Bool

    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]] {
        var output: [[Unicode.Scalar]] = []
        for (index, piece) in pieces.enumerated() where !piece.isEmpty {
            var replaced = piece.map { $0 == " " ? replacement : $0 }
            let prepend = prependScheme == .always || (prependScheme == .first && firstSegment && index == 0)
            if prepend && replaced.first != replacement { replaced.insert(replacement, at: 0) }
            if split {
                let matches = replaced.indices.filter { replaced[$0] == replacement }.map { $0..<($0 + 1) }
                SplitBehavior.mergedWithNext.split(replaced, matches: matches, invert: false, into: &output)
            } else if !replaced.isEmpty {
                output.append(replaced)
            }
        }
        return output
    }
}

struct SequencePreTokenizer: PreTokenizer {
    let stages: [any PreTokenizer]

    func preTokenize(_ pieces: [[Unicode.Scalar]], firstSegment: Bool) -> [[Unicode.Scalar]] {
        stages.reduce(pieces) { $1.preTokenize($0, firstSegment: firstSegment) }
    }
}

/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters.
enum ByteLevelAlphabet {
    /// byteToScalar[b]: printable bytes map to themselves, the other 68 to U+0100 and up, in byte order.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The inverse map, for decoding.
    static let scalarToByte: [Unicode.Scalar: UInt8] = {
        var table: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { table[scalar] = UInt8(byte) }
        return table
    }()

    static func encode(_ piece: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(piece.count + piece.count / 2)
        for scalar in piece {
            if scalar.value < 0x80 {
                result.append(byteToScalar[Int(scalar.value)])
            } else {
                UTF8.encode(scalar) { result.append(byteToScalar[Int($0)]) }
            }
        }
        return result
    }
}
