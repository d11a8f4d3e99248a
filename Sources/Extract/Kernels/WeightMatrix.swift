import CBLAS
import CKernels
import Foundation

/// A weight matrix in the nn.Linear layout `(out = rows, in = cols)`, stored as the checkpoint holds it:
/// float32 used in place, or F16/BF16 widened one tile of rows at a time when multiplied, so a model is never
/// materialised in float32. Quantized weights (`QuantizedMatrix`) are dequantized the same way, one tile at a time.
/// Weights packed for the BF16 or F32 kernel (`PackedMatrix`) are multiplied by it instead.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: TensorDType
    let base: UnsafeRawPointer
    /// Keeps the memory mapping (or an owned copy) alive.
    let owner: AnyObject
    /// Set when the weights were quantized at load; `base`/`dtype` then describe the original (no longer read).
    let quantized: QuantizedMatrix?
    /// Set when the weights were packed for the BF16 or F32 kernel at load; `base`/`dtype` then describe the original.
    let packed: PackedMatrix?
    /// Quantized weights multiplied on the BF16 kernel (each run of panels dequantized just before), not sgemm.
    let quantizedOnBF16Kernel: Bool

    init(rows: Int, cols: Int, dtype: TensorDType, base: UnsafeRawPointer, owner: AnyObject,
         quantized: QuantizedMatrix? = nil, packed: PackedMatrix? = nil, quantizedOnBF16Kernel: Bool = false) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.base = base
        self.owner = owner
        self.quantized = quantized
        self.packed = packed
        self.quantizedOnBF16Kernel = quantizedOnBF16Kernel && quantized != nil
    }

    /// This matrix as a product of the BF16 or F32 kernel, when it runs there (packed, or quantized on the BF16
    /// kernel).
    func kernelProduct(y: UnsafeMutablePointer<Float>, ldy: Int) -> PackedMatrix.Product? {
        if let packed { return .init(matrix: packed, y: y, ldy: ldy) }
        if quantizedOnBF16Kernel, let quantized { return .init(quantized: quantized, y: y, ldy: ldy) }
        return nil
    }

    /// Bytes the forward pass reads: the checkpoint tensor, or the quantized codes and scales replacing it.
    public var byteCount: Int { packed?.byteCount ?? quantized?.byteCount ?? rows * cols * dtype.byteSize }

    /// Float32 data usable by BLAS directly (aligned for Float).
    var directFloats: UnsafePointer<Float>? {
        guard quantized == nil, packed == nil, dtype == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return base.assumingMemoryBound(to: Float.self)
    }

    /// Widens (or dequantizes) rows `start..<start+count` into `destination` (count * cols floats).
    func widenRows(_ start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        if let quantized {
            quantized.dequantize(rows: start, count: count, into: destination)
        } else {
            DTypeConversion.widen(base + start * cols * dtype.byteSize, dtype: dtype, into: destination, count: count * cols)
        }
    }

    /// Widens row `row` into `destination` (cols floats): embedding lookup.
    func widenRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        widenRows(row, count: 1, into: destination)
    }
}

/// `y (n, out) = x (n, in) · Wᵀ`, the one matmul of the forward pass.
///
/// `ldx`/`ldy` are the row strides of x and y (to read or write a column slice of a wider buffer).
/// `scratch` receives converted tiles of non-float32 weights (grown to one row if smaller), or x rounded to BF16
/// for the BF16 kernel (the F32 kernel reads x in place).
func linear(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int, weight: WeightMatrix,
            into y: UnsafeMutablePointer<Float>, ldy: Int, scratch: FloatBuffer) {
    guard n > 0, weight.rows > 0 else { return }
    if let product = weight.kernelProduct(y: y, ldy: ldy) {
        PackedMatrix.multiply(x, ldx: ldx, rows: n, products: [product], scratch: scratch)
        return
    }
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
        widenInParallel(weight, rows: start, count: count, into: scratch.pointer)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(count), Int32(weight.cols),
                    1, x, Int32(ldx), scratch.pointer, Int32(weight.cols), 0, y + start, Int32(ldy))
        start += count
    }
}

/// `outputs[j].y = x · outputs[j].weightᵀ` for weights of the same input width (q/k/v, gate/up): one pass of the
/// BF16 or F32 kernel when every weight runs on one (packed, or quantized on the BF16 kernel: x rounded once for
/// the BF16 kernel, the cores shared across all outputs), else one `linear` each.
func linear(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int,
            outputs: [(weight: WeightMatrix, y: UnsafeMutablePointer<Float>, ldy: Int)], scratch: FloatBuffer) {
    guard n > 0 else { return }
    let packed = outputs.compactMap { $0.weight.kernelProduct(y: $0.y, ldy: $0.ldy) }
    if packed.count == outputs.count {
        PackedMatrix.multiply(x, ldx: ldx, rows: n, products: packed, scratch: scratch)
    } else {
        for output in outputs { linear(x, ldx: ldx, rows: n, weight: output.weight, into: output.y, ldy: output.ldy, scratch: scratch) }
    }
}

/// Widens (or dequantizes) a tile on every core: this runs between sgemm calls, while OpenBLAS's threads wait.
private func widenInParallel(_ weight: WeightMatrix, rows start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, count)
    guard workers > 1, count * weight.cols >= 1 << 16 else {
        weight.widenRows(start, count: count, into: destination)
        return
    }
    struct Target: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }
    let target = Target(pointer: destination)
    let chunk = (count + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let first = w * chunk, rows = min(chunk, count - first)
        guard rows > 0 else { return }
        weight.widenRows(start + first, count: rows, into: target.pointer + first * weight.cols)
    }
}

/// OpenBLAS worker threads (one per core by default).
public enum BLASThreads {
    public static func set(_ count: Int = ProcessInfo.processInfo.activeProcessorCount) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
