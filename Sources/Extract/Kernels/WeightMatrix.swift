import CBLAS
import Foundation

/// A weight matrix in the nn.Linear layout `(out = rows, in = cols)`, stored as the checkpoint holds it:
/// float32 used in place, or F16/BF16 widened one tile of rows at a time when multiplied, so a model is never
/// materialised in float32. A quantised storage type would be one more case in `DTypeConversion` plus this file.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: TensorDType
    let base: UnsafeRawPointer
    /// Keeps the memory mapping (or an owned copy) alive.
    let owner: AnyObject

    public var byteCount: Int { rows * cols * dtype.byteSize }

    /// Float32 data usable by BLAS directly (aligned for Float).
    var directFloats: UnsafePointer<Float>? {
        guard dtype == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return base.assumingMemoryBound(to: Float.self)
    }

    /// Widens row `row` into `destination` (cols floats): embedding lookup.
    func widenRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        DTypeConversion.widen(base + row * cols * dtype.byteSize, dtype: dtype, into: destination, count: cols)
    }
}

/// `y (n, out) = x (n, in) · Wᵀ`, the one matmul of the forward pass.
///
/// `ldx`/`ldy` are the row strides of x and y (to read or write a column slice of a wider buffer).
/// `scratch` receives converted tiles of non-float32 weights (grown to one row if smaller).
func linear(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int, weight: WeightMatrix,
            into y: UnsafeMutablePointer<Float>, ldy: Int, scratch: FloatBuffer) {
    guard n > 0, weight.rows > 0 else { return }
    if let w = weight.directFloats {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(weight.rows), Int32(weight.cols),
                    1, x, Int32(ldx), w, Int32(weight.cols), 0, y, Int32(ldy))
        return
    }
    scratch.reserve(weight.cols)  // run states size it for every matrix; this only guards a new caller
    let tileRows = max(1, min(weight.rows, scratch.count / weight.cols))
    var start = 0
    while start < weight.rows {
        let count = min(tileRows, weight.rows - start)
        DTypeConversion.widen(weight.base + start * weight.cols * weight.dtype.byteSize, dtype: weight.dtype,
                              into: scratch.pointer, count: count * weight.cols)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(weight.cols),
                    1, x, Int32(ldx), scratch.pointer, Int32(weight.cols), 0, y + start, Int32(ldy))
        start += count
    }
}

/// OpenBLAS worker threads (one per core by default).
public enum BLASThreads {
    public static func set(_ count: Int = ProcessInfo.processInfo.activeProcessorCount) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
