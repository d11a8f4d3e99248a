import Foundation

/// The last stage, for `decode`: turns token strings back into text.
protocol TokenDecoder: Sendable {
    func decode(_ tokens: [String]) -> [String]
}

func makeDecoder(_ node: JSONNode) throws -> any TokenDecoder {
    let type = try node.string("type")
    switch type {
    case "ByteLevel": return ByteLevelDecoder()
    case "Replace":
        let pattern = try node.required("pattern")
        guard let literal = try pattern.optionalString("String") else {
            throw pattern.invalid("{\"String\": ...} (regex patterns are not supported in decoders)")
        }
        return ReplaceDecoder(pattern: literal, content: try node.string("content"))
    case "ByteFallback": return ByteFallbackDecoder()
    case "Fuse": return FuseDecoder()
    case "Strip":
        let content = try node.string("content")
        guard let scalar = content.unicodeScalars.first, content.unicodeScalars.count == 1 else {
            throw try node.required("content").invalid("a single character")
        }
        return StripDecoder(content: scalar, start: try node.int("start"), stop: try node.int("stop"))
    case "Metaspace":
        let replacement = try node.optionalString("replacement") ?? "▁"
        let scheme = try node.optionalString("prepend_scheme") ?? (try node.bool("add_prefix_space", default: true) ? "always" : "never")
        return MetaspaceDecoder(replacement: replacement, stripLeadingSpace: scheme != "never")
    case "Sequence":
        return SequenceDecoder(stages: try node.required("decoders").array().map(makeDecoder))
    default:
        throw TokenizerError.unknownType(file: node.file, keyPath: node.path + ".type", type: type,
                                         known: ["ByteLevel", "Replace", "ByteFallback", "Fuse", "Strip",
                                                 "Metaspace", "Sequence"])
    }
}

/// Maps byte-alphabet characters back to bytes and reads them as UTF-8 (invalid bytes become U+FFFD).
struct ByteLevelDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens {
            for scalar in token.unicodeScalars {
                if let byte = ByteLevelAlphabet.scalarToByte[scalar] {
                    bytes.append(byte)
                } else {
                    UTF8.encode(scalar) { bytes.append($0) }
                }
            }
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

struct ReplaceDecoder: TokenDecoder {
    let pattern: String
    let content: String

    func decode(_ tokens: [String]) -> [String] {
        tokens.map { $0.replacingOccurrences(of: pattern, with: content, options: .literal) }
    }
}

/// Runs of `<0xXX>` tokens become the text their bytes spell (U+FFFD per byte when not valid UTF-8).
struct ByteFallbackDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] {
        var output: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let text = String(validating: pending, as: UTF8.self) {
                output.append(text)
            } else {
                output.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
            }
            pending.removeAll()
        }
        for token in tokens {
            let utf8 = Array(token.utf8)
            if utf8.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
               let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16) {
                pending.append(byte)
            } else {
                flush()
                output.append(token)
            }
        }
        flush()
        return output
    }
}

struct FuseDecoder: TokenDecoder {
    func decode(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing `content` characters from every token.
struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int

    func decode(_ tokens: [String]) -> [String] {
        tokens.map { token in
            var scalars = Array(token.unicodeScalars)[...]
            var removed = 0
            while removed < start, scalars.first == content { scalars.removeFirst(); removed += 1 }
            removed = 0
            while removed < stop, scalars.last == content { scalars.removeLast(); removed += 1 }
            return String(String.UnicodeScalarView(scalars))
        }
    }
}

struct MetaspaceDecoder: TokenDecoder {
    let replacement: String
    let stripLeadingSpace: Bool

    func decode(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            let text = token.replacingOccurrences(of: replacement, with: " ", options: .literal)
            return index == 0 && stripLeadingSpace && text.hasPrefix(" ") ? String(text.dropFirst()) : text
        }
    }
}

struct SequenceDecoder: TokenDecoder {
    let stages: [any TokenDecoder]

    func decode(_ tokens: [String]) -> [String] {
        stages.reduce(tokens) { $1.decode($0) }
    }
}
