// The tensor blob format of the store: a small header (magic, dtype tag, codec flags, shape, payload length,
// checksum) followed by the payload: the values in the chosen dtype, optionally byte-shuffled, optionally
// LZ4-compressed. A blob is checked (length, tag, shape, checksum, decompressed size) before a single value is
// decoded, so a damaged blob is reported, never decoded into garbage.
//
// Layout (little endian):
//   0  "MT"            magic
//   2  UInt8           format version (1)
//   3  UInt8           dtype tag (TensorDType.rawValue)
//   4  UInt8           flags: bit 0 byte-shuffled, bit 1 LZ4-compressed
//   5  UInt8           rank (1...4)
//   6  UInt16          reserved (0)
//   8  UInt32 x rank   shape
//   .  UInt32          payload length in bytes
//   .  UInt64          checksum of everything before it and of the payload (`Checksum64`)
//   .  payload
import CLZ4
import Foundation

/// The element type of a stored tensor; the raw value is the tag written in the blob header.
public enum TensorDType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1
    case f16 = 2
    case bf16 = 3

    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        }
    }

    /// Parses `f32`, `F16`, `bf16`, ...
    public init?(name: String) {
        guard let found = TensorDType.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = found
    }
}

/// Why a blob could not be decoded. The store wraps it into `StoreError.corruptTensor` with the file and key.
public enum TensorCodecError: Error, Equatable, CustomStringConvertible {
    case truncated(length: Int, needed: Int)
    case badMagic
    case unsupportedFormat(UInt8)
    case unknownDType(UInt8)
    case badHeader(String)
    case checksumMismatch(stored: UInt64, computed: UInt64)
    case decompressionFailed(expectedBytes: Int, got: Int)
    case shapeMismatch(expected: [Int], found: [Int])
    case f16Overflow(index: Int, value: Float)

    public var description: String {
        switch self {
        case .truncated(let length, let needed):
            return "blob truncated: \(length) bytes, the header announces \(needed)"
        case .badMagic: return "not a tensor blob (bad magic bytes)"
        case .unsupportedFormat(let version): return "unsupported tensor format version \(version)"
        case .unknownDType(let tag): return "unknown dtype tag \(tag) (known: 1 F32, 2 F16, 3 BF16)"
        case .badHeader(let why): return "bad tensor header: \(why)"
        case .checksumMismatch(let stored, let computed):
            return String(format: "checksum mismatch (stored %016llx, computed %016llx): the blob is damaged", stored, computed)
        case .decompressionFailed(let expected, let got):
            return "LZ4 decompression failed (expected \(expected) bytes, got \(got))"
        case .shapeMismatch(let expected, let found):
            return "shape \(found) where the model's records have \(expected)"
        case .f16Overflow(let index, let value):
            return "value \(value) at element \(index) is outside the F16 range (|x| <= 65504); store hidden states as BF16 or F32"
        }
    }
}

/// The parsed header of a blob.
public struct TensorHeader: Sendable, Equatable {
    public var dtype: TensorDType
    public var shuffled: Bool
    public var compressed: Bool
    public var shape: [Int]
    public var payloadLength: Int
    public var checksum: UInt64
    /// Bytes before the payload.
    public var headerLength: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var rawPayloadLength: Int { elementCount * dtype.size }

    static let magic: (UInt8, UInt8) = (0x4D, 0x54)
    static let formatVersion: UInt8 = 1
    static let shuffledFlag: UInt8 = 1
    static let compressedFlag: UInt8 = 2

    static func length(rank: Int) -> Int { 8 + 4 * rank + 4 + 8 }
    /// Larger tensors are refused (LZ4 blocks are limited to 2 GB; ours are a few KB).
    static let maxElements = 1 << 28

