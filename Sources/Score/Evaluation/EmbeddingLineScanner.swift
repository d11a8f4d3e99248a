/// The fast path of `EmbeddingsFile`: one JSONL line `{"text": "...", "embedding": [numbers], ...}` scanned in place,
/// its floats appended straight to the matrix being built (no `[Any]` of boxed numbers per line).
///
/// It accepts only what is unambiguous: an object with exactly one "text" string and one "embedding" list of JSON
/// numbers, other keys' values skipped. Anything else (bad JSON, repeated keys, lone surrogates, a mistyped field)
/// returns nil, and the caller re-reads the line with JSONSerialization, whose verdict and error message stand.
struct EmbeddingLineScanner {
    private let bytes: UnsafePointer<UInt8>
    private let end: Int
    private var i: Int

    /// Scans `bytes[start..<end]`; on success the text is returned and the line's floats are appended to `values`.
    /// On failure `values` is restored to its length on entry.
    static func scan(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into values: inout [Float]) -> (text: String, count: Int)? {
        var scanner = EmbeddingLineScanner(bytes: bytes, end: end, i: start)
        let before = values.count
        guard let text = scanner.object(into: &values) else {
            values.removeSubrange(before...)
            return nil
        }
        return (text, values.count - before)
    }

    private mutating func object(into values: inout [Float]) -> String? {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return nil }
        var text: String?
        var sawEmbedding = false
        skipSpace()
        if take(UInt8(ascii: "}")) { return nil }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipSpace()
            switch key {
            case "text":
                guard text == nil, let value = string() else { return nil }
                text = value
            case "embedding":
                guard !sawEmbedding, numbers(into: &values) else { return nil }
                sawEmbedding = true
            default:
                guard skipValue(depth: 0) else { return nil }
            }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipSpace()
        guard i == end, sawEmbedding else { return nil }
        return text
    }

    /// A list of JSON numbers, appended as floats.
    private mutating func numbers(into values: inout [Float]) -> Bool {
        guard take(UInt8(ascii: "[")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "]")) { return true }
        while true {
            skipSpace()
            let start = i
            while i < end, Self.isNumberByte(bytes[i]) { i += 1 }
            guard i > start, let value = DecimalParsing.float(bytes, start, i) else { return false }
            values.append(value)
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]"))
        }
    }

    /// A JSON string, its escapes decoded; nil on a malformed string, invalid UTF-8 or a lone surrogate.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        var escaped = false
        while i < end, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\") { escaped = true; i += 1 }
            else if bytes[i] < 0x20 { return nil }
            i += 1
        }
        guard i < end else { return nil }
        let stop = i
        i += 1
        if !escaped { return String(validating: UnsafeBufferPointer(start: bytes + start, count: stop - start), as: UTF8.self) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(stop - start)
        var k = start
        while k < stop {
            let byte = bytes[k]
            guard byte == UInt8(ascii: "\\") else { decoded.append(byte); k += 1; continue }
            guard k + 1 < stop else { return nil }
            let code = bytes[k + 1]
            k += 2
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(code)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0c)
            case UInt8(ascii: "n"): decoded.append(0x0a)
            case UInt8(ascii: "r"): decoded.append(0x0d)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(k, stop) else { return nil }
                k += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low one.
                    guard k + 6 <= stop, bytes[k] == UInt8(ascii: "\\"), bytes[k + 1] == UInt8(ascii: "u"),
                          let low = hex4(k + 2, stop), low >= 0xDC00 && low < 0xE000 else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    k += 6
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                decoded.append(contentsOf: UTF8.encode(unicode).map { Array($0) } ?? [])
            default:
                return nil
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private func hex4(_ at: Int, _ stop: Int) -> UInt32? {
        guard at + 4 <= stop else { return nil }
        var value: UInt32 = 0
        for k in at..<(at + 4) {
            let byte = bytes[k]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - 55
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Skips any JSON value (another key's), checking only what keeps the scan in step; the slow path judges.
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth < 64, i < end else { return false }
        switch bytes[i] {
        case UInt8(ascii: "\""):
            return string() != nil
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let close = bytes[i] == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
            let isObject = close == UInt8(ascii: "}")
            i += 1
            skipSpace()
            if take(close) { return true }
            while true {
                skipSpace()
                if isObject {
                    guard string() != nil else { return false }
                    skipSpace()
                    guard take(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                }
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(close)
            }
        default:
            let start = i
            while i < end, Self.isNumberByte(bytes[i]) || (bytes[i] >= UInt8(ascii: "a") && bytes[i] <= UInt8(ascii: "z")) { i += 1 }
            let word = UnsafeBufferPointer(start: bytes + start, count: i - start)
            if word.elementsEqual("true".utf8) || word.elementsEqual("false".utf8) || word.elementsEqual("null".utf8) { return true }
            // A number too large for a Float fails here too; the slow path then accepts the line.
            return i > start && DecimalParsing.float(bytes, start, i) != nil
        }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        byte &- 48 < 10 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
            || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+")
    }

    private mutating func skipSpace() {
        while i < end, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 13 || bytes[i] == 10 { i += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard i < end, bytes[i] == byte else { return false }
        i += 1
        return true
    }
}
