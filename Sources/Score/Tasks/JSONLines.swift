import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One JSON object of a JSONL file, with typed accessors whose errors name the file, line and key.
struct JSONRecord {
    let file: String
    let line: Int
    let object: [String: Any]

    func string(_ key: String) throws -> String {
        guard let value = object[key] as? String else { throw bad(key, "a string") }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        guard let value = object[key] as? [Any] else { throw bad(key, "a list of strings") }
        return try value.map { element in
            guard let text = element as? String else { throw bad(key, "a list of strings") }
            return text
        }
    }

    func number(_ key: String) throws -> Double {
        guard let value = Self.number(object[key]) else { throw bad(key, "a number") }
        return value
    }

    func numbers(_ key: String) throws -> [Double] {
        guard let value = object[key] as? [Any] else { throw bad(key, "a list of numbers") }
        return try value.map { element in
            guard let number = Self.number(element) else { throw bad(key, "a list of numbers") }
            return number
        }
    }

    /// A class label: a string, or an integer kept as its decimal text.
    func label(_ key: String) throws -> String {
        if let text = object[key] as? String { return text }
        if let number = Self.number(object[key]), number == number.rounded(), abs(number) < 1e15 {
            return String(Int(number))
        }
        throw bad(key, "a string or an integer")
    }

    /// A 0/1 label.
    func binaryLabel(_ key: String) throws -> Bool {
        guard let number = Self.number(object[key]), number == 0 || number == 1 else { throw bad(key, "0 or 1") }
        return number == 1
    }

    func bad(_ key: String, _ expected: String) -> ScoreError {
        .badField(file: file, line: line, key: key, expected: expected)
    }

    /// A JSON number as the nearest Double, as Python's `json` reads it. Foundation hands long decimals (17
    /// significant digits, as Python writes float64) over as NSDecimalNumber, whose `doubleValue` can be a few
    /// ulps off; its exact decimal text goes through `strtod` instead.
    static func number(_ value: Any?) -> Double? {
        guard let value, !(value is String), let number = value as? NSNumber else { return nil }
        if let decimal = number as? NSDecimalNumber {
            let parsed = decimal.stringValue.withCString { strtod($0, nil) }
            return parsed.isFinite ? parsed : decimal.doubleValue
        }
        return number.doubleValue
    }
}

enum JSONLines {
    /// Every non-blank line of `url` parsed as a JSON object (line numbers are 1-based).
    static func read(_ url: URL) throws -> [JSONRecord] {
        try map(url) { $0 }
    }

    /// `transform` of every non-blank line's JSON object, one line at a time: Foundation's objects for a line are
    /// freed before the next is parsed, so a split costs its converted rows, not every line's dictionaries
    /// (TwitterURLCorpus's 11 MB test split: about 100 MB of them at once).
    static func map<T>(_ url: URL, _ transform: (JSONRecord) throws -> T) throws -> [T] {
        var rows: [T] = []
        try forEachLine(of: url) { line, number in
            rows.append(try transform(try record(line, file: url.path, line: number)))
        }
        return rows
    }

    /// One line parsed by JSONSerialization; errors name the file and line.
    static func record(_ line: UnsafeBufferPointer<UInt8>, file: String, line number: Int) throws -> JSONRecord {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(buffer: line)) } catch {
            throw ScoreError.unreadable(file: file, line: number, reason: "not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw ScoreError.unreadable(file: file, line: number, reason: "expected a JSON object")
        }
        return JSONRecord(file: file, line: number, object: object)
    }

    /// Calls `body` with every non-blank line of `url` (without its newline) and its 1-based number, reading the
    /// file in chunks: memory stays at one chunk plus the longest line, whatever the file's size.
    static func forEachLine(of url: URL, chunkBytes: Int = 8 << 20,
                            _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let file = url.path
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw ScoreError.unreadable(file: file, line: 0, reason: "cannot read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var pending: [UInt8] = []   // the unfinished last line of the chunks read so far, then the next chunk
        var lineNumber = 0
        var atEnd = false
        while !atEnd {
            let chunk: Data
            do { chunk = try handle.read(upToCount: chunkBytes) ?? Data() } catch {
                throw ScoreError.unreadable(file: file, line: lineNumber, reason: "cannot read: \(error.localizedDescription)")
            }
            atEnd = chunk.isEmpty
            pending.append(contentsOf: chunk)
            if atEnd && pending.isEmpty { break }
            let consumed = try pending.withUnsafeBufferPointer { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                var start = 0
                while start < buffer.count {
                    guard let newline = memchr(base + start, 0x0a, buffer.count - start) else {
                        if !atEnd { return start }
                        lineNumber += 1
                        try emit(base, start, buffer.count, lineNumber, body)
                        return buffer.count
                    }
                    let end = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                    lineNumber += 1
                    try emit(base, start, end, lineNumber, body)
                    start = end + 1
                }
                return start
            }
            pending.removeSubrange(0..<consumed)
        }
    }

    private static func emit(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ number: Int,
                             _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        var k = start
        while k < end, base[k] == 32 || base[k] == 9 || base[k] == 13 { k += 1 }
        if k == end { return }
        try body(UnsafeBufferPointer(start: base + start, count: end - start), number)
    }

    /// How many newline-terminated (or final) lines `url` has: an upper bound on its records, read in chunks.
    static func countLines(of url: URL) throws -> Int {
        var count = 0
        try forEachLine(of: url) { _, _ in count += 1 }
        return count
    }
}
