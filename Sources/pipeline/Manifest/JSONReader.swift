import Foundation

/// A JSON value with its key path (`models[0].max_length`), for decoding with errors a user can act on.
///
/// `Codable` cannot reject unknown keys or suggest the key that was meant, so manifests are walked by hand:
/// every object is read through `JSONObject`, which remembers which keys were used, and `finish()` turns any
/// key left over into an error with the closest valid key.
struct JSONValue {
    let raw: Any
    let path: String
    let file: String

    func error(_ message: String) -> ManifestError {
        ManifestError(file: file, path: path, message: message)
    }

    var typeName: String {
        switch raw {
        case is NSNull: return "null"
        case is NSNumber:
            return isBoolean ? "a boolean" : "a number"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "an unknown value"
        }
    }

    private func wrongType(_ expected: String) -> ManifestError {
        error("expected \(expected), found \(typeName)")
    }

    /// JSONSerialization gives booleans as NSNumber too; only their type encoding (`c`, a C char) tells them
    /// apart from the numbers 0 and 1, which it encodes as integers or doubles.
    private var isBoolean: Bool {
        guard let number = raw as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    func string() throws -> String {
        guard let value = raw as? String else { throw wrongType("a string") }
        return value
    }

    func int() throws -> Int {
        guard !isBoolean, let number = raw as? NSNumber else { throw wrongType("a whole number") }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 1e15 else { throw wrongType("a whole number") }
        return Int(double)
    }

    func double() throws -> Double {
        guard !isBoolean, let number = raw as? NSNumber else { throw wrongType("a number") }
        guard number.doubleValue.isFinite else { throw error("expected a finite number") }
        return number.doubleValue
    }

    func bool() throws -> Bool {
        guard isBoolean, let number = raw as? NSNumber else { throw wrongType("true or false") }
        return number.boolValue
    }

    func array() throws -> [JSONValue] {
        guard let items = raw as? [Any] else { throw wrongType("an array") }
        return items.enumerated().map { JSONValue(raw: $0.element, path: "\(path)[\($0.offset)]", file: file) }
    }

    func object(allowedKeys: [String]) throws -> JSONObject {
        guard let dictionary = raw as? [String: Any] else { throw wrongType("an object") }
        return JSONObject(dictionary: dictionary, path: path, file: file, allowedKeys: allowedKeys)
    }

    var isObject: Bool { raw is [String: Any] }
    var isArray: Bool { raw is [Any] }
    var isString: Bool { raw is String }

    /// A single value or an array of them, as an array: grid parameters accept both `0.5` and `[0, 0.5]`.
    func oneOrMany() -> [JSONValue] {
        (try? array()) ?? [self]
    }
}

/// A JSON object being decoded: typed accessors by key, and `finish()` to reject keys nobody asked for.
final class JSONObject {
    private let dictionary: [String: Any]
    let path: String
    let file: String
    private let allowedKeys: [String]

    init(dictionary: [String: Any], path: String, file: String, allowedKeys: [String]) {
        self.dictionary = dictionary
        self.path = path
        self.file = file
        self.allowedKeys = allowedKeys
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ message: String) -> ManifestError {
        ManifestError(file: file, path: path.isEmpty ? "(top level)" : path, message: message)
    }

    var keys: [String] { dictionary.keys.sorted() }

    /// The value at `key`, nil when absent (JSON `null` counts as absent).
    func optional(_ key: String) -> JSONValue? {
        precondition(allowedKeys.contains(key), "JSONObject: key \(key) read but not declared")
        guard let value = dictionary[key], !(value is NSNull) else { return nil }
        return JSONValue(raw: value, path: childPath(key), file: file)
    }

    func required(_ key: String) throws -> JSONValue {
        guard let value = optional(key) else { throw error("missing required key \"\(key)\"") }
        return value
    }

    /// Fails on the first key (in sorted order) that is not one of `allowedKeys`, suggesting the closest.
    func finish() throws {
        for key in keys where !allowedKeys.contains(key) {
            var message = "unknown key \"\(key)\""
            if let suggestion = closest(to: key, among: allowedKeys) { message += "; did you mean \"\(suggestion)\"?" }
            message += " (valid keys: \(allowedKeys.joined(separator: ", ")))"
            throw ManifestError(file: file, path: childPath(key), message: message)
        }
    }
}

/// The closest candidate by edit distance (case-insensitive), if it is close enough to be a plausible typo.
func closest(to word: String, among candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
    let tolerance = max(2, min(word.count, best.0.count) / 3)
    return best.1 <= tolerance ? best.0 : nil
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// A manifest that cannot be used: the file, the key path, and what is wrong.
struct ManifestError: Error, CustomStringConvertible, Equatable {
    let file: String
    let path: String
    let message: String

    var description: String { "\(file): \(path): \(message)" }
}
