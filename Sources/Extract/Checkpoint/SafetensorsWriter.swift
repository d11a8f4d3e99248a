import Foundation

/// Writes a `.safetensors` file: what `pipeline forward` outputs, and what tests use to build checkpoints.
///
/// Tensors are laid out in name order, the JSON header is padded with spaces to a multiple of 8 bytes
/// (as the reference library does) so every tensor starts aligned.
public struct SafetensorsWriter {
    public struct Entry {
        public let name: String
        public let dtype: TensorDType
        public let shape: [Int]
        public let data: Data

        public init(name: String, dtype: TensorDType, shape: [Int], data: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        public init(name: String, floats: [Float], shape: [Int], as dtype: TensorDType = .f32) {
            self.init(name: name, dtype: dtype, shape: shape, data: DTypeConversion.bytes(of: floats, as: dtype))
        }

        public init(name: String, int64s: [Int], shape: [Int]) {
            let values = int64s.map { Int64($0).littleEndian }
            self.init(name: name, dtype: .i64, shape: shape, data: values.withUnsafeBytes { Data($0) })
        }
    }

    public var entries: [Entry] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ entry: Entry) { entries.append(entry) }

    /// The complete file contents.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let ordered = entries.sorted { $0.name < $1.name }
        for entry in ordered {
            header[entry.name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape,
                                  "data_offsets": [offset, offset + entry.data.count]] as [String: Any]
            offset += entry.data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for entry in ordered { file.append(entry.data) }
        return file
    }

    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }
}
