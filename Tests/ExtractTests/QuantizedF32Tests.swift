import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// Quantized weights on the F32 kernel (AVX2-only hosts, or MOEE_F32_KERNEL_ISA=avx2): each panel of codes
/// dequantized into the kernel's layout (`ck_f32_pack_panel_q8` / `_q4`, AVX2 and portable) just before the kernel
/// reads it. The weights are exact in float32, so the products are the F32 kernel's on the dequantized floats.
struct QuantizedF32Tests {
    /// Panels, from the AVX2 and the portable packer, are bit for bit `ck_f32_pack_panel` of the dequantized rows:
    /// k not a multiple of 8 or of the group (the last lines of a block), rows not a multiple of 16 (zero rows), one
    /// row, one column.
    @Test(arguments: [(21, 37), (16, 64), (5, 95), (33, 130), (1, 1), (17, 2), (40, 257), (3, 1024), (16, 8)])
    func panelsMatchPackingTheDequantizedRows(_ shape: (rows: Int, cols: Int)) throws {
        let (rows, cols) = shape
        for format in [Quantization.int8, .q4] {
            let matrix = KernelCheck.quantizedMatrix(rows: rows, cols: cols, format: format, seed: UInt64(rows * 1000 + cols + 7))
            let q = try #require(matrix.quantized)
            let panelFloats = Int(CK_F32_PANEL) * cols
            var floats = [Float](repeating: 0, count: panelFloats)
            let isas: [F32Kernel.ISA?] = F32Kernel.ISA.avx2.supported ? [nil, .avx2] : [nil]
            for p in 0..<((rows + 15) / 16) {
                let first = p * 16, valid = min(16, rows - first)
                floats.withUnsafeMutableBufferPointer { q.dequantize(rows: first, count: valid, into: $0.baseAddress!) }
                let expected = AlignedFloats(count: panelFloats, filling: .nan)
                ck_f32_pack_panel(floats, valid, cols, expected.pointer)
                for isa in isas {
                    let actual = AlignedFloats(count: panelFloats, filling: .nan)
                    q.packF32Panel(p, into: actual.pointer, on: isa)
                    #expect(actual.bits == expected.bits, "\(format.rawValue) \(rows)x\(cols) panel \(p) on \(isa?.rawValue ?? "portable")")
                }
            }
        }
    }

    /// `linear` on quantized weights marked for the F32 kernel gives exactly what the kernel gives on the dequantized
    /// weights packed at load, fused (gate/up-style) or not, over several runs of panels shared by the cores.
    @Test func linearMatchesTheKernelOnDequantizedWeights() throws {
        let m = 70, k = 300, rowCounts = [100, 17]
        var generator = SplitMix(seed: 14)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        for format in [Quantization.int8, .q4] {
            var quantized: [WeightMatrix] = [], packed: [WeightMatrix] = []
            for (j, rows) in rowCounts.enumerated() {
                let matrix = KernelCheck.quantizedMatrix(rows: rows, cols: k, format: format, seed: UInt64(j + 40))
                let q = try #require(matrix.quantized)
                quantized.append(WeightMatrix(rows: rows, cols: k, dtype: .f32, base: matrix.base, owner: matrix.owner,
                                              quantized: q, quantizedKernel: .f32))
                let floats = FloatBuffer(count: rows * k)
                q.dequantize(rows: 0, count: rows, into: floats.pointer)
                packed.append(WeightMatrix(rows: rows, cols: k, dtype: .f32, base: UnsafeRawPointer(floats.pointer), owner: floats)
                    .packedForKernel(.f32, scratch: FloatBuffer(count: 1)))
            }
            func products(_ weights: [WeightMatrix], fused: Bool) -> [[Float]] {
                let ys = rowCounts.map { FloatBuffer(count: m * $0) }
                x.withUnsafeBufferPointer { xs in
                    guard let base = xs.baseAddress else { return }
                    if fused {
                        linear(base, ldx: k, rows: m, outputs: (0..<2).map { (weight: weights[$0], y: ys[$0].pointer, ldy: rowCounts[$0]) },
                               scratch: FloatBuffer(count: 1))
                    } else {
                        for j in 0..<2 { linear(base, ldx: k, rows: m, weight: weights[j], into: ys[j].pointer, ldy: rowCounts[j], scratch: FloatBuffer(count: 1)) }
                    }
                }
                return (0..<2).map { Array(UnsafeBufferPointer(start: ys[$0].pointer, count: m * rowCounts[$0])) }
            }
            let expected = products(packed, fused: false)
            #expect(products(quantized, fused: true) == expected, "\(format.rawValue) fused")
            #expect(products(quantized, fused: false) == expected, "\(format.rawValue) alone")
        }
    }

