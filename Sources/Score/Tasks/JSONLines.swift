import Foundation

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

    static func number(_ value: Any?) -> Double? {
        guard let value, !(value is String), let number = value as? NSNumber else { return nil }
        return number.doubleValue
    }
}

enum JSONLines {
    /// Every non-blank line of `url` parsed as a JSON object (line numbers are 1-based).
    static func read(_ url: URL) throws -> [JSONRecord] {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ScoreError.unreadable(file: file, line: 0, reason: "cannot read: \(error.localizedDescription)")
        }
        var records: [JSONRecord] = []
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            lineNumber += 1
            let line = data[start..<end]
            start = end < data.endIndex ? data.index(after: end) : end
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            let parsed: Any
            do { parsed = try JSONSerialization.jsonObject(with: line) } catch {
                throw ScoreError.unreadable(file: file, line: lineNumber, reason: "not valid JSON")
            }
            guard let object = parsed as? [String: Any] else {
                throw ScoreError.unreadable(file: file, line: lineNumber, reason: "expected a JSON object")
            }
            records.append(JSONRecord(file: file, line: lineNumber, object: object))
        }
        return records
    }
}
