import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// The AVX-512 BF16 kernel (`gemm_bf16.c` through `PackedMatrix`): exact against a float64 reference of the
/// same BF16-rounded inputs (up to summation order), and a forward pass on it tracking float32 on every fixture.
@Suite(.enabled(if: BF16Kernel.supported, "this CPU has no AVX-512 BF16: the BF16 kernel is not used here"))
struct BF16KernelTests {
    /// `values` rounded to BF16 and back, as the kernel sees them.
    static func roundedToBF16(_ values: [Float]) -> [Float] {
        var half = [UInt16](repeating: 0, count: values.count), back = [Float](repeating: 0, count: values.count)
        ck_f32_to_bf16(values, &half, values.count)
        ck_bf16_to_f32(half, &back, values.count)
        return back
    }

    /// Odd shapes: rows of x (1, 7, 33: partial 8-row blocks), weight rows not a multiple of the 16-column panel
    /// (or of the 48-column microkernel), k odd and not a multiple of 32 (the masked tail of the rounding).
    @Test(arguments: [(1, 1, 1), (1, 17, 31), (7, 50, 67), (33, 5, 130), (33, 200, 257), (8, 48, 64), (9, 97, 2048)])
    func matchesReferenceOnRoundedInputs(_ shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        let ldx = k + 3, ldy = n + 5  // strided rows, as attention and the MoE read column slices
        var generator = SplitMix(seed: UInt64(m * 10_000 + n * 100 + k))
        let x = (0..<(m * ldx)).map { _ in generator.nextFloat() }
        let w = (0..<(n * k)).map { _ in generator.nextFloat() * 0.1 }
        let storage = FloatBuffer(count: n * k)
        storage.pointer.update(from: w, count: w.count)
        let matrix = WeightMatrix(rows: n, cols: k, dtype: .f32, base: UnsafeRawPointer(storage.pointer), owner: storage)
            .packedBF16(scratch: FloatBuffer(count: 1))
        #expect(matrix.packed != nil)
        let worst = KernelCheck.worstRelativeError(matrix, x: x, ldx: ldx, rows: m, ldy: ldy,
                                                   exactX: Self.roundedToBF16(x), exactW: Self.roundedToBF16(w))
        // float32 accumulation in another order: a few ulps of the sum of magnitudes.
        #expect(worst <= 4e-6 * Double(max(1, k).bitWidth - max(1, k).leadingZeroBitCount), "\(m)x\(n)x\(k): \(worst)")
    }

    /// q/k/v- or gate/up-style fused products (one rounding of x, runs of every matrix shared by the cores) give
    /// exactly what one product at a time gives.
    @Test func fusedProductsMatchSeparateOnes() {
        let m = 70, k = 300, rowCounts = [50, 17, 33]
        var generator = SplitMix(seed: 11)
        let x = (0..<(m * k)).map { _ in generator.nextFloat() }
        let matrices = rowCounts.map { rows -> WeightMatrix in
            let storage = FloatBuffer(count: rows * k)
            for i in 0..<(rows * k) { storage.pointer[i] = generator.nextFloat() }
            return WeightMatrix(rows: rows, cols: k, dtype: .f32, base: UnsafeRawPointer(storage.pointer), owner: storage)
                .packedBF16(scratch: FloatBuffer(count: 1))
        }
        KernelCheck.expectFusedEqualsSeparate(matrices, x: x, rows: m)
    }

    /// BF16 weights are packed by copying (from any byte alignment, as safetensors may place them), float32 ones by
    /// rounding: the same panels either way.
    @Test func bf16AndFloat32SourcesPackAlike() {
        let rows = 21, cols = 37
        var generator = SplitMix(seed: 5)
        let w = (0..<(rows * cols)).map { _ in generator.nextFloat() }
        var half = [UInt16](repeating: 0, count: w.count)
        ck_f32_to_bf16(w, &half, w.count)
        let bytes = FloatBuffer(count: rows * cols)  // holds the BF16 copy at an odd byte offset
        let odd = UnsafeMutableRawPointer(bytes.pointer) + 1
        half.withUnsafeBytes { source in if let base = source.baseAddress { odd.copyMemory(from: base, byteCount: source.count) } }
        let fromBF16 = WeightMatrix(rows: rows, cols: cols, dtype: .bf16, base: UnsafeRawPointer(odd), owner: bytes)
            .packedBF16(scratch: FloatBuffer(count: 1))
        let floats = FloatBuffer(count: rows * cols)
        floats.pointer.update(from: w, count: w.count)
        let fromF32 = WeightMatrix(rows: rows, cols: cols, dtype: .f32, base: UnsafeRawPointer(floats.pointer), owner: floats)
            .packedBF16(scratch: FloatBuffer(count: 1))
        guard let a = fromBF16.packed, let b = fromF32.packed else { Issue.record("not packed"); return }
        let elements = a.byteCount / 2
        #expect(a.byteCount == b.byteCount)
        #expect(Array(UnsafeBufferPointer(start: a.bf16Panels, count: elements)) == Array(UnsafeBufferPointer(start: b.bf16Panels, count: elements)))
    }