    /// A token's products do not depend on the other rows of its call (what sgemm on dequantized tiles does not
    /// promise for large weights): rows computed in calls of other sizes equal the same rows of one call.
    @Test func rowsDoNotDependOnTheirBatch() {
        let rows = 1040, cols = 1024, batch = 37
        var generator = SplitMix(seed: 3)
        let x = (0..<(batch * cols)).map { _ in generator.nextFloat() }
        for format in [Quantization.int8, .q4] {
            let matrix = KernelCheck.quantizedMatrix(rows: rows, cols: cols, format: format, seed: 5)
            let weight = WeightMatrix(rows: rows, cols: cols, dtype: .f32, base: matrix.base, owner: matrix.owner,
                                      quantized: matrix.quantized, quantizedKernel: .f32)
            BatchInvarianceTests.expectRowsIndependentOfBatch(weight, x: x, batch: batch, label: format.rawValue)
        }
    }

    /// The quantized forward pass with every projection on the F32 kernel (small weights included) against the same
    /// codes dequantized for sgemm / the rowwise kernel: the same float32 weights either way, so hidden states and
    /// router logits agree to float32 rounding, the top-k experts are the same and the variant does not change.
    @Test(.enabled(if: F32Kernel.supported, "this CPU has neither AVX-512F nor AVX2/FMA: the F32 kernel is not used here"),
          arguments: Fixtures.names)
    func quantizedForwardOnKernelMatchesSgemm(_ name: String) throws {
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids")
        let mask = try Fixtures.matrix(expected, "attention_mask")
        for format in [Quantization.int8, .q4] {
            let sgemm = try MoEModel.load(directory: Fixtures.url(name), options: .init(quantize: format, bf16Kernel: false, f32Kernel: false))
            var options = MoEModel.Options(quantize: format, bf16Kernel: false, f32Kernel: true)
            options.f32KernelForSmallWeights = true
            options.int8Activations = false  // the float32 panels (Int8ActivationTests covers the other path)
            let kernel = try MoEModel.load(directory: Fixtures.url(name), options: options)
            #expect(kernel.usesF32Kernel && !sgemm.usesF32Kernel && !kernel.usesBF16Kernel)
            #expect(kernel.variant == sgemm.variant && kernel.variant == "\(kernel.weightDType)+\(format.variantName)")
            #expect(kernel.weightBytes == sgemm.weightBytes, "the codes are used as they are: no packed copy")
            let a = try kernel.forward(inputIDs: ids, attentionMask: mask), b = try sgemm.forward(inputIDs: ids, attentionMask: mask)
            let hidden = Fixtures.delta(a.hiddenStates[...], b.hiddenStates[...])
            let router = Fixtures.delta(a.routerLogits[...], b.routerLogits[...])
            #expect(hidden.delta <= 1e-5 * max(1, hidden.scale), "\(name) \(format.rawValue) hidden: \(hidden)")
            #expect(router.delta <= 1e-5 * max(1, router.scale), "\(name) \(format.rawValue) router: \(router)")
            let agreement = try ModelAgreement(a, b, mask: mask, topK: #require(kernel.spec.layers.compactMap(\.moe).first).topK)
            #expect(agreement.topK == 1, "\(name) \(format.rawValue): top-k agreement \(agreement.topK)")
        }
    }
}

/// A 64-byte-aligned float buffer (the packers' contract), compared by bit pattern.
private final class AlignedFloats {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, filling value: Float) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(64, count * 4), alignment: 64).bindMemory(to: Float.self, capacity: max(16, count))
        pointer.update(repeating: value, count: count)
    }

    deinit { pointer.deallocate() }

    var bits: [UInt32] { (0..<count).map { pointer[$0].bitPattern } }
}
