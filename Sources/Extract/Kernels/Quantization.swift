import CKernels
import Foundation

/// Weight quantization applied at load: symmetric per-group int8 or 4-bit (`q4`), groups of 32 weights along a
/// row sharing one BF16 scale (see `Sources/CKernels/quantize.c`). Resident bytes per weight: 1.0625 (int8),
/// 0.5625 (q4), against 2 for BF16. The format applies to the MLPs; attention gets `attentionFormat`.
public enum Quantization: String, Sendable, Codable, CaseIterable {
    case none, int8, q4

    /// The format of the attention projections under this one: a step more precise (int8 under q4, unquantized
    /// under int8), as llama.cpp's mixes keep some tensors at higher precision (see `ModelWeights.quantized`).
    public var attentionFormat: Quantization { self == .q4 ? .int8 : .none }
}

/// The quantized codes and scales of one (rows, cols) matrix, in owned memory.
final class QuantizedMatrix: @unchecked Sendable {
    let format: Quantization
    let rows: Int
    let cols: Int
    let groups: Int
    let codeBytesPerRow: Int
    let codes: UnsafeMutableRawPointer
    let scales: UnsafeMutablePointer<UInt16>

    var byteCount: Int { rows * (codeBytesPerRow + groups * 2) }

    /// Quantizes `source` row tile by row tile (widened to float32 in `scratch`, never whole).
    init(quantizing source: WeightMatrix, format: Quantization, scratch: FloatBuffer) {
        precondition(format != .none, "QuantizedMatrix needs int8 or q4")
        self.format = format
        rows = source.rows
        cols = source.cols
        let group = Int(CK_GROUP)
        groups = (cols + group - 1) / group
        codeBytesPerRow = format == .int8 ? groups * group : groups * group / 2
        codes = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * codeBytesPerRow), alignment: 64)
        scales = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, rows * groups))
        let tileRows = max(1, min(rows, (1 << 20) / max(1, cols)))
        scratch.reserve(tileRows * cols)
        var start = 0
        while start < rows {
            let count = min(tileRows, rows - start)
            source.widenRows(start, count: count, into: scratch.pointer)
            for r in start..<(start + count) {
                let row = scratch.pointer + (r - start) * cols
                let code = codes + r * codeBytesPerRow, scale = scales + r * groups
                if format == .int8 {
                    ck_quantize_row_q8(row, cols, code.assumingMemoryBound(to: Int8.self), scale)
                } else {
                    ck_quantize_row_q4(row, cols, code.assumingMemoryBound(to: UInt8.self), scale)
                }
            }
            start += count
        }
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
    }

    func dequantize(rows start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let code = codes + start * codeBytesPerRow, scale = scales + start * groups
        if format == .int8 {
            ck_dequantize_rows_q8(code.assumingMemoryBound(to: Int8.self), scale, count, cols, destination)
        } else {
            ck_dequantize_rows_q4(code.assumingMemoryBound(to: UInt8.self), scale, count, cols, destination)
        }
    }
}

extension WeightMatrix {
    /// This matrix quantized; the memory-mapped pages of the original are released (`MADV_DONTNEED`: the quantized
    /// copy replaces them, and the kernel rereads them from the file only if something touches them again).
    func quantized(_ format: Quantization, scratch: FloatBuffer) -> WeightMatrix {
        guard format != .none, quantized == nil else { return self }
        let matrix = QuantizedMatrix(quantizing: self, format: format, scratch: scratch)
        if owner is SafetensorsFile || owner is MappedFile { releasePages(base, byteCount: rows * cols * dtype.byteSize) }
        return WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: base, owner: owner, quantized: matrix)
    }
}

/// Drops the resident pages wholly inside `[base, base + byteCount)` of a read-only file mapping.
func releasePages(_ base: UnsafeRawPointer, byteCount: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let first = (Int(bitPattern: base) + page - 1) / page * page
    let last = (Int(bitPattern: base) + byteCount) / page * page
    guard last > first, let start = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(start, last - first, Int32(MADV_DONTNEED))
}