    @Test func roundingMatchesTheScalarRule() {
        var generator = SplitMix(seed: 6)
        var values = (0..<67).map { _ in generator.nextFloat() * 1000 }
        values[3] = 1 + 1.0 / 256  // exactly between two BF16 values: ties to even
        values[4] = -.infinity
        var kernel = [UInt16](repeating: 0xffff, count: 68), scalar = [UInt16](repeating: 0, count: 67)
        ck_bf16_round_rows(values, 67, 1, 67, &kernel)
        ck_f32_to_bf16(values, &scalar, 67)
        #expect(Array(kernel[0..<67]) == scalar)
        #expect(kernel[67] == 0, "the odd k's pad is zero")
    }

    /// Per-layer hidden-state cosine (mean over real tokens) of the BF16-kernel forward against float32, and
    /// top-k expert agreement, on each fixture (float32 weights rounded to BF16 at packing).
    @Test(arguments: Fixtures.names)
    func forwardTracksFloat32(_ name: String) throws {
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids")
        let mask = try Fixtures.matrix(expected, "attention_mask")
        let float32 = try MoEModel.load(directory: Fixtures.url(name))
        #expect(!float32.usesBF16Kernel, "an F32 checkpoint stays off the BF16 kernel by default")
        let reference = try float32.forward(inputIDs: ids, attentionMask: mask)
        let model = try MoEModel.load(directory: Fixtures.url(name), options: .init(bf16Kernel: true))
        #expect(model.usesBF16Kernel && model.variant == "\(model.weightDType)+bf16")
        let output = try model.forward(inputIDs: ids, attentionMask: mask)
        let agreement = try ModelAgreement(output, reference, mask: mask, topK: #require(model.spec.layers.compactMap(\.moe).first).topK)
        for (layer, cosine) in agreement.layerCosines.enumerated() {
            #expect(cosine >= 0.999, "\(name) layer \(layer): mean cosine \(cosine)")
        }
        print("BF16 kernel vs F32, \(name): worst layer cosine \(agreement.layerCosines.min() ?? 1), top-k agreement \(agreement.topK)")
        #expect(agreement.topK >= 0.95, "\(name): top-k agreement \(agreement.topK)")
    }

    @Test func optOutAndVariant() {
        #expect(BF16Kernel.appliesByDefault(weightDType: "BF16", quantization: .none) == BF16Kernel.allowedByEnvironment)
        #expect(!BF16Kernel.appliesByDefault(weightDType: "F32", quantization: .none))
        #expect(BF16Kernel.appliesByDefault(weightDType: "BF16", quantization: .q4) == BF16Kernel.allowedByEnvironment)
        #expect(BF16Kernel.appliesByDefault(weightDType: "F32", quantization: .int8) == BF16Kernel.allowedByEnvironment)
    }
}

/// How far one forward output is from another: mean cosine of hidden states over real tokens, per hidden-state
/// entry, and the share of top-k experts the two pick in common.
struct ModelAgreement {
    var layerCosines: [Double] = []
    var topK = 1.0

