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
    /// The panel kernel quantized weights are multiplied on (each panel dequantized just before it reads it); nil:
    /// dequantized a tile at a time for sgemm.
    let quantizedKernel: QuantizedMatrix.Kernel?
    /// Set for MXFP4 weights used in place (gpt-oss experts as the hub ships them): decoded a tile at a time, like
    /// quantized ones, never packed; `base` is then the codes and `dtype` U8.
    let mxfp4: MXFP4Rows?

    init(rows: Int, cols: Int, dtype: TensorDType, base: UnsafeRawPointer, owner: AnyObject,
         quantized: QuantizedMatrix? = nil, packed: PackedMatrix? = nil, quantizedKernel: QuantizedMatrix.Kernel? = nil,
         mxfp4: MXFP4Rows? = nil) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.base = base
        self.owner = owner
        self.quantized = quantized
        self.packed = packed
        self.quantizedKernel = quantized != nil ? quantizedKernel : nil
        self.mxfp4 = mxfp4
    }

    /// MXFP4 rows of a mapped file, as a (rows, cols) matrix (`MXFP4Rows`).
    init(rows: Int, cols: Int, mxfp4: MXFP4Rows, owner: AnyObject) {
        self.init(rows: rows, cols: cols, dtype: .u8, base: UnsafeRawPointer(mxfp4.codes), owner: owner, mxfp4: mxfp4)
    }

    /// This matrix as a product of the BF16 or F32 kernel, when it runs there (packed, or quantized on a kernel).
    func kernelProduct(y: UnsafeMutablePointer<Float>, ldy: Int) -> PackedMatrix.Product? {
        if let packed { return .init(matrix: packed, y: y, ldy: ldy) }
        if let quantizedKernel, let quantized { return .init(quantized: quantized, on: quantizedKernel, y: y, ldy: ldy) }
        return nil
    }

    /// Bytes the forward pass reads: the checkpoint tensor, or the quantized codes and scales replacing it.
    public var byteCount: Int {
        packed?.byteCount ?? quantized?.byteCount ?? mxfp4.map { _ in rows * MXFP4Rows.bytesPerRow(cols: cols) } ?? rows * cols * dtype.byteSize
    }

    /// The mapped checkpoint bytes this matrix reads in place, which quantizing or packing may release; 0 for MXFP4
    /// views (their rows interleave with another matrix's: gate and up).
    var releasableByteCount: Int { mxfp4 == nil ? rows * cols * dtype.byteSize : 0 }

    /// Float32 data usable by BLAS directly (aligned for Float).
    var directFloats: UnsafePointer<Float>? {
        guard quantized == nil, packed == nil, dtype == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return base.assumingMemoryBound(to: Float.self)
    }

    /// Widens (or dequantizes) rows `start..<start+count` into `destination` (count * cols floats).
    func widenRows(_ start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        if let quantized {
            quantized.dequantize(rows: start, count: count, into: destination)
        } else if let mxfp4 {
            mxfp4.decode(rows: start, count: count, cols: cols, into: destination)
        } else {
            DTypeConversion.widen(base + start * cols * dtype.byteSize, dtype: dtype, into: destination, count: count * cols)
        }
    }

    /// Rows `start..<start+count` of a matrix as it is in the checkpoint (a view: stacked experts' gate and up halves).
    func rows(_ start: Int, count: Int) -> WeightMatrix {
        precondition(quantized == nil && packed == nil && mxfp4 == nil && start >= 0 && start + count <= rows, "a view of checkpoint rows")
        return WeightMatrix(rows: count, cols: cols, dtype: dtype, base: base + start * cols * dtype.byteSize, owner: owner)
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
        floatProduct(x, ldx: ldx, rows: n, weights: w, weightRows: weight.rows, cols: weight.cols, into: y, ldy: ldy)
        return
    }
    // The tiling depends on the weight's shape alone (not on the scratch's current size, which other callers
    // grow), so a weight row is always multiplied in the same tile by the same kernel, whatever the batch.
    let tileRows = LinearTiling.rows(cols: weight.cols, of: weight.rows)
    scratch.reserve(tileRows * weight.cols)
    var start = 0
    while start < weight.rows {
        let count = min(tileRows, weight.rows - start)
        widenInParallel(weight, rows: start, count: count, into: scratch.pointer)
        floatProduct(x, ldx: ldx, rows: n, weights: scratch.pointer, weightRows: count, cols: weight.cols, into: y + start, ldy: ldy)
        start += count
    }
}

/// How float32 weights are widened (or dequantized) for sgemm: tiles of whole rows, at most 16 MiB unless 16
/// rows need more (`RunState` sizes its tile buffer with the same rule).
enum LinearTiling {
    static let floats = 1 << 22
    static let minimumRows = 16

    static func rows(cols: Int, of total: Int) -> Int { max(1, min(total, max(minimumRows, floats / max(1, cols)))) }

    /// Products whose weights hold at most this many values never go to sgemm (`floatProduct`).
    static let rowwiseLimit = 1_000_000
}

/// `y (n, weightRows) = x (n, cols) · Wᵀ` for float32 W: sgemm, except for weights of at most
/// `LinearTiling.rowwiseLimit` values (routers, shared-expert gates, every weight of a tiny model), which go to
/// `ck_sgemm_rowwise`: sgemm's rounding of a row depends on n and on the row's place in the call, the rowwise
/// kernel's does not, so a token's router logits never depend on the other tokens of its batch and a sharded extract
/// of a small model stores exactly what a whole one stores. The choice depends on the weight's shape only, never on n.
private func floatProduct(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int, weights w: UnsafePointer<Float>, weightRows: Int,
                          cols: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
    guard weightRows * cols <= LinearTiling.rowwiseLimit else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(weightRows), Int32(cols),
                    1, x, Int32(ldx), w, Int32(cols), 0, y, Int32(ldy))
        return
    }
    forEachRowChunk(n, parallel: n * weightRows * cols >= 1 << 20) { first, count in
        ck_sgemm_rowwise(x + first * ldx, ldx, count, cols, w, weightRows, y + first * ldy, ldy)
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
    forEachRowChunk(count, parallel: count * weight.cols >= 1 << 16) { first, rows in
        weight.widenRows(start + first, count: rows, into: destination + first * weight.cols)
    }
}

/// `body(first, count)` over `rows` rows: one contiguous chunk per core when `parallel` (and there are several
/// cores and rows), else once for all of them. Each row is in exactly one chunk.
private func forEachRowChunk(_ rows: Int, parallel: Bool, _ body: (_ first: Int, _ count: Int) -> Void) {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, rows)
    guard parallel, workers > 1 else {
        if rows > 0 { body(0, rows) }
        return
    }
    struct Body: @unchecked Sendable { let call: (Int, Int) -> Void }  // runs only inside concurrentPerform
    let chunk = (rows + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        let task = Body(call: body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let first = worker * chunk, count = min(chunk, rows - first)
            if count > 0 { task.call(first, count) }
        }
    }
}

/// OpenBLAS worker threads (one per core by default).
public enum BLASThreads {
    public static func set(_ count: Int = ProcessInfo.processInfo.activeProcessorCount) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
