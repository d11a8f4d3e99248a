/// A `config.json` that cannot be used, naming the file and the key.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case invalidJSON(file: String, reason: String)
    case badValue(file: String, key: String, reason: String)
    case unsupportedModelType(file: String, found: String?, supported: [String])
    case unsupported(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidJSON(file, reason):
            return "\(file): invalid JSON: \(reason)"
        case let .badValue(file, key, reason):
            return "\(file): key '\(key)': \(reason)"
        case let .unsupportedModelType(file, found, supported):
            let what = found.map { "model_type '\($0)' is not supported" } ?? "no \"model_type\" key"
            return "\(file): \(what); supported model types: \(supported.joined(separator: ", "))"
        case let .unsupported(file, key, reason):
            return "\(file): key '\(key)': \(reason)"
        }
    }
}