    init(_ output: ForwardOutput, _ reference: ForwardOutput, mask: [[Int]], topK k: Int) {
        let b = mask.count, t = mask.first?.count ?? 0, h = output.hiddenSize, e = output.expertCount
        let real = (0..<b).flatMap { r in (0..<t).filter { mask[r][$0] == 1 }.map { r * t + $0 } }
        for layer in 0..<output.hiddenStateCount {
            let total = real.reduce(0.0) { sum, flat in
                let base = (layer * b * t + flat) * h
                return sum + Self.cosine(output.hiddenStates[base..<(base + h)], reference.hiddenStates[base..<(base + h)])
            }
            layerCosines.append(total / Double(max(1, real.count)))
        }
        var shared = 0, all = 0
        for index in output.routerLayers.indices {
            for flat in real {
                let base = (index * b * t + flat) * e
                let ours = Set(Fixtures.experts(output.routerLogits[base..<(base + e)], k: k))
                shared += ours.intersection(Fixtures.experts(reference.routerLogits[base..<(base + e)], k: k)).count
                all += k
            }
        }
        topK = Double(shared) / Double(max(1, all))
    }

    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return na == 0 && nb == 0 ? 1 : dot / max(1e-30, (na * nb).squareRoot())
    }
}

/// What the kernel tests (BF16, F32) check alike.
enum KernelCheck {
    /// A random (rows, cols) float32 matrix quantized to `format` (values in [-0.1, 0.1)).
    static func quantizedMatrix(rows: Int, cols: Int, format: Quantization, seed: UInt64) -> WeightMatrix {
        var generator = SplitMix(seed: seed)
        let storage = FloatBuffer(count: rows * cols)
        for i in 0..<(rows * cols) { storage.pointer[i] = generator.nextFloat() * 0.1 }
        return WeightMatrix(rows: rows, cols: cols, dtype: .f32, base: UnsafeRawPointer(storage.pointer), owner: storage)
            .quantized(format, scratch: FloatBuffer(count: 1))
    }

    /// `linear` with `matrix` (n = matrix.rows, k = matrix.cols) on strided x and y: the worst error of y against
    /// float64 sums of exactX · exactWᵀ (the values the kernel multiplies), relative to the sum of magnitudes; an
    /// issue for any column of y past n that was written.
    static func worstRelativeError(_ matrix: WeightMatrix, x: [Float], ldx: Int, rows m: Int, ldy: Int,
                                   exactX: [Float], exactW: [Float]) -> Double {
        let n = matrix.rows, k = matrix.cols
        let y = FloatBuffer(count: m * ldy)
        y.pointer.update(repeating: .nan, count: m * ldy)
        x.withUnsafeBufferPointer { xs in
            guard let base = xs.baseAddress else { return }
            linear(base, ldx: ldx, rows: m, weight: matrix, into: y.pointer, ldy: ldy, scratch: FloatBuffer(count: 1))
        }
        var worst = 0.0
        for r in 0..<m {
            for c in 0..<n {
                var exact = 0.0, magnitude = 0.0
                for i in 0..<k {
                    exact += Double(exactX[r * ldx + i]) * Double(exactW[c * k + i])
                    magnitude += abs(Double(exactX[r * ldx + i]) * Double(exactW[c * k + i]))
                }
                worst = max(worst, abs(Double(y.pointer[r * ldy + c]) - exact) / max(magnitude, 1e-30))
            }
            for c in n..<ldy { #expect(y.pointer[r * ldy + c].isNaN, "column \(c) past n written") }
        }
        return worst
    }

    /// q/k/v- or gate/up-style fused products (runs of every matrix shared by the cores) give exactly what one
    /// product at a time gives.
    static func expectFusedEqualsSeparate(_ matrices: [WeightMatrix], x: [Float], rows m: Int) {
        guard let k = matrices.first?.cols else { return }
        let fused = matrices.map { FloatBuffer(count: m * $0.rows) }, separate = matrices.map { FloatBuffer(count: m * $0.rows) }
        x.withUnsafeBufferPointer { xs in
            guard let base = xs.baseAddress else { return }
            let outputs = matrices.indices.map { (weight: matrices[$0], y: fused[$0].pointer, ldy: matrices[$0].rows) }
            linear(base, ldx: k, rows: m, outputs: outputs, scratch: FloatBuffer(count: 1))
            for (j, matrix) in matrices.enumerated() {
                linear(base, ldx: k, rows: m, weight: matrix, into: separate[j].pointer, ldy: matrix.rows, scratch: FloatBuffer(count: 1))
            }
        }
        for j in matrices.indices {
            let count = m * matrices[j].rows
            #expect(Array(UnsafeBufferPointer(start: fused[j].pointer, count: count)) ==
                    Array(UnsafeBufferPointer(start: separate[j].pointer, count: count)), "product \(j)")
        }
    }
}

extension SplitMix {
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
