import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// The float32 kernel (`gemm_f32.c` through `PackedMatrix`, element `.f32`; AVX-512F or AVX2/FMA, the host's widest
/// unless MOEE_F32_KERNEL_ISA=avx2): float32 products against a float64 reference (up to summation order), the same
/// bits on every instruction set, fused products, packing from other dtypes, and the forward pass on it against
/// sgemm on every fixture (the fixtures' comparison with transformers runs on it by default: see
/// FixtureForwardTests).
@Suite(.enabled(if: F32Kernel.supported, "this CPU has neither AVX-512F nor AVX2/FMA: the F32 kernel is not used here"))
struct F32KernelTests {
    static func packed(_ values: [Float], rows: Int, cols: Int) -> WeightMatrix {
        let storage = FloatBuffer(count: rows * cols)
        storage.pointer.update(from: values, count: values.count)
        return WeightMatrix(rows: rows, cols: cols, dtype: .f32, base: UnsafeRawPointer(storage.pointer), owner: storage)
            .packedForKernel(.f32, scratch: FloatBuffer(count: 1))
    }

    /// Odd shapes: rows of x (1, 7, 33: partial 8-row blocks), weight rows not a multiple of the 16-column panel or
    /// of the 48-column microkernel, odd k; strided x and y, and y's columns past n left as they were.
    @Test(arguments: [(1, 1, 1), (1, 17, 31), (7, 50, 67), (33, 5, 130), (33, 200, 257), (8, 48, 64), (9, 97, 2048)])
    func matchesFloat64Reference(_ shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        let ldx = k + 3, ldy = n + 5
        var generator = SplitMix(seed: UInt64(m * 10_000 + n * 100 + k + 1))
        let x = (0..<(m * ldx)).map { _ in generator.nextFloat() }
        let w = (0..<(n * k)).map { _ in generator.nextFloat() * 0.1 }
        let matrix = Self.packed(w, rows: n, cols: k)
        #expect(matrix.packed?.element == .f32)
        let worst = KernelCheck.worstRelativeError(matrix, x: x, ldx: ldx, rows: m, ldy: ldy, exactX: x, exactW: w)
        // float32 products summed in float32 (fused multiply-adds): a few ulps of the sum of magnitudes.
        #expect(worst <= 4e-6 * Double(max(1, k).bitWidth - max(1, k).leadingZeroBitCount), "\(m)x\(n)x\(k): \(worst)")
    }

