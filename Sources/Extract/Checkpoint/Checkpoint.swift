import Foundation

/// A Hugging Face model folder: `config.json` plus weights in `model.safetensors` or in shards listed by
/// `model.safetensors.index.json`. Tensors are looked up by their Hugging Face names across all shards.
public final class Checkpoint: @unchecked Sendable {
    public let directory: URL
    /// The raw bytes of `config.json` (hashed into the fingerprint).
    public let configData: Data
    /// The weight files, in a stable order.
    public let files: [SafetensorsFile]
    private let location: [String: (file: SafetensorsFile, info: TensorInfo)]

    public static let configName = "config.json"
    public static let singleFileName = "model.safetensors"
    public static let indexName = "model.safetensors.index.json"

    /// Reads `config.json` of a folder (no weights needed).
    public static func readConfig(directory: URL) throws -> Data {
        try readConfigFile(directory.appendingPathComponent(configName))
    }

    static func readConfigFile(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError.missingFile(path: url.path, hint: "a model folder needs the config.json of its Hugging Face repository")
        }
        do { return try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }

    public init(directory: URL) throws {
        self.directory = directory
        configData = try Self.readConfig(directory: directory)
        let index = directory.appendingPathComponent(Self.indexName)
        let single = directory.appendingPathComponent(Self.singleFileName)
        var location: [String: (file: SafetensorsFile, info: TensorInfo)] = [:]
        if FileManager.default.fileExists(atPath: index.path) {
            let map = try Self.readWeightMap(index)
            var opened: [String: SafetensorsFile] = [:]
            for shard in Set(map.values).sorted() {
                let url = directory.appendingPathComponent(shard)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw CheckpointError.missingFile(path: url.path, hint: "listed in \(Self.indexName)")
                }
                opened[shard] = try SafetensorsFile(url: url)
            }
            for (name, shard) in map {
                guard let file = opened[shard], let info = file.tensors[name] else {
                    throw CheckpointError.badIndex(file: index.path, reason: "tensor '\(name)' is mapped to \(shard), which does not hold it")
                }
                location[name] = (file, info)
            }
            files = opened.keys.sorted().compactMap { opened[$0] }
        } else if FileManager.default.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(url: single)
            for (name, info) in file.tensors { location[name] = (file, info) }
            files = [file]
        } else {
            throw CheckpointError.missingFile(path: single.path,
                                              hint: "no weights: expected \(Self.singleFileName) or \(Self.indexName) with its shards")
        }
        self.location = location
    }

    private static func readWeightMap(_ url: URL) throws -> [String: String] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw CheckpointError.badIndex(file: url.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any], let map = root["weight_map"] as? [String: Any] else {
            throw CheckpointError.badIndex(file: url.path, reason: "no \"weight_map\" object")
        }
        var result: [String: String] = [:]
        for (name, value) in map {
            guard let shard = value as? String, !shard.contains("/"), shard.hasSuffix(".safetensors") else {
                throw CheckpointError.badIndex(file: url.path, reason: "weight_map[\"\(name)\"] is not a .safetensors file name in the folder")
            }
            result[name] = shard
        }
        return result
    }

    /// Every tensor name in the checkpoint.
    public var tensorNames: [String] { location.keys.sorted() }

    public func info(_ name: String) -> TensorInfo? { location[name]?.info }

    /// The tensor `name`, as a view into its mapped file.
    public func tensor(_ name: String) throws -> (file: SafetensorsFile, info: TensorInfo) {
        guard let entry = location[name] else {
            throw CheckpointError.missingTensor(name: name, files: files.map { $0.url.lastPathComponent })
        }
        return entry
    }

    /// Total bytes of the weight files.
    public var weightBytes: Int { files.reduce(0) { $0 + $1.file.size } }
}
