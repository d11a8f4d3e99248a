import Foundation

/// Reading texts as JSON Lines (one JSON string per line) and writing ids as JSON arrays, for `pipeline tokenize`
/// and `pipeline bench tokenize`.
public enum JSONLinesIO {
    /// A line of input that is not one JSON string.
    public struct LineError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Calls `body` with every line of `handle` (without its `\n`) and its 1-based number, reading in chunks so
    /// arbitrarily long inputs stream. A last line without a final newline counts; an empty input has no lines.
    public static func forEachLine(of handle: FileHandle,
                                   _ body: (_ line: ArraySlice<UInt8>, _ number: Int) throws -> Void) throws {
        var pending: [UInt8] = []
        var number = 0
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            pending.append(contentsOf: chunk)
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                number += 1
                try body(pending[start..<newline], number)
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty {
            number += 1
            try body(pending[...], number)
        }
    }

    /// The text held by one line: a JSON string such as `"Hello\nworld"` (surrounding whitespace and a `\r`
    /// allowed). Anything else, an invalid escape, a lone surrogate (`"\ud800"`, which is not Unicode text) or
    /// invalid UTF-8 is a `LineError` naming the line.
    public static func text(ofJSONLine line: ArraySlice<UInt8>, number: Int) throws(LineError) -> String {
        let value: JSONTree
        do { value = try JSONTree.parse(line) } catch {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                throw LineError(line: number, reason: "empty line (write \"\" for the empty text)")
            }
            throw LineError(line: number, reason: "invalid JSON: \(error)")
        }
        guard case .string(let text) = value else {
            throw LineError(line: number, reason: "expected a JSON string, found \(value.kind)")
        }
        return text
    }

    /// `[1,2,3]`.
    public static func jsonArray(_ ids: [Int]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }
}

extension JSONTree {
    /// What kind of value this is, for messages.
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
