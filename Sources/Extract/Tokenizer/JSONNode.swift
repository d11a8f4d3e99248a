import Foundation

/// A value read from a tokenizer JSON file, with the file name and key path it came from, so every error can say
/// exactly where the bad value is (`tokenizer.json: pre_tokenizer.pretokenizers[1].behavior`).
///
/// Only used while loading: the stages copy what they need into typed, `Sendable` fields.
struct JSONNode {
    let value: JSONTree
    let file: String
    let path: String

    /// Parses a whole file; the top level must be an object.
    static func load(_ url: URL) throws -> JSONNode {
        let name = url.lastPathComponent
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.missingFile(path: url.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableJSON(file: name, reason: "\(error.localizedDescription)")
        }
        let value: JSONTree
        do { value = try JSONTree.parse(data) } catch {
            throw TokenizerError.unreadableJSON(file: name, reason: error.description)
        }
        guard case .object = value else {
            throw TokenizerError.unreadableJSON(file: name, reason: "the top level is not an object")
        }
        return JSONNode(value: value, file: name, path: "")
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func invalid(_ expected: String) -> TokenizerError {
        .invalidValue(file: file, keyPath: path.isEmpty ? "(top level)" : path, expected: expected)
    }

    /// The member `key`, nil when absent or JSON null.
    func optional(_ key: String) throws -> JSONNode? {
        guard case .object(let members) = value else { throw invalid("an object") }
        guard let member = members.first(where: { $0.key == key }) else { return nil }
        if case .null = member.value { return nil }
        return JSONNode(value: member.value, file: file, path: childPath(key))
    }

    func required(_ key: String) throws -> JSONNode {
        guard let node = try optional(key) else {
            throw TokenizerError.invalidValue(file: file, keyPath: childPath(key), expected: "a value (the key is missing)")
        }
        return node
    }

    var stringValue: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    func string() throws -> String {
        guard let text = stringValue else { throw invalid("a string") }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw invalid("true or false") }
        return flag
    }

    func double() throws -> Double {
        guard case .number(let number) = value else { throw invalid("a number") }
        return number
    }

    func int() throws -> Int {
        guard case .number(let number) = value, let exact = Int(exactly: number) else { throw invalid("a whole number") }
        return exact
    }

    func array() throws -> [JSONNode] {
        guard case .array(let items) = value else { throw invalid("an array") }
        return items.enumerated().map { JSONNode(value: $1, file: file, path: "\(path)[\($0)]") }
    }

    /// The members of an object, in file order.
    func members() throws -> [(key: String, node: JSONNode)] {
        guard case .object(let members) = value else { throw invalid("an object") }
        return members.map { ($0.key, JSONNode(value: $0.value, file: file, path: childPath($0.key))) }
    }

    // Conveniences for members, with defaults for optional ones.
    func string(_ key: String) throws -> String { try required(key).string() }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }
    func bool(_ key: String, default fallback: Bool) throws -> Bool { try optional(key)?.bool() ?? fallback }
    func int(_ key: String) throws -> Int { try required(key).int() }
}
