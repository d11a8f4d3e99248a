import Foundation

/// A token from `added_tokens` (special tokens such as `<s>`, and extra vocabulary such as OLMoE's runs of spaces).
struct AddedToken: Sendable {
    let id: Int
    let content: String
    let special: Bool
    let singleWord: Bool
    let leftStrip: Bool
    let rightStrip: Bool
    /// Matched in the normalized text (true) or in the raw text before normalization (false).
    let normalized: Bool

    init(_ node: JSONNode) throws {
        id = try node.int("id")
        content = try node.string("content")
        special = try node.bool("special", default: false)
        singleWord = try node.bool("single_word", default: false)
        leftStrip = try node.bool("lstrip", default: false)
        rightStrip = try node.bool("rstrip", default: false)
        normalized = try node.bool("normalized", default: !special)
    }
}

/// A stretch of text, or an added token found in it.
enum Segment: Equatable {
    case text([Unicode.Scalar])
    case token(Int)
}

/// Finds added tokens in text, leftmost first and longest among those starting at the same place (the
/// Aho-Corasick "leftmost longest" rule that `tokenizers` uses), with a trie over Unicode scalars.
struct AddedTokenMatcher: Sendable {
    private struct Entry: Sendable {
        let id: Int
        let singleWord: Bool
        let leftStrip: Bool
        let rightStrip: Bool
    }
    /// children[node][scalar] = child node; node 0 is the root.
    private var children: [[Unicode.Scalar: Int]] = [[:]]
    private var entries: [Entry?] = [nil]

    var isEmpty: Bool { children[0].isEmpty }

    /// `contents[i]` is the text to match for `tokens[i]` (already normalized for normalized tokens).
    init(_ tokens: [(token: AddedToken, content: [Unicode.Scalar])]) {
        for (token, content) in tokens where !content.isEmpty {
            var node = 0
            for scalar in content {
                if let child = children[node][scalar] {
                    node = child
                } else {
                    children.append([:])
                    entries.append(nil)
                    children[node][scalar] = children.count - 1
                    node = children.count - 1
                }
            }
            // The first definition of a content wins, as in `tokenizers`.
            if entries[node] == nil {
                entries[node] = Entry(id: token.id, singleWord: token.singleWord, leftStrip: token.leftStrip,
                                      rightStrip: token.rightStrip)
            }
        }
    }

    /// Cuts `text` into text segments and added tokens; empty text segments are left out.
    func split(_ text: [Unicode.Scalar]) -> [Segment] {
        guard !isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        var segments: [Segment] = []
        var textStart = 0
        var index = 0
        let count = text.count
        let root = children[0]
        while index < count {
            guard var node = root[text[index]] else { index += 1; continue }
            var best: (end: Int, entry: Entry)? = entries[node].map { (index + 1, $0) }
            var position = index + 1
            while position < count, let child = children[node][text[position]] {
                node = child
                position += 1
                if let entry = entries[node] { best = (position, entry) }
            }
            guard let match = best else { index += 1; continue }
            var start = index, end = match.end
            if match.entry.singleWord {
                let wordBefore = start > 0 && Self.isWordCharacter(text[start - 1])
                let wordAfter = end < count && Self.isWordCharacter(text[end])
                if wordBefore || wordAfter { index += 1; continue }
            }
            if match.entry.leftStrip { while start > textStart && text[start - 1].properties.isWhitespace { start -= 1 } }
            if match.entry.rightStrip { while end < count && text[end].properties.isWhitespace { end += 1 } }
            if start > textStart { segments.append(.text(Array(text[textStart..<start]))) }
            segments.append(.token(match.entry.id))
            textStart = end
            index = end
        }
        if textStart < count { segments.append(.text(Array(text[textStart..<count]))) }
        return segments
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || CharacterClass.isLetter(scalar) || CharacterClass.isNumber(scalar)
    }
}
