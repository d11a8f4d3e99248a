/// Everything that can be wrong with a checkpoint folder, each naming the file (and tensor or key) at fault.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String, hint: String)
    case unreadable(file: String, reason: String)
    case badHeader(file: String, reason: String)
    case badTensor(file: String, tensor: String, reason: String)
    case overlappingTensors(file: String, first: String, second: String)
    case missingTensor(name: String, files: [String])
    case badIndex(file: String, reason: String)
    case tensorSet(missing: [String], unexpected: [String], wrongShape: [String])
    case unsupportedWeightType(tensor: String, dtype: String)

    public var description: String {
        switch self {
        case let .missingFile(path, hint):
            return "\(path): file not found; \(hint)"
        case let .unreadable(file, reason):
            return "\(file): cannot read: \(reason)"
        case let .badHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .badTensor(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .overlappingTensors(file, first, second):
            return "\(file): tensors '\(first)' and '\(second)' overlap in the data area"
        case let .missingTensor(name, files):
            return "tensor '\(name)' not found in \(files.joined(separator: ", "))"
        case let .badIndex(file, reason):
            return "\(file): invalid shard index: \(reason)"
        case let .tensorSet(missing, unexpected, wrongShape):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing tensors (\(missing.count)): " + Self.list(missing)) }
            if !wrongShape.isEmpty { parts.append("tensors with the wrong shape (\(wrongShape.count)): " + Self.list(wrongShape)) }
            if !unexpected.isEmpty { parts.append("unexpected tensors (\(unexpected.count)): " + Self.list(unexpected)) }
            return "the checkpoint does not match its config.json: " + parts.joined(separator: "; ")
        case let .unsupportedWeightType(tensor, dtype):
            return "tensor '\(tensor)' has dtype \(dtype); weights must be F32, F16 or BF16"
        }
    }

    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(20).joined(separator: ", ")
        return names.count > 20 ? shown + ", … (\(names.count - 20) more)" : shown
    }
}
