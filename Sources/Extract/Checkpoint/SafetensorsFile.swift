import Foundation

/// Where one tensor lives in a safetensors file: its type, shape and byte range inside the mapping.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Absolute byte range in the file (header included).
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// One memory-mapped `.safetensors` file with a validated header.
///
/// Format: 8-byte little-endian header length N, N bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`,
/// then the data area, offsets relative to its start. Validation refuses a length that is larger than the
/// file, JSON that is not that object, offsets outside the data area, overlapping tensors, and byte
/// sizes that disagree with shape x dtype, so no later read can leave the mapping.
public final class SafetensorsFile: @unchecked Sendable {
    /// Headers larger than this are refused before reading them (the reference library's limit).
    public static let maxHeaderLength = 100_000_000

    public let file: MappedFile
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    /// The header length field plus the JSON: what the fingerprint hashes.
    public let headerLength: Int

    public var url: URL { file.url }
    public var names: [String] { tensors.keys.sorted() }

    public convenience init(url: URL) throws {
        try self.init(file: MappedFile(url: url))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.url.path
        guard file.size >= 8 else {
            throw CheckpointError.badHeader(file: path, reason: "file has \(file.size) bytes, fewer than the 8-byte length field")
        }
        var length: UInt64 = 0
        withUnsafeMutableBytes(of: &length) { $0.copyMemory(from: file.bytes(0..<8)) }
        length = UInt64(littleEndian: length)
        guard length <= UInt64(Self.maxHeaderLength) else {
            throw CheckpointError.badHeader(file: path, reason: "header length \(length) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        guard Int(length) <= file.size - 8 else {
            throw CheckpointError.badHeader(file: path, reason: "header length \(length) is past the end of the \(file.size)-byte file (truncated?)")
        }
        headerLength = Int(length)
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        let json = Data(file.bytes(8..<dataStart))
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw CheckpointError.badHeader(file: path, reason: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw CheckpointError.badHeader(file: path, reason: "header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard let pairs = value as? [String: Any] else {
                    throw CheckpointError.badHeader(file: path, reason: "__metadata__ is not an object")
                }
                for (key, text) in pairs {
                    guard let text = text as? String else {
                        throw CheckpointError.badHeader(file: path, reason: "__metadata__ value of '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try Self.parseEntry(name: name, value: value, path: path, dataStart: dataStart, dataSize: dataSize)
        }
        // No two tensors may share bytes: sort by start and compare neighbours.
        let ordered = tensors.values.sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.byteRange.lowerBound < previous.byteRange.upperBound && !next.byteRange.isEmpty && !previous.byteRange.isEmpty {
            throw CheckpointError.overlappingTensors(file: path, first: previous.name, second: next.name)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: Any, path: String, dataStart: Int, dataSize: Int) throws -> TensorInfo {
        func fail(_ reason: String) -> CheckpointError { .badTensor(file: path, tensor: name, reason: reason) }
        guard let entry = value as? [String: Any] else { throw fail("entry is not an object") }
        guard let dtypeName = entry["dtype"] as? String else { throw fail("missing \"dtype\"") }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            throw fail("unknown dtype '\(dtypeName)' (known: \(TensorDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let shapeValues = entry["shape"] as? [Any] else { throw fail("missing \"shape\" array") }
        var shape: [Int] = []
        var count = 1
        for dimension in shapeValues {
            guard let number = dimension as? NSNumber, let size = Int(exactly: number.doubleValue), size >= 0 else {
                throw fail("shape \(shapeValues) is not a list of non-negative integers")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw fail("shape \(shapeValues) overflows") }
            count = product
            shape.append(size)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
              let end = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) else {
            throw fail("\"data_offsets\" is not a pair of integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] are outside the \(dataSize)-byte data area")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == end - begin else {
            throw fail("holds \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(overflow ? "too many" : String(bytes))")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// The raw bytes of a tensor.
    public func bytes(of info: TensorInfo) -> UnsafeRawBufferPointer { file.bytes(info.byteRange) }

    /// A tensor's values widened to float32 (F32/F16/BF16/F64 tensors): for small tensors and tests.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        return try DTypeConversion.floats(from: bytes(of: info), dtype: info.dtype, tensor: name)
    }

    /// An integer tensor's values (I64/I32).
    public func integers(_ name: String) throws -> [Int] {
        let info = try info(name)
        let raw = bytes(of: info)
        switch info.dtype {
        case .i64: return (0..<info.elementCount).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        case .i32: return (0..<info.elementCount).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        default: throw CheckpointError.badTensor(file: url.path, tensor: name, reason: "dtype \(info.dtype.rawValue) is not an integer type")
        }
    }

    public func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else { throw CheckpointError.missingTensor(name: name, files: [url.path]) }
        return info
    }
}
