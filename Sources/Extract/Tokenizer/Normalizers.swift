import Foundation

/// The first stage: rewrites the text of one segment (the text between two added tokens) before it is split.
protocol Normalizer: Sendable {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]
}

/// Makes the normalizer described by `node` (its `"type"` chooses the stage).
func makeNormalizer(_ node: JSONNode) throws -> any Normalizer {
    let type = try node.string("type")
    switch type {
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFKC": return UnicodeNormalizer(form: .nfkc)
    case "NFKD": return UnicodeNormalizer(form: .nfkd)
    case "Lowercase": return LowercaseNormalizer()
    case "Strip":
        return StripNormalizer(left: try node.bool("strip_left", default: true),
                               right: try node.bool("strip_right", default: true))
    case "Prepend": return PrependNormalizer(prefix: Array(try node.string("prepend").unicodeScalars))
    case "Replace":
        return ReplaceNormalizer(pattern: try makePattern(try node.required("pattern")),
                                 content: Array(try node.string("content").unicodeScalars))
    case "Sequence":
        return SequenceNormalizer(stages: try node.required("normalizers").array().map(makeNormalizer))
    default:
        throw TokenizerError.unknownType(file: node.file, keyPath: node.path + ".type", type: type,
                                         known: ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "Prepend",
                                                 "Replace", "Sequence"])
    }
}

struct UnicodeNormalizer: Normalizer {
    enum Form: Sendable { case nfc, nfd, nfkc, nfkd }
    let form: Form

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // ASCII is invariant under every normalization form.
        if text.allSatisfy({ $0.value < 0x80 }) { return text }
        let string = String(String.UnicodeScalarView(text))
        let result: String
        switch form {
        case .nfc: result = string.precomposedStringWithCanonicalMapping
        case .nfd: result = string.decomposedStringWithCanonicalMapping
        case .nfkc: result = string.precomposedStringWithCompatibilityMapping
        case .nfkd: result = string.decomposedStringWithCompatibilityMapping
        }
        return Array(result.unicodeScalars)
    }
}

struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.flatMap { $0.properties.lowercaseMapping.unicodeScalars }
    }
}

/// Removes leading and/or trailing whitespace.
struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var slice = text[...]
        if left { while let first = slice.first, first.properties.isWhitespace { slice.removeFirst() } }
        if right { while let last = slice.last, last.properties.isWhitespace { slice.removeLast() } }
        return Array(slice)
    }
}

/// Puts `prefix` in front of a non-empty segment (SentencePiece's `▁` for Llama/Mistral).
struct PrependNormalizer: Normalizer {
    let prefix: [Unicode.Scalar]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.isEmpty ? text : prefix + text
    }
}

/// Replaces every match of a pattern by `content`.
struct ReplaceNormalizer: Normalizer {
    let pattern: any ScalarPattern
    let content: [Unicode.Scalar]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let found = pattern.matches(in: text)
        guard !found.isEmpty else { return text }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count + found.count * content.count)
        var previous = 0
        for range in found {
            result.append(contentsOf: text[previous..<range.lowerBound])
            result.append(contentsOf: content)
            previous = range.upperBound
        }
        result.append(contentsOf: text[previous...])
        return result
    }
}

struct SequenceNormalizer: Normalizer {
    let stages: [any Normalizer]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        stages.reduce(text) { $1.normalize($0) }
    }
}
