import Foundation

/// The input file of `pipeline forward`: `{"input_ids": [[int]], "attention_mask": [[0|1]]}`, left padded.
/// A missing `attention_mask` means every token is real.
public struct ForwardInput: Sendable, Equatable {
    public var inputIDs: [[Int]]
    public var attentionMask: [[Int]]

    public init(inputIDs: [[Int]], attentionMask: [[Int]]) {
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
    }

    /// Reads `url`; errors name the file and the key path (e.g. `input_ids[0][3]`).
    public static func read(_ url: URL) throws -> ForwardInput {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        func bad(_ key: String, _ reason: String) -> ConfigError { .badValue(file: url.path, key: key, reason: reason) }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError.invalidJSON(file: url.path, reason: "expected a JSON object {\"input_ids\": [[int]], \"attention_mask\": [[0|1]]}")
        }
        func matrix(_ key: String) throws -> [[Int]]? {
            guard let value = root[key] else { return nil }
            guard let rows = value as? [Any] else { throw bad(key, "expected an array of arrays of integers") }
            return try rows.enumerated().map { r, row in
                guard let row = row as? [Any] else { throw bad("\(key)[\(r)]", "expected an array of integers") }
                return try row.enumerated().map { c, item in
                    guard type(of: item) != Bool.self, let number = item as? NSNumber, let integer = Int(exactly: number.doubleValue) else {
                        throw bad("\(key)[\(r)][\(c)]", "\(item) is not an integer")
                    }
                    return integer
                }
            }
        }
        guard let ids = try matrix("input_ids") else { throw bad("input_ids", "required key is missing") }
        let unknown = Set(root.keys).subtracting(["input_ids", "attention_mask"])
        if let key = unknown.sorted().first { throw bad(key, "unknown key (expected input_ids and attention_mask)") }
        return ForwardInput(inputIDs: ids, attentionMask: try matrix("attention_mask") ?? ids.map { $0.map { _ in 1 } })
    }
}
