import CKernels
import Foundation

/// The one table of dtype conversions: every widening to float32 (and narrowing for writers and tests) goes here,
/// so a new storage type (int8, q4) is added in one place.
public enum DTypeConversion {
    /// Widens `count` elements of `dtype` at `source` (any alignment) into `destination`.
    public static func widen(_ source: UnsafeRawPointer, dtype: TensorDType, into destination: UnsafeMutablePointer<Float>, count: Int) {
        switch dtype {
        case .f32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16: ck_bf16_to_f32(source.assumingMemoryBound(to: UInt16.self), destination, count)
        case .f16: ck_f16_to_f32(source.assumingMemoryBound(to: UInt16.self), destination, count)
        case .f64: for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        case .i64: for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
        case .i32: for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
        case .i16: for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)) }
        case .i8: for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i, as: Int8.self)) }
        case .u8, .bool: for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i, as: UInt8.self)) }
        }
    }

    /// A whole tensor widened to float32.
    public static func floats(from raw: UnsafeRawBufferPointer, dtype: TensorDType, tensor: String) throws -> [Float] {
        let count = raw.count / dtype.byteSize
        guard count > 0, let base = raw.baseAddress else { return [] }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let destination = buffer.baseAddress { widen(base, dtype: dtype, into: destination, count: count) }
            initialized = count
        }
    }

    /// Float32 values narrowed to `dtype` (F32, F16 or BF16) as little-endian bytes, for writing safetensors.
    public static func bytes(of values: [Float], as dtype: TensorDType) -> Data {
        switch dtype {
        case .bf16, .f16:
            var halves = [UInt16](repeating: 0, count: values.count)
            values.withUnsafeBufferPointer { source in
                halves.withUnsafeMutableBufferPointer { target in
                    guard let s = source.baseAddress, let t = target.baseAddress else { return }
                    if dtype == .bf16 { ck_f32_to_bf16(s, t, values.count) } else { ck_f32_to_f16(s, t, values.count) }
                }
            }
            return halves.withUnsafeBytes { Data($0) }
        default:
            return values.withUnsafeBytes { Data($0) }
        }
    }
}
