import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// A token's outputs do not depend, to the last bit, on the other tokens of its batch: a sharded extract (other
/// batches) must store exactly what a whole one stores, or its classification scores can flip (SPEC.md §2).
struct BatchInvarianceTests {
    /// Rows of `x · Wᵀ` computed in calls of different row counts and at different places equal the same rows
    /// computed in one call, for weights up to `LinearTiling.rowwiseLimit` values (routers, shared-expert gates,
    /// tiny models: `ck_sgemm_rowwise`), float32 and widened from BF16. (Larger weights on sgemm are not
    /// row-invariant, as measured with OpenBLAS 0.3.21: rows of a 1040 x 1024 product change in the last bits with
    /// the call's row count; the packed kernels take those, below.)
    @Test(arguments: [(64, 2048, TensorDType.f32), (1, 2048, .f32), (48, 64, .f32), (64, 2048, .bf16), (488, 2048, .bf16),
                      (7, 33, .f32)])
    func rowsDoNotDependOnTheirBatch(_ shape: (rows: Int, cols: Int, dtype: TensorDType)) {
        Self.checkRows(rows: shape.rows, cols: shape.cols, dtype: shape.dtype, packing: nil)
    }

    /// The same for large weights on the packed kernels (F32 on AVX-512F or AVX2/FMA, also on BF16 weights widened in
    /// registers; BF16 on AVX-512 BF16), which take the
    /// projections sgemm would not multiply row-invariantly.
    @Test(.enabled(if: F32Kernel.supported, "this CPU has neither AVX-512F nor AVX2/FMA: the F32 kernel is not used here"))
    func f32KernelRowsDoNotDependOnTheirBatch() {
        Self.checkRows(rows: 1040, cols: 1024, dtype: .f32, packing: .f32)
        Self.checkRows(rows: 50, cols: 67, dtype: .f32, packing: .f32)
        Self.checkRows(rows: 1040, cols: 1024, dtype: .bf16, packing: .bf16Widened)
        Self.checkRows(rows: 50, cols: 67, dtype: .bf16, packing: .bf16Widened)
    }

    @Test(.enabled(if: BF16Kernel.supported, "this CPU has no AVX-512 BF16: the BF16 kernel is not used here"))
    func bf16KernelRowsDoNotDependOnTheirBatch() {
        Self.checkRows(rows: 1040, cols: 1024, dtype: .bf16, packing: .bf16)
        Self.checkRows(rows: 50, cols: 67, dtype: .f32, packing: .bf16)
    }

    static func checkRows(rows: Int, cols: Int, dtype: TensorDType, packing: PackedMatrix.Element?) {
        var generator = SplitMix(seed: UInt64(rows * 7 + cols))
        let batch = 37
        let x = (0..<(batch * cols)).map { _ in generator.nextFloat() }
        let values = (0..<(rows * cols)).map { _ in generator.nextFloat() * 0.05 }
        let storage = FloatBuffer(count: rows * cols)
        if dtype == .bf16 {
            let half = UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self)
            ck_f32_to_bf16(values, half, values.count)
        } else {
            storage.pointer.update(from: values, count: values.count)
        }
        let plain = WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: UnsafeRawPointer(storage.pointer), owner: storage)
        let weight = packing.map { plain.packedForKernel($0, scratch: FloatBuffer(count: 1)) } ?? plain
        expectRowsIndependentOfBatch(weight, x: x, batch: batch,
                                     label: "\(rows)x\(cols) \(dtype) \(packing.map { "packed \($0)" } ?? "unpacked")")
    }

    /// Rows of `x (batch, weight.cols) · weightᵀ` computed in calls of other row counts and places equal the same
    /// rows of one call over the whole batch (`batch` >= 37).
    static func expectRowsIndependentOfBatch(_ weight: WeightMatrix, x: [Float], batch: Int, label: String) {
        let rows = weight.rows, cols = weight.cols
        func product(_ first: Int, _ count: Int) -> [Float] {
            let y = FloatBuffer(count: count * rows)
            x.withUnsafeBufferPointer { xs in
                guard let base = xs.baseAddress else { return }
                linear(base + first * cols, ldx: cols, rows: count, weight: weight, into: y.pointer, ldy: rows, scratch: FloatBuffer(count: 1))
            }
            return Array(UnsafeBufferPointer(start: y.pointer, count: count * rows))
        }
        let whole = product(0, batch)
        for (first, count) in [(0, 1), (5, 1), (36, 1), (3, 7), (10, 20), (1, 36)] {
            let part = product(first, count)
            #expect(part == Array(whole[(first * rows)..<((first + count) * rows)]),
                    "\(label): rows \(first)..<\(first + count) differ from the same rows in a batch of \(batch)")
        }
    }

    /// The demo model (committed, no ../shared needed): each text alone gives bit for bit the pooled vectors it gets
    /// inside batches of other texts.
    @Test func demoModelVectorsAreBitIdenticalAloneAndBatched() throws {
        try Self.checkAloneAndBatched(SharedData.repository("demo/model"), name: "demo")
    }

    @Test(arguments: Fixtures.names)
    func fixtureVectorsAreBitIdenticalAloneAndBatched(_ name: String) throws {
        try Self.checkAloneAndBatched(Fixtures.url(name), name: name)
    }

    static func checkAloneAndBatched(_ directory: URL, name: String) throws {
        let model = try MoEModel.load(directory: directory)
        let texts: [[Int]] = [[71, 19, 93, 56, 48, 52, 58, 11, 32, 59, 61, 96], [99, 45, 94, 87, 13, 94, 85], [20],
                              Array(5...28), [1, 2, 3]]
        let batched = try model.pooledEmbeddings(sequences: texts, tokenBudget: 30)
        let reversed = try model.pooledEmbeddings(sequences: texts.reversed(), tokenBudget: 1000)
        for (i, text) in texts.enumerated() {
            let alone = try model.pooledEmbeddings(sequences: [text], tokenBudget: 1000)[0]
            for (other, label) in [(batched[i], "budget 30"), (reversed[texts.count - 1 - i], "reversed, one batch")] {
                #expect(other.lastToken.hiddenStates == alone.lastToken.hiddenStates, "\(name) text \(i) \(label): last-token hidden states")
                #expect(other.lastToken.routerLogits == alone.lastToken.routerLogits, "\(name) text \(i) \(label): last-token router logits")
                #expect(other.mean.hiddenStates == alone.mean.hiddenStates, "\(name) text \(i) \(label): mean hidden states")
                #expect(other.mean.routerLogits == alone.mean.routerLogits, "\(name) text \(i) \(label): mean router logits")
            }
        }
    }
}