    /// Parses and sanity-checks the header; does not look at the payload.
    public static func parse(_ blob: UnsafeRawBufferPointer) throws -> TensorHeader {
        guard blob.count >= 8 else { throw TensorCodecError.truncated(length: blob.count, needed: 8) }
        guard blob[0] == magic.0, blob[1] == magic.1 else { throw TensorCodecError.badMagic }
        guard blob[2] == formatVersion else { throw TensorCodecError.unsupportedFormat(blob[2]) }
        guard let dtype = TensorDType(rawValue: blob[3]) else { throw TensorCodecError.unknownDType(blob[3]) }
        let flags = blob[4], rank = Int(blob[5])
        guard flags & ~(shuffledFlag | compressedFlag) == 0 else { throw TensorCodecError.badHeader("unknown flags \(flags)") }
        guard (1...4).contains(rank) else { throw TensorCodecError.badHeader("rank \(rank)") }
        let headerLength = length(rank: rank)
        guard blob.count >= headerLength else { throw TensorCodecError.truncated(length: blob.count, needed: headerLength) }
        var shape: [Int] = []
        var elements = 1
        for axis in 0..<rank {
            let size = Int(blob.loadUnaligned(fromByteOffset: 8 + 4 * axis, as: UInt32.self).littleEndian)
            shape.append(size)
            elements = elements.multipliedReportingOverflow(by: size).partialValue
            guard elements <= maxElements else { throw TensorCodecError.badHeader("shape \(shape)... is too large") }
        }
        let payloadLength = Int(blob.loadUnaligned(fromByteOffset: 8 + 4 * rank, as: UInt32.self).littleEndian)
        let checksum = blob.loadUnaligned(fromByteOffset: 12 + 4 * rank, as: UInt64.self).littleEndian
        guard blob.count == headerLength + payloadLength else {
            throw TensorCodecError.truncated(length: blob.count, needed: headerLength + payloadLength)
        }
        let header = TensorHeader(dtype: dtype, shuffled: flags & shuffledFlag != 0, compressed: flags & compressedFlag != 0,
                                  shape: shape, payloadLength: payloadLength, checksum: checksum, headerLength: headerLength)
        if !header.compressed && payloadLength != header.rawPayloadLength {
            throw TensorCodecError.badHeader("payload of \(payloadLength) bytes for \(header.elementCount) \(dtype) values")
        }
        // LZ4 expands at most ~255x (one length byte per 255 bytes of match): a tiny blob claiming a huge shape
        // would otherwise make the decoder allocate up to 2 GB before the checksum is checked (issue 7).
        if header.compressed && header.rawPayloadLength > 256 * payloadLength + 64 {
            throw TensorCodecError.badHeader("\(payloadLength) compressed bytes cannot hold \(header.elementCount) \(dtype) values")
        }
        return header
    }

    /// The checksum a blob must carry: the header up to the checksum field, then the payload.
    static func computeChecksum(_ blob: UnsafeRawBufferPointer, headerLength: Int) -> UInt64 {
        let prefix = UnsafeRawBufferPointer(rebasing: blob[0..<(headerLength - 8)])
        let payload = UnsafeRawBufferPointer(rebasing: blob[headerLength...])
        return Checksum64.hash(payload, seed: Checksum64.hash(prefix, seed: 0))
    }
}

/// How tensors are encoded: element type, byte shuffle, LZ4 on or off (off only for benchmarks' baselines).
public struct TensorCodec: Sendable, Hashable {
    public var dtype: TensorDType
    public var shuffle: Bool
    public var compress: Bool

    public init(dtype: TensorDType, shuffle: Bool = true, compress: Bool = true) {
        self.dtype = dtype
        self.shuffle = shuffle
        self.compress = compress
    }
}

/// Encodes tensors with reusable scratch buffers; the returned blob is valid until the next `encode`.
public final class TensorEncoder {
    public let codec: TensorCodec
    private var raw: UnsafeMutableRawPointer
    private var rawCapacity: Int
    private var blob: UnsafeMutableRawPointer
    private var blobCapacity: Int

    public init(_ codec: TensorCodec) {
        self.codec = codec
        rawCapacity = 0
        blobCapacity = 0
        raw = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
        blob = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
    }

    deinit {
        raw.deallocate()
        blob.deallocate()
    }

    private func reserve(raw rawBytes: Int, blob blobBytes: Int) {
        if rawBytes > rawCapacity {
            raw.deallocate()
            rawCapacity = rawBytes
            raw = UnsafeMutableRawPointer.allocate(byteCount: rawBytes, alignment: 16)
        }
        if blobBytes > blobCapacity {
            blob.deallocate()
            blobCapacity = blobBytes
            blob = UnsafeMutableRawPointer.allocate(byteCount: blobBytes, alignment: 16)
        }
    }

