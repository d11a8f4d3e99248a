import CKernels
import Foundation
import Testing
import TestSupport
@testable import Extract

/// q4 weights x int8 activations (`Int8Activations`, `Sources/CKernels/gemm_q4_q8.c`): the AVX2 path and the portable
/// loop give the same bits; both compute the integer sums exactly; the only error against float32 activations is
/// each activation's rounding; rows never depend on their batch; and a q4 model on the path keeps the q4 accuracy
/// bars and its own variant.
struct Int8ActivationTests {
    struct Quantized {
        var codes: [UInt8], scales: [Float]
    }

    static func quantize(_ x: [Float], rows m: Int, cols k: Int, avx2: Bool = false) -> Quantized {
        let groups = (k + 31) / 32, blocks = (groups + 7) / 8
        var q = Quantized(codes: .init(repeating: 0, count: m * groups * 32), scales: .init(repeating: 0, count: m * blocks))
        if avx2 {
            ck_quantize_rows_act8_avx2(x, k, m, k, &q.codes, &q.scales)
        } else {
            ck_quantize_rows_act8(x, k, m, k, &q.codes, &q.scales)
        }
        return q
    }

    static func product(_ q: Quantized, rows m: Int, cols k: Int, weights: QuantizedMatrix, avx2: Bool) -> [Float] {
        var y = [Float](repeating: .nan, count: m * weights.rows)
        let codes = weights.codes.assumingMemoryBound(to: UInt8.self)
        if avx2 {
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: ck_act8_scratch_bytes(k), alignment: 64)
            defer { scratch.deallocate() }
            ck_gemm_q4_act8_avx2(q.codes, q.scales, m, k, codes, weights.scales, 0, weights.rows, &y, weights.rows,
                                 scratch.assumingMemoryBound(to: UInt8.self))
        } else {
            ck_gemm_q4_act8_scalar(q.codes, q.scales, m, k, codes, weights.scales, 0, weights.rows, &y, weights.rows)
        }
        return y
    }

    /// The AVX2 quantizer writes the portable one's bytes and scales (k around its vectors of 8 and 32, values at
    /// the rounding ties and the clamp included).
    @Test(.enabled(if: F32Kernel.ISA.avx2.supported, "needs AVX2"), arguments: [1, 7, 8, 31, 32, 33, 255, 256, 257, 600])
    func avx2QuantizerMatchesThePortableOne(_ k: Int) throws {
        let m = 3
        var generator = SplitMix(seed: UInt64(k))
        var x = (0..<(m * k)).map { i in (generator.nextFloat() - 0.5) * Float(1 + i % 5) }
        // Row 1: exact halves of the step (x / scale = j + 0.5, the first block's max being 127); row 2 all zero.
        if k >= 8 { for i in 0..<k { x[k + i] = Float(i % 9) - 4 + (i % 2 == 0 ? 0.5 : 0) } ; x[k] = 127 }
        for i in 0..<k { x[2 * k + i] = 0 }
        let portable = Self.quantize(x, rows: m, cols: k), avx2 = Self.quantize(x, rows: m, cols: k, avx2: true)
        #expect(avx2.codes == portable.codes)
        #expect(avx2.scales.map(\.bitPattern) == portable.scales.map(\.bitPattern))
        #expect(portable.codes[(2 * ((k + 31) / 32) * 32)...].allSatisfy { $0 == 128 }, "zeros are a = 0, stored 128")
    }

    /// k not a multiple of the group (32) or of the activation block (256), token counts around the AVX2 path's
    /// block of 4, rows around its tiles of 8 and 16 and runs of 48.
    @Test(arguments: [(5, 37, 1), (16, 256, 4), (9, 300, 5), (3, 520, 9), (17, 1024, 3), (1, 32, 2), (100, 96, 6),
                      (49, 64, 7), (24, 2048, 4)])
    func kernelIsExactIntegerMathOnTheRoundedActivations(_ shape: (rows: Int, cols: Int, tokens: Int)) throws {
        let (rows, k, m) = shape
        let matrix = try #require(KernelCheck.quantizedMatrix(rows: rows, cols: k, format: .q4, seed: UInt64(rows * 31 + k)).quantized)
        var generator = SplitMix(seed: UInt64(k + m))
        var x = [Float](repeating: 0, count: m * k)
        for i in x.indices { x[i] = generator.nextFloat() * Float(1 + i % 7) }
        let q = Self.quantize(x, rows: m, cols: k)
        let portable = Self.product(q, rows: m, cols: k, weights: matrix, avx2: false)
        if F32Kernel.ISA.avx2.supported {
            let avx2 = Self.product(q, rows: m, cols: k, weights: matrix, avx2: true)
            #expect(avx2.map { $0.bitPattern } == portable.map { $0.bitPattern }, "AVX2 and portable differ at \(rows)x\(k), \(m) tokens")
        }
        let groups = (k + 31) / 32, blocks = (groups + 7) / 8
        var weights = [Float](repeating: 0, count: rows * k)
        weights.withUnsafeMutableBufferPointer { matrix.dequantize(rows: 0, count: rows, into: $0.baseAddress!) }
        for t in 0..<m {
            // Activations as the kernel sees them: (code - 128) * block scale.
            var rounded = [Double](repeating: 0, count: k)
            for i in 0..<k {
                rounded[i] = (Double(q.codes[t * groups * 32 + i]) - 128) * Double(q.scales[t * blocks + i / 256])
            }
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0, unrounded = 0.0, rounding = 0.0
                for i in 0..<k {
                    let w = Double(weights[r * k + i])
                    exact += w * rounded[i]
                    magnitude += abs(w * rounded[i])
                    unrounded += w * Double(x[t * k + i])
                    // Against float32 activations each one is off by at most half its block's step.
                    rounding += abs(w) * Double(q.scales[t * blocks + i / 256]) / 2
                }
                let ours = Double(portable[t * rows + r])
                let tolerance = 1e-6 * max(magnitude, 1e-30)
                #expect(abs(ours - exact) <= tolerance, "t \(t) r \(r): \(ours) vs \(exact)")
                #expect(abs(ours - unrounded) <= rounding + tolerance, "t \(t) r \(r): \(ours) vs float32 \(unrounded), bound \(rounding)")
            }
        }
    }

    /// `linear` with the int8 path: a token's outputs are the same bits in a batch of 37 and alone, fused or not.
    @Test func rowsDoNotDependOnTheirBatch() throws {
        let k = 600, rowCounts = [130, 48], batch = 37
        var generator = SplitMix(seed: 9)
        let x = (0..<(batch * k)).map { _ in generator.nextFloat() }
        let weights = try rowCounts.enumerated().map { j, rows -> WeightMatrix in
            let m = KernelCheck.quantizedMatrix(rows: rows, cols: k, format: .q4, seed: UInt64(60 + j))
            return WeightMatrix(rows: rows, cols: k, dtype: .f32, base: m.base, owner: m.owner, quantized: try #require(m.quantized),
                                quantizedKernel: .int8Activations)
        }
        func run(_ first: Int, _ count: Int) -> [[Float]] {
            let ys = rowCounts.map { FloatBuffer(count: count * $0) }
            x.withUnsafeBufferPointer { xs in
                guard let base = xs.baseAddress else { return }
                linear(base + first * k, ldx: k, rows: count, outputs: (0..<2).map { (weight: weights[$0], y: ys[$0].pointer, ldy: rowCounts[$0]) },
                       scratch: FloatBuffer(count: 1))
            }
            return (0..<2).map { Array(UnsafeBufferPointer(start: ys[$0].pointer, count: count * rowCounts[$0])) }
        }
        let whole = run(0, batch)
        for token in [0, 5, 36] {
            let alone = run(token, 1)
            for j in 0..<2 {
                #expect(alone[j] == Array(whole[j][(token * rowCounts[j])..<((token + 1) * rowCounts[j])]), "token \(token) output \(j)")
            }
        }
    }

    /// Every fixture at q4 on the int8 path (small weights included, as the F32 kernel's tests do) keeps the q4 bars
    /// of `QuantizationTests` against float32 (with the same known misses) and names its variant "+act8".
    @Test(arguments: Fixtures.names)
    func q4ModelOnInt8ActivationsKeepsTheQ4Bars(_ name: String) throws {
        guard F32Kernel.supported, !(BF16Kernel.supported && BF16Kernel.allowedByEnvironment) else {
            print("SKIP int8 activations on \(name): they run where the F32 kernel takes q4 models (AVX2 hosts without AVX-512 BF16)")
            return
        }
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids"), mask = try Fixtures.matrix(expected, "attention_mask")
        let reference = try MoEModel.load(directory: Fixtures.url(name)).forward(inputIDs: ids, attentionMask: mask)
        var options = MoEModel.Options(quantize: .q4, f32Kernel: true)
        options.f32KernelForSmallWeights = true
        options.int8Activations = true
        let model = try MoEModel.load(directory: Fixtures.url(name), options: options)
        #expect(model.usesInt8Activations && model.variant.hasSuffix("+q4k+act8"))
        let output = try model.forward(inputIDs: ids, attentionMask: mask)
        let accuracy = QuantizationAccuracy(reference: reference, quantized: output, mask: mask, topK: model.spec.topK,
                                            choose: model.chosenExperts)
        print("INT8ACT \(name): mean cosine \(accuracy.meanCosine.map { String(format: "%.4f", $0) }) agreement \(String(format: "%.3f", accuracy.agreement))")
        let knownMiss = name == "deepseek_v2-tiny" || name == "deepseek_v3-tiny"
        withKnownIssue("q4 misses the 0.99 cosine bar on the group-limited MLA fixtures (issue 12)", isIntermittent: false) {
            for (layer, mean) in accuracy.meanCosine.enumerated() {
                #expect(mean >= 0.99, "\(name) layer \(layer): mean cosine \(mean)")
            }
        } when: { knownMiss }
        #expect(accuracy.agreement >= 0.85, "\(name): top-k agreement \(accuracy.agreement)")
    }
}