    /// AVX-512F, AVX2/FMA and the portable loop compute each output as the same FMA chain: identical bits, on the
    /// odd shapes above, whichever of them this host runs (the portable loop always).
    @Test(arguments: [(1, 1, 1), (7, 50, 67), (33, 200, 257), (9, 97, 2048), (13, 48, 5)])
    func everyInstructionSetGivesTheSameBits(_ shape: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = shape
        let ldx = k + 1, ldy = n + 3
        var generator = SplitMix(seed: UInt64(m * 7_919 + n * 31 + k))
        let x = (0..<(m * ldx)).map { _ in generator.nextFloat() }
        let matrix = Self.packed((0..<(n * k)).map { _ in generator.nextFloat() - 0.5 }, rows: n, cols: k)
        let panels = try #require(matrix.packed)
        func product(_ isa: F32Kernel.ISA?) -> [Float] {
            var y = [Float](repeating: -7, count: m * ldy)  // columns past n must stay -7
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer { ys in
                    guard let xBase = xs.baseAddress, let yBase = ys.baseAddress else { return }
                    F32Kernel.multiply(on: isa, xBase, ldx: ldx, rows: m, cols: k, panels: panels.f32Panels,
                                       outputs: n, panelBegin: 0, panelEnd: panels.panels, y: yBase, ldy: ldy)
                }
            }
            return y
        }
        let portable = product(nil)
        #expect((0..<m).allSatisfy { r in portable[(r * ldy + n)..<((r + 1) * ldy)].allSatisfy { $0 == -7 } })
        let isas = F32Kernel.ISA.allCases.filter(\.supported)
        #expect(!isas.isEmpty)
        for isa in isas {
            let bits = product(isa)
            let differing = zip(bits, portable).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(isa.rawValue) differs from the portable loop in \(differing) of \(bits.count) values")
        }
    }

    /// BF16 weights kept as BF16 panels and widened in registers (`.bf16Widened`, BF16 checkpoints on CPUs without
    /// AVX-512 BF16) give the F32 kernel's bits on the widened weights, at half the panel bytes: through `linear`
    /// (the model's path), and the AVX2 and portable loops directly, odd k included.
    @Test(arguments: [(1, 1, 1), (7, 50, 67), (33, 200, 257), (9, 97, 2048), (13, 48, 6)])
    func bf16WeightsWidenedInRegistersGiveTheF32KernelsBits(_ shape: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = shape
        var generator = SplitMix(seed: UInt64(m * 131 + n * 17 + k))
        var half = [UInt16](repeating: 0, count: n * k), w = [Float](repeating: 0, count: n * k)
        ck_f32_to_bf16((0..<(n * k)).map { _ in generator.nextFloat() - 0.5 }, &half, half.count)
        ck_bf16_to_f32(half, &w, w.count)  // the widened weights: exact
        let halfBytes = FloatBuffer(count: (n * k + 1) / 2)
        half.withUnsafeBytes { source in
            if let base = source.baseAddress { UnsafeMutableRawPointer(halfBytes.pointer).copyMemory(from: base, byteCount: source.count) }
        }
        let widening = WeightMatrix(rows: n, cols: k, dtype: .bf16, base: UnsafeRawPointer(halfBytes.pointer), owner: halfBytes)
            .packedForKernel(.bf16Widened, scratch: FloatBuffer(count: 1))
        let floats = Self.packed(w, rows: n, cols: k)
        let panels = try #require(widening.packed), floatPanels = try #require(floats.packed)
        #expect(panels.element == .bf16Widened && panels.byteCount * 2 == floatPanels.byteCount + (k % 2) * 16 * 4 * panels.panels)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        func run(_ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var y = [Float](repeating: -7, count: m * n)
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer { ys in
                    guard let xBase = xs.baseAddress, let yBase = ys.baseAddress else { return }
                    body(xBase, yBase)
                }
            }
            return y
        }
        let expected = run { x, y in linear(x, ldx: k, rows: m, weight: floats, into: y, ldy: n, scratch: FloatBuffer(count: 1)) }
        let viaModelPath = run { x, y in linear(x, ldx: k, rows: m, weight: widening, into: y, ldy: n, scratch: FloatBuffer(count: 1)) }
        let portable = run { x, y in
            ck_gemm_f32_bf16w_scalar(x, k, m, k, panels.bf16Panels, n, 0, panels.panels, y, n)
        }
        var results = [("linear", viaModelPath), ("portable", portable)]
        if F32Kernel.ISA.avx2.supported {
            results.append(("AVX2", run { x, y in ck_gemm_f32_bf16w_avx2(x, k, m, k, panels.bf16Panels, n, 0, panels.panels, y, n) }))
        }
        for (name, result) in results {
            let differing = zip(result, expected).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(expected.count) values differ from the F32 kernel on widened weights")
        }
    }

    /// The kernel and sgemm on the same float32 weights agree to float32 rounding (they sum in another order).
    @Test func agreesWithSgemm() {
        let m = 40, n = 130, k = 515
        var generator = SplitMix(seed: 21)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        let w = (0..<(n * k)).map { _ in generator.nextFloat() }
        let storage = FloatBuffer(count: n * k)
        storage.pointer.update(from: w, count: w.count)
        let plain = WeightMatrix(rows: n, cols: k, dtype: .f32, base: UnsafeRawPointer(storage.pointer), owner: storage)
        let kernel = Self.packed(w, rows: n, cols: k)
        let a = FloatBuffer(count: m * n), b = FloatBuffer(count: m * n)
        x.withUnsafeBufferPointer { xs in
            guard let base = xs.baseAddress else { return }
            linear(base, ldx: k, rows: m, weight: plain, into: a.pointer, ldy: n, scratch: FloatBuffer(count: 1))
            linear(base, ldx: k, rows: m, weight: kernel, into: b.pointer, ldy: n, scratch: FloatBuffer(count: 1))
        }
        let d = Fixtures.delta(Array(UnsafeBufferPointer(start: a.pointer, count: m * n))[...],
                               Array(UnsafeBufferPointer(start: b.pointer, count: m * n))[...])
        #expect(d.delta <= 1e-5 * max(1, d.scale), "\(d)")
    }

    /// Fused products (q/k/v, gate/up) give exactly what one product at a time gives.
    @Test func fusedProductsMatchSeparateOnes() {
        let m = 70, k = 300, rowCounts = [50, 17, 33]
        var generator = SplitMix(seed: 13)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        let matrices = rowCounts.map { rows in Self.packed((0..<(rows * k)).map { _ in generator.nextFloat() }, rows: rows, cols: k) }
        KernelCheck.expectFusedEqualsSeparate(matrices, x: x, rows: m)
    }

    /// Float32 rows at an unaligned address and BF16 rows are widened before packing: the same panels as packing
    /// the aligned float32 values.
    @Test func unalignedAndHalfPrecisionSourcesPackAlike() throws {
        let rows = 21, cols = 37
        var generator = SplitMix(seed: 7)
        var half = [UInt16](repeating: 0, count: rows * cols), w = [Float](repeating: 0, count: rows * cols)
        ck_f32_to_bf16((0..<(rows * cols)).map { _ in generator.nextFloat() }, &half, half.count)
        ck_bf16_to_f32(half, &w, w.count)  // values exact in BF16, so both sources hold the same numbers
        let bytes = FloatBuffer(count: rows * cols + 1)
        let odd = UnsafeMutableRawPointer(bytes.pointer) + 1
        w.withUnsafeBytes { source in if let base = source.baseAddress { odd.copyMemory(from: base, byteCount: source.count) } }
        let unaligned = WeightMatrix(rows: rows, cols: cols, dtype: .f32, base: UnsafeRawPointer(odd), owner: bytes)
            .packedForKernel(.f32, scratch: FloatBuffer(count: 1))
        let halfBytes = FloatBuffer(count: rows * cols)
        half.withUnsafeBytes { source in
            if let base = source.baseAddress { UnsafeMutableRawPointer(halfBytes.pointer).copyMemory(from: base, byteCount: source.count) }
        }
        let fromBF16 = WeightMatrix(rows: rows, cols: cols, dtype: .bf16, base: UnsafeRawPointer(halfBytes.pointer), owner: halfBytes)
            .packedForKernel(.f32, scratch: FloatBuffer(count: 1))
        let aligned = try #require(Self.packed(w, rows: rows, cols: cols).packed)
        for other in [unaligned, fromBF16] {
            let packed = try #require(other.packed)
            #expect(packed.byteCount == aligned.byteCount && packed.byteCount == 2 * cols * 16 * 4)
            let count = packed.byteCount / 4
            #expect(Array(UnsafeBufferPointer(start: packed.f32Panels, count: count)) ==
                    Array(UnsafeBufferPointer(start: aligned.f32Panels, count: count)))
        }
    }

    /// The forward pass on the kernel (the default for these F32 checkpoints) against sgemm (`f32Kernel: false`):
    /// float32 both, so hidden states agree to float32 rounding and the top-k experts are the same.
    @Test(arguments: Fixtures.names)
    func forwardMatchesSgemm(_ name: String) throws {
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids")
        let mask = try Fixtures.matrix(expected, "attention_mask")
        let sgemm = try MoEModel.load(directory: Fixtures.url(name), options: .init(f32Kernel: false))
        #expect(!sgemm.usesF32Kernel && !sgemm.usesBF16Kernel)
        let kernel = try MoEModel.load(directory: Fixtures.url(name), options: .init(f32Kernel: true))
        #expect(kernel.usesF32Kernel && !kernel.usesBF16Kernel)
        #expect(kernel.variant == "F32" && sgemm.variant == "F32", "float32 either way: the variant does not change")
        #expect(kernel.weightBytes == sgemm.weightBytes, "packed panels are as large as the float32 weights")
        let a = try kernel.forward(inputIDs: ids, attentionMask: mask), b = try sgemm.forward(inputIDs: ids, attentionMask: mask)
        let hidden = Fixtures.delta(a.hiddenStates[...], b.hiddenStates[...])
        let router = Fixtures.delta(a.routerLogits[...], b.routerLogits[...])
        #expect(hidden.delta <= 1e-5 * max(1, hidden.scale), "\(name) hidden: \(hidden)")
        #expect(router.delta <= 1e-5 * max(1, router.scale), "\(name) router: \(router)")
        let agreement = try ModelAgreement(a, b, mask: mask, topK: #require(kernel.spec.layers.compactMap(\.moe).first).topK)
        #expect(agreement.topK == 1, "\(name): top-k agreement \(agreement.topK)")
    }

    /// Projections are packed; routers and the shared-expert gate stay on sgemm (their logits are stored), the
    /// embedding as it is.
    @Test(arguments: ["qwen2moe-tiny", "deepseekmoe-tiny"])
    func packingLeavesRoutersAndEmbedding(_ name: String) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.url(name))
        let (spec, architecture) = try Architectures.spec(config: checkpoint.configData, file: "config.json")
        let weights = try ModelWeights.load(spec: spec, architecture: architecture, checkpoint: checkpoint)
            .packedForKernel(.f32, includingSmall: true)
        #expect(weights.embedding.packed == nil)
        var routers = 0
        for layer in weights.layers {
            #expect(layer.attention.matrices.allSatisfy { $0.matrix.packed?.element == .f32 })
            guard case let .moe(moe) = layer.feedForward else { continue }
            routers += 1
            #expect(moe.router.packed == nil && moe.sharedGate?.packed == nil)
            let mlps = moe.experts + (moe.shared.map { [$0] } ?? [])
            #expect(mlps.allSatisfy { [$0.gate, $0.up, $0.down].allSatisfy { $0.packed?.element == .f32 } })
        }
        #expect(routers > 0)
    }

    @Test func defaultsAndPriority() throws {
        // F32 checkpoints wherever the kernel runs; BF16 checkpoints the BF16 kernel does not take on the AVX2 path.
        let onByDefault = F32Kernel.allowedByEnvironment
        #expect(F32Kernel.appliesByDefault(weightDType: "F32", quantization: .none) == onByDefault)
        #expect(F32Kernel.appliesByDefault(weightDType: "BF16", quantization: .none) ==
                (F32Kernel.isa == .avx2 && F32Kernel.allowedByEnvironment
                 && !BF16Kernel.appliesByDefault(weightDType: "BF16", quantization: .none)))
        // Quantized models (either dtype) where the BF16 kernel does not take them, on the AVX2 path only.
        for dtype in ["F32", "BF16"] {
            for format in [Quantization.int8, .q4] {
                #expect(F32Kernel.appliesByDefault(weightDType: dtype, quantization: format) ==
                        (F32Kernel.isa == .avx2 && F32Kernel.allowedByEnvironment
                         && !BF16Kernel.appliesByDefault(weightDType: dtype, quantization: format)), "\(dtype) \(format.rawValue)")
            }
        }
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        #expect(model.usesF32Kernel == onByDefault, "an F32 checkpoint runs on the F32 kernel by default")
        if BF16Kernel.supported {
            let bf16 = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"), options: .init(bf16Kernel: true, f32Kernel: true))
            #expect(bf16.usesBF16Kernel && !bf16.usesF32Kernel, "the BF16 kernel keeps priority")
        }
    }
}