    /// Encodes `values` (row-major, `shape.reduce(1,*)` of them). Throws `f16Overflow` when an F16 store is
    /// given a finite value it cannot represent, rather than silently storing infinity.
    public func encode(_ values: UnsafeBufferPointer<Float>, shape: [Int]) throws -> UnsafeRawBufferPointer {
        let count = values.count
        precondition(shape.reduce(1, *) == count && (1...4).contains(shape.count), "shape does not match the values")
        let dtype = codec.dtype
        let rawBytes = count * dtype.size
        let headerLength = TensorHeader.length(rank: shape.count)
        let bound = codec.compress ? Int(LZ4_compressBound(Int32(rawBytes))) : rawBytes
        reserve(raw: rawBytes, blob: headerLength + max(bound, rawBytes))

        // 1. Convert (and shuffle) into `raw`, or straight into the blob when nothing follows.
        let direct = !codec.compress
        let target = direct ? blob + headerLength : raw
        if let overflow = ElementConversion.store(values, as: dtype, shuffled: codec.shuffle, into: target) {
            throw TensorCodecError.f16Overflow(index: overflow, value: values[overflow])
        }

        // 2. Compress. LZ4 output is kept only when it saves at least 1/16 of the bytes: below that, reading
        //    pays a decompression (and an unshuffle) for almost nothing, so the plain little-endian values are
        //    stored instead, which decode with a copy (F32) or a table lookup (F16).
        var payloadLength = rawBytes
        var compressed = false
        var shuffled = codec.shuffle
        if codec.compress {
            let written = Int(LZ4_compress_default(raw.assumingMemoryBound(to: CChar.self),
                                                   (blob + headerLength).assumingMemoryBound(to: CChar.self),
                                                   Int32(rawBytes), Int32(bound)))
            if written > 0 && written <= rawBytes - rawBytes / 16 {
                payloadLength = written
                compressed = true
            } else {
                shuffled = false
                _ = ElementConversion.store(values, as: dtype, shuffled: false, into: blob + headerLength)
            }
        }

        // 3. Header and checksum.
        blob.storeBytes(of: TensorHeader.magic.0, toByteOffset: 0, as: UInt8.self)
        blob.storeBytes(of: TensorHeader.magic.1, toByteOffset: 1, as: UInt8.self)
        blob.storeBytes(of: TensorHeader.formatVersion, toByteOffset: 2, as: UInt8.self)
        blob.storeBytes(of: dtype.rawValue, toByteOffset: 3, as: UInt8.self)
        let flags = (shuffled ? TensorHeader.shuffledFlag : 0) | (compressed ? TensorHeader.compressedFlag : 0)
        blob.storeBytes(of: flags, toByteOffset: 4, as: UInt8.self)
        blob.storeBytes(of: UInt8(shape.count), toByteOffset: 5, as: UInt8.self)
        blob.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
        for (axis, size) in shape.enumerated() {
            blob.storeBytes(of: UInt32(size).littleEndian, toByteOffset: 8 + 4 * axis, as: UInt32.self)
        }
        blob.storeBytes(of: UInt32(payloadLength).littleEndian, toByteOffset: 8 + 4 * shape.count, as: UInt32.self)
        let result = UnsafeRawBufferPointer(start: blob, count: headerLength + payloadLength)
        let checksum = TensorHeader.computeChecksum(result, headerLength: headerLength)
        blob.storeBytes(of: checksum.littleEndian, toByteOffset: 12 + 4 * shape.count, as: UInt64.self)
        return result
    }

    /// Convenience for tests and small callers: encodes into a fresh byte array.
    public func encode(_ values: [Float], shape: [Int]) throws -> [UInt8] {
        try values.withUnsafeBufferPointer { Array(try encode($0, shape: shape)) }
    }
}

/// Decodes blobs. Stateless apart from a scratch buffer, so use one decoder per thread.
public final class TensorDecoder {
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity: Int

    public init() {
        scratchCapacity = 0
        scratch = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// Checks `blob` and decodes it into `output` (which must hold exactly the tensor's element count).
    /// `expectedShape`, when given, must equal the blob's shape.
    public func decode(_ blob: UnsafeRawBufferPointer, expectedShape: [Int]?, into output: UnsafeMutableBufferPointer<Float>) throws {
        let header = try TensorHeader.parse(blob)
        if let expectedShape, expectedShape != header.shape {
            throw TensorCodecError.shapeMismatch(expected: expectedShape, found: header.shape)
        }
        guard output.count == header.elementCount else {
            throw TensorCodecError.shapeMismatch(expected: [output.count], found: header.shape)
        }
        let computed = TensorHeader.computeChecksum(blob, headerLength: header.headerLength)
        guard computed == header.checksum else {
            throw TensorCodecError.checksumMismatch(stored: header.checksum, computed: computed)
        }
        guard let base = blob.baseAddress else { throw TensorCodecError.truncated(length: 0, needed: 8) }
        let payload = base + header.headerLength
        let rawBytes = header.rawPayloadLength
        var source = payload
        if header.compressed {
            if rawBytes > scratchCapacity {
                scratch.deallocate()
                scratchCapacity = rawBytes
                scratch = UnsafeMutableRawPointer.allocate(byteCount: rawBytes, alignment: 16)
            }
            let got = Int(LZ4_decompress_safe(payload.assumingMemoryBound(to: CChar.self),
                                              scratch.assumingMemoryBound(to: CChar.self),
                                              Int32(header.payloadLength), Int32(rawBytes)))
            guard got == rawBytes else { throw TensorCodecError.decompressionFailed(expectedBytes: rawBytes, got: got) }
            source = UnsafeRawPointer(scratch)
        }
        guard let destination = output.baseAddress else { return }  // an empty tensor
        ElementConversion.load(source, as: header.dtype, shuffled: header.shuffled, count: header.elementCount,
                               into: destination)
    }

    /// Convenience for tests: decodes a blob into a new array.
    public func decode(_ blob: [UInt8], expectedShape: [Int]? = nil) throws -> [Float] {
        try blob.withUnsafeBytes { bytes in
            let header = try TensorHeader.parse(bytes)
            let computed = TensorHeader.computeChecksum(bytes, headerLength: header.headerLength)
            guard computed == header.checksum else {
                throw TensorCodecError.checksumMismatch(stored: header.checksum, computed: computed)
            }
            var values = [Float](repeating: 0, count: header.elementCount)
            try values.withUnsafeMutableBufferPointer { try decode(bytes, expectedShape: expectedShape, into: $0) }
            return values
        }
    }
}
