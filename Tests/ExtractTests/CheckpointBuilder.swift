import Foundation
@testable import Extract

/// Builds checkpoint folders in a temporary directory, from a fixture with edits: tests of loading and bad input.
struct CheckpointBuilder {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("moee-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Copies `fixture`'s config and rewrites its weights: `edit` may drop (return nil), rename or retype each tensor.
    func copy(fixture: URL, edit: (SafetensorsWriter.Entry) -> SafetensorsWriter.Entry? = { $0 },
              extra: [SafetensorsWriter.Entry] = [], config: ((inout [String: Any]) -> Void)? = nil) throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("config.json"))) as? [String: Any] ?? [:]
        config?(&json)
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: url("config.json"))
        let source = try SafetensorsFile(url: fixture.appendingPathComponent("model.safetensors"))
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for name in source.names {
            let info = try source.info(name)
            let entry = SafetensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape, data: Data(source.bytes(of: info)))
            if let edited = edit(entry) { writer.add(edited) }
        }
        for entry in extra { writer.add(entry) }
        try writer.write(to: url("model.safetensors"))
    }

    /// A tensor converted to `dtype` (from F32).
    static func converted(_ entry: SafetensorsWriter.Entry, to dtype: TensorDType) -> SafetensorsWriter.Entry {
        let floats = entry.data.withUnsafeBytes { raw in (0..<(entry.data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return .init(name: entry.name, floats: floats, shape: entry.shape, as: dtype)
    }

    /// F32 bytes rounded through `dtype` and back (what a model stored in `dtype` holds).
    static func rounded(_ entry: SafetensorsWriter.Entry, through dtype: TensorDType) throws -> SafetensorsWriter.Entry {
        let narrow = converted(entry, to: dtype)
        let floats = try narrow.data.withUnsafeBytes { try DTypeConversion.floats(from: $0, dtype: dtype, tensor: entry.name) }
        return .init(name: entry.name, floats: floats, shape: entry.shape)
    }
}

extension CheckpointBuilder {
    /// Splits `model.safetensors` into two shards with a `model.safetensors.index.json`, as the hub lays out big models.
    func shard() throws {
        let single = url("model.safetensors")
        let source = try SafetensorsFile(url: single)
        var shards = [SafetensorsWriter(), SafetensorsWriter()]
        var map: [String: String] = [:]
        for (i, name) in source.names.enumerated() {
            let info = try source.info(name)
            shards[i % 2].add(.init(name: name, dtype: info.dtype, shape: info.shape, data: Data(source.bytes(of: info))))
            map[name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, writer) in shards.enumerated() { try writer.write(to: url("model-0000\(i + 1)-of-00002.safetensors")) }
        try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": map]).write(to: url("model.safetensors.index.json"))
        try FileManager.default.removeItem(at: single)
    }
}
