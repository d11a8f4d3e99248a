import Foundation

/// A regex that is a plain sequence of character classes with quantifiers, optionally ending in `$`, such as
/// DeepSeek's `\s?[A-Za-zµÀ-Ö...]+`, `\s+$` and `[一-龥ࠀ-一가-퟿]+`: matched directly on Unicode scalars with
/// Oniguruma's semantics (`\s` = White_Space, `$` = end of text or before `\n`), without ICU's UTF-16 round trip.
///
/// `compile` returns nil for anything richer (alternation, groups, lookaround, lazy or possessive quantifiers,
/// flags); those patterns go to `ICUPattern`.
struct SequencePattern: ScalarPattern {
    struct Item: Sendable {
        let set: ScalarSet
        let minimum: Int
        let maximum: Int  // Int.max for unbounded
    }
    let items: [Item]
    let anchoredAtLineEnd: Bool

    static func compile(_ regex: String) -> SequencePattern? {
        var scalars = Array(regex.unicodeScalars)[...]
        var items: [Item] = []
        var anchored = false
        while let first = scalars.first {
            if first == "$" && scalars.count == 1 { anchored = true; scalars.removeFirst(); break }
            guard let set = ScalarSet.parseAtom(&scalars) else { return nil }
            var minimum = 1, maximum = 1
            if let quantifier = scalars.first {
                switch quantifier {
                case "?": (minimum, maximum) = (0, 1); scalars.removeFirst()
                case "*": (minimum, maximum) = (0, Int.max); scalars.removeFirst()
                case "+": (minimum, maximum) = (1, Int.max); scalars.removeFirst()
                case "{": return nil
                default: break
                }
                // Lazy (`+?`) and possessive (`++`) forms are not handled here.
                if maximum != 1 || minimum != 1, let next = scalars.first, next == "?" || next == "+" { return nil }
            }
            items.append(Item(set: set, minimum: minimum, maximum: maximum))
        }
        guard !items.isEmpty else { return nil }
        return SequencePattern(items: items, anchoredAtLineEnd: anchored)
    }

    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var start = 0
        let count = text.count
        // A match must start with a scalar of the first item, or of the second when the first is optional.
        let first = items[0].set
        let second: ScalarSet? = items[0].minimum == 0 && items.count > 1 ? items[1].set : nil
        let canBeEmpty = items.allSatisfy { $0.minimum == 0 }
        while start <= count {
            if !canBeEmpty && (start == count || !(first.contains(text[start]) || second?.contains(text[start]) == true)) {
                start += 1
                continue
            }
            if let end = match(text, item: 0, at: start), end > start {
                found.append(start..<end)
                start = end
                continue
            }
            // `X+$` failing at `start` fails everywhere inside the same run of X: skip the run.
            if items.count == 1, anchoredAtLineEnd {
                var next = start + 1
                while next < count && items[0].set.contains(text[next - 1]) && items[0].set.contains(text[next]) { next += 1 }
                start = next
            } else {
                start += 1
            }
        }
        return found
    }

    /// The end of a match of `items[item...]` starting at `position`: greedy, backtracking, leftmost alternative first.
    private func match(_ text: [Unicode.Scalar], item: Int, at position: Int) -> Int? {
        guard item < items.count else {
            if !anchoredAtLineEnd || position == text.count || text[position] == "\n" { return position }
            return nil
        }
        let current = items[item]
        var run = 0
        while run < current.maximum && position + run < text.count && current.set.contains(text[position + run]) { run += 1 }
        guard run >= current.minimum else { return nil }
        for taken in stride(from: run, through: current.minimum, by: -1) {
            if let end = match(text, item: item + 1, at: position + taken) { return end }
        }
        return nil
    }
}

/// A set of scalars: explicit ranges plus the `\s`, `\p{L}`, `\p{N}` classes, possibly negated.
struct ScalarSet: Sendable {
    private var ranges: [ClosedRange<UInt32>] = []
    private var space = false, letter = false, number = false, notSpace = false
    private var negated = false
    /// Membership of U+0000..U+007F, precomputed.
    private var ascii: (UInt64, UInt64) = (0, 0)

