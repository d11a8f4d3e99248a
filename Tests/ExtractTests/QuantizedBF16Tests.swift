import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// Quantized weights on the BF16 kernel: each run of panels dequantized straight into the packed layout
/// (`ck_bf16_pack_panel_q8` / `_q4`) just before the microkernel reads it.
@Suite(.enabled(if: BF16Kernel.supported, "this CPU has no AVX-512 BF16: the BF16 kernel is not used here"))
struct QuantizedBF16Tests {
    /// The panels are bit for bit the packing of the float32-dequantized rows: odd k (the pair pad), k not a
    /// multiple of 32 or of the group (masked tail), rows not a multiple of 16 (zero rows), one row, one column.
    @Test(arguments: [(21, 37), (16, 64), (5, 95), (33, 130), (1, 1), (17, 2), (40, 257), (3, 1024)])
    func panelsMatchPackingTheDequantizedRows(_ shape: (rows: Int, cols: Int)) throws {
        let (rows, cols) = shape
        for format in [Quantization.int8, .q4] {
            let matrix = KernelCheck.quantizedMatrix(rows: rows, cols: cols, format: format, seed: UInt64(rows * 1000 + cols))
            let q = try #require(matrix.quantized)
            let panelElements = (cols + 1) / 2 * 2 * Int(CK_BF16_PANEL)
            var floats = [Float](repeating: 0, count: Int(CK_BF16_PANEL) * cols)
            for p in 0..<((rows + 15) / 16) {
                let first = p * 16, valid = min(16, rows - first)
                var expected = [UInt16](repeating: 0xffff, count: panelElements), actual = [UInt16](repeating: 0xffff, count: panelElements)
                floats.withUnsafeMutableBufferPointer { q.dequantize(rows: first, count: valid, into: $0.baseAddress!) }
                ck_bf16_pack_panel(floats, valid, cols, &expected)
                actual.withUnsafeMutableBufferPointer { q.packPanel(p, into: $0.baseAddress!) }
                #expect(actual == expected, "\(format.rawValue) \(rows)x\(cols) panel \(p)")
            }
        }
    }

    /// `linear` on quantized weights (on the kernel) gives exactly what the kernel gives on the dequantized weights
    /// packed at load, fused (gate/up-style) or not, over several runs of panels shared by the cores.
    @Test func linearMatchesTheKernelOnDequantizedWeights() throws {
        let m = 70, k = 300, rowCounts = [100, 17]
        var generator = SplitMix(seed: 12)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        for format in [Quantization.int8, .q4] {
            var quantized: [WeightMatrix] = [], packed: [WeightMatrix] = []
            for (j, rows) in rowCounts.enumerated() {
                let matrix = KernelCheck.quantizedMatrix(rows: rows, cols: k, format: format, seed: UInt64(j + 20))
                let q = try #require(matrix.quantized)
                quantized.append(WeightMatrix(rows: rows, cols: k, dtype: .f32, base: matrix.base, owner: matrix.owner,
                                              quantized: q, quantizedKernel: .bf16))
                let floats = FloatBuffer(count: rows * k)
                q.dequantize(rows: 0, count: rows, into: floats.pointer)
                packed.append(WeightMatrix(rows: rows, cols: k, dtype: .f32, base: UnsafeRawPointer(floats.pointer), owner: floats)
                    .packedBF16(scratch: FloatBuffer(count: 1)))
            }
            let fromCodes = rowCounts.map { FloatBuffer(count: m * $0) }, fromPacked = rowCounts.map { FloatBuffer(count: m * $0) }
            let single = FloatBuffer(count: m * rowCounts[0])
            x.withUnsafeBufferPointer { xs in
                guard let base = xs.baseAddress else { return }
                linear(base, ldx: k, rows: m, outputs: (0..<2).map { (weight: quantized[$0], y: fromCodes[$0].pointer, ldy: rowCounts[$0]) },
                       scratch: FloatBuffer(count: 1))
                linear(base, ldx: k, rows: m, outputs: (0..<2).map { (weight: packed[$0], y: fromPacked[$0].pointer, ldy: rowCounts[$0]) },
                       scratch: FloatBuffer(count: 1))
                linear(base, ldx: k, rows: m, weight: quantized[0], into: single.pointer, ldy: rowCounts[0], scratch: FloatBuffer(count: 1))
            }
            for j in 0..<2 {
                let count = m * rowCounts[j]
                #expect(Array(UnsafeBufferPointer(start: fromCodes[j].pointer, count: count)) ==
                        Array(UnsafeBufferPointer(start: fromPacked[j].pointer, count: count)), "\(format.rawValue) product \(j)")
            }
            #expect(Array(UnsafeBufferPointer(start: single.pointer, count: m * rowCounts[0])) ==
                    Array(UnsafeBufferPointer(start: fromPacked[0].pointer, count: m * rowCounts[0])), "\(format.rawValue) alone")
        }
    }

    /// The quantized forward on the kernel against the quantized forward on sgemm (same codes): per-layer mean
    /// cosine >= 0.999 on every fixture; the variants differ.
    @Test(arguments: Fixtures.names)
    func quantizedForwardOnKernelTracksSgemm(_ name: String) throws {
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids")
        let mask = try Fixtures.matrix(expected, "attention_mask")
        for format in [Quantization.int8, .q4] {
            let sgemm = try MoEModel.load(directory: Fixtures.url(name), options: .init(quantize: format, bf16Kernel: false))
            let kernel = try MoEModel.load(directory: Fixtures.url(name), options: .init(quantize: format, bf16Kernel: true))
            #expect(!sgemm.usesBF16Kernel && sgemm.variant == "\(sgemm.weightDType)+\(format.variantName)")
            #expect(kernel.usesBF16Kernel && kernel.variant == "\(kernel.weightDType)+\(format.variantName)+bf16")
            let reference = try sgemm.forward(inputIDs: ids, attentionMask: mask)
            let output = try kernel.forward(inputIDs: ids, attentionMask: mask)
            let agreement = try ModelAgreement(output, reference, mask: mask, topK: #require(kernel.spec.layers.compactMap(\.moe).first).topK)
            for (layer, cosine) in agreement.layerCosines.enumerated() {
                #expect(cosine >= 0.999, "\(name) \(format.rawValue) layer \(layer): mean cosine \(cosine)")
            }
            print("\(format.rawValue) on the BF16 kernel vs sgemm, \(name): worst layer cosine \(agreement.layerCosines.min() ?? 1), top-k agreement \(agreement.topK)")
        }
    }
}