    @inline(__always) func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 64 { return ascii.0 >> UInt64(value) & 1 == 1 }
        if value < 128 { return ascii.1 >> UInt64(value - 64) & 1 == 1 }
        return slowContains(scalar)
    }

    private func slowContains(_ scalar: Unicode.Scalar) -> Bool {
        var found = (space && CharacterClass.isSpace(scalar)) || (notSpace && !CharacterClass.isSpace(scalar))
            || (letter && CharacterClass.isLetter(scalar)) || (number && CharacterClass.isNumber(scalar))
        if !found {
            // Binary search over sorted, non-overlapping ranges.
            var low = 0, high = ranges.count - 1
            let value = scalar.value
            while low <= high {
                let middle = (low + high) / 2
                if value < ranges[middle].lowerBound { high = middle - 1 } else if value > ranges[middle].upperBound { low = middle + 1 } else {
                    found = true
                    break
                }
            }
        }
        return found != negated
    }

    private mutating func finish() {
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        ranges = merged
        for value in 0..<UInt32(128) {
            guard let scalar = Unicode.Scalar(value), slowContains(scalar) else { continue }
            if value < 64 { ascii.0 |= 1 << UInt64(value) } else { ascii.1 |= 1 << UInt64(value - 64) }
        }
    }

    /// One atom at the front of `pattern` (a class, an escape or a literal), consumed; nil if not supported.
    static func parseAtom(_ pattern: inout ArraySlice<Unicode.Scalar>) -> ScalarSet? {
        guard let first = pattern.popFirst() else { return nil }
        var set = ScalarSet()
        switch first {
        case "[":
            guard set.parseBracket(&pattern) else { return nil }
        case "\\":
            guard set.parseEscape(&pattern, inBracket: false) else { return nil }
        case "(", ")", "|", "^", "$", ".", "?", "*", "+", "{", "}", "]":
            return nil
        default:
            set.ranges.append(first.value...first.value)
        }
        set.finish()
        return set
    }

    /// After `\`: a class escape, a control escape or an escaped literal.
    private mutating func parseEscape(_ pattern: inout ArraySlice<Unicode.Scalar>, inBracket: Bool) -> Bool {
        guard let escape = pattern.popFirst() else { return false }
        switch escape {
        case "s": space = true
        case "S": if inBracket { return false } else { notSpace = true }
        case "d": ranges.append(0x30...0x39)
        case "p":
            guard pattern.popFirst() == "{" else { return false }
            var name = ""
            while let next = pattern.popFirst(), next != "}" { name.unicodeScalars.append(next) }
            switch name {
            case "L": letter = true
            case "N": number = true
            default: return false
            }
        default:
            guard let literal = Self.escapedLiteral(escape) else { return false }
            ranges.append(literal.value...literal.value)
        }
        return true
    }

    /// `\r`, `\n`, `\t`, `\f`, `\v` and escaped punctuation; nil for escapes with other meanings.
    static func escapedLiteral(_ escape: Unicode.Scalar) -> Unicode.Scalar? {
        switch escape {
        case "r": return "\r"
        case "n": return "\n"
        case "t": return "\t"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        default:
            let punctuation = Set<Unicode.Scalar>(["\\", "-", "[", "]", "^", "$", ".", "|", "?", "*", "+", "(", ")",
                                                    "{", "}", "/", "'", "\"", " ", "#", "&", "~", ",", ":", "!", "<", ">", "=", "@", "%", "`", ";", "_"])
            return punctuation.contains(escape) ? escape : nil
        }
    }

    /// The inside of `[...]` after the `[`, through its `]`.
    private mutating func parseBracket(_ pattern: inout ArraySlice<Unicode.Scalar>) -> Bool {
        if pattern.first == "^" { negated = true; pattern.removeFirst() }
        var isFirst = true
        while let next = pattern.popFirst() {
            if next == "]" && !isFirst { return true }
            isFirst = false
            var low: Unicode.Scalar
            if next == "\\" {
                guard let escape = pattern.first else { return false }
                if let literal = Self.escapedLiteral(escape) {
                    pattern.removeFirst()
                    low = literal
                } else {
                    guard parseEscape(&pattern, inBracket: true) else { return false }
                    continue
                }
            } else if next == "[" {
                return false  // nested classes and POSIX [:alpha:] are not handled here
            } else {
                low = next
            }
            // A range `low-high`, unless the `-` is the last character before `]`.
            if pattern.first == "-", pattern.dropFirst().first != "]", pattern.count >= 2 {
                pattern.removeFirst()
                guard var high = pattern.popFirst() else { return false }
                if high == "\\" {
                    guard let escape = pattern.popFirst(), let literal = Self.escapedLiteral(escape) else { return false }
                    high = literal
                }
                guard low.value <= high.value else { return false }
                ranges.append(low.value...high.value)
            } else {
                ranges.append(low.value...low.value)
            }
        }
        return false  // no closing `]`
    }
}
