import CKernels
import Foundation
import Testing
@testable import Score

/// The fixed-order kernels stage two's products run on (CKernels/fixed_order.c): every build (x86-64 baseline, AVX2,
/// AVX-512F, as many as this CPU has) gives exactly the bits of the documented order, here written out as scalar
/// Swift (which never fuses a multiply and an add). So a score cannot depend on the CPU's vector width or FMA.
@Suite(.serialized) struct FixedOrderKernelTests {
    /// The builds this CPU can run, lowest first.
    static var levels: [Int32] {
        let best = ck_fixed_order_set_isa(CK_ISA_AVX512)
        return Array(CK_ISA_BASELINE...best)
    }

    /// Runs `body` on each build, then goes back to the best one.
    static func eachLevel<T>(_ body: () -> T) -> [(level: Int32, value: T)] {
        defer { _ = ck_fixed_order_set_isa(CK_ISA_AVX512) }
        return levels.map { level in
            #expect(ck_fixed_order_set_isa(level) == level)
            return (level, body())
        }
    }

    /// Values over many binades, so that another summation order rounds differently.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let unit = Float(state >> 40) / Float(1 << 24) - 0.5
            return unit * Float(1 << Int((state >> 20) % 12))
        }
    }

    /// The documented float32 order: 16 lanes over whole blocks, the tail into lanes 0, 1, ..., lanes folded by halves.
    static func referenceDot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        let a = Array(a), b = Array(b), k = a.count, body = k / 16 * 16
        var lane = [Float](repeating: 0, count: 16)
        for i in stride(from: 0, to: body, by: 16) { for l in 0..<16 { lane[l] += a[i + l] * b[i + l] } }
        for i in body..<k { lane[i - body] += a[i] * b[i] }
        var width = 8
        while width > 0 { for l in 0..<width { lane[l] += lane[l + width] }; width /= 2 }
        return lane[0]
    }

    static func referenceDot(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        let a = Array(a), b = Array(b), k = a.count, body = k / 8 * 8
        var lane = [Double](repeating: 0, count: 8)
        for i in stride(from: 0, to: body, by: 8) { for l in 0..<8 { lane[l] += a[i + l] * b[i + l] } }
        for i in body..<k { lane[i - body] += a[i] * b[i] }
        var width = 4
        while width > 0 { for l in 0..<width { lane[l] += lane[l + width] }; width /= 2 }
        return lane[0]
    }

    /// Shapes around every build's blocks (1-2 rows x 2-4 columns) and lane counts.
    static let shapes = [(1, 1, 1), (3, 5, 17), (2, 4, 16), (7, 9, 100), (5, 6, 3077)]

    @Test(arguments: shapes) func dotRowsF32FollowsTheOrderOnEveryBuild(m: Int, n: Int, k: Int) {
        let a = Self.values(m * k, seed: 1), b = Self.values(n * k, seed: 2)
        let expected = (0..<m).flatMap { i in (0..<n).map { j in Self.referenceDot(a[(i * k)..<((i + 1) * k)], b[(j * k)..<((j + 1) * k)]) } }
        for (level, got) in Self.eachLevel({ () -> [Float] in
            var c = [Float](repeating: .nan, count: m * n)
            ck_dot_rows_f32(a, k, m, b, k, n, k, &c, n)
            return c
        }) {
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "build \(level), \(m)x\(n)x\(k)")
        }
        if k == 3077 {
            // The data is such that plain index order would round differently: the test can tell orders apart.
            let sequential = (0..<k).reduce(Float(0)) { $0 + a[$1] * b[$1] }
            #expect(sequential.bitPattern != expected[0].bitPattern)
        }
    }

    @Test(arguments: shapes) func dotRowsF64FollowsTheOrderOnEveryBuild(m: Int, n: Int, k: Int) {
        let a = Self.values(m * k, seed: 3).map { Double($0) * (1 + 1e-9) }, b = Self.values(n * k, seed: 4).map { Double($0) / 3 }
        let expected = (0..<m).flatMap { i in (0..<n).map { j in Self.referenceDot(a[(i * k)..<((i + 1) * k)], b[(j * k)..<((j + 1) * k)]) } }
        for (level, got) in Self.eachLevel({ () -> [Double] in
            var c = [Double](repeating: .nan, count: m * n)
            ck_dot_rows_f64(a, k, m, b, k, n, k, &c, n)
            return c
        }) {
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "build \(level), \(m)x\(n)x\(k)")
        }
    }

    /// Gᵀ X with each element summed over the rows in order, columns in and beyond one 256-wide tile.
    @Test(arguments: [(1, 1, 5), (9, 3, 300), (40, 7, 3077)]) func weightedRowsSumInRowOrderOnEveryBuild(n: Int, outputs: Int, d: Int) {
        let g = Self.values(n * outputs, seed: 5), x = Self.values(n * d, seed: 6)
        var expected = [Float](repeating: 0, count: outputs * d)
        for i in 0..<n { for o in 0..<outputs { for j in 0..<d { expected[o * d + j] += g[i * outputs + o] * x[i * d + j] } } }
        for (level, got) in Self.eachLevel({ () -> [Float] in
            var out = [Float](repeating: .nan, count: outputs * d)
            ck_weighted_rows_f32(g, outputs, n, outputs, x, d, d, &out, d)
            return out
        }) {
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "build \(level), \(n)x\(outputs)x\(d)")
        }
    }

    /// The consumers end to end on every build: k-means labels and logistic-regression coefficients, whose
    /// near-ties amplify any difference in the last bit, are identical.
    @Test func kMeansAndLogisticRegressionAreTheSameOnEveryBuild() {
        let rows = 600, d = 48, classes = 5
        let x = Self.values(rows * d, seed: 7).map { $0 / 64 }
        let labels = (0..<rows).map { $0 % classes }
        let matrix = EmbeddingMatrix(rows: rows, dimension: d, values: x)
        let runs = Self.eachLevel { () -> (labels: [Int], weights: [UInt32], iterations: Int) in
            var kMeans = MiniBatchKMeans(clusters: 7)
            kMeans.batchSize = 128
            let fit = LogisticRegression().fit(x: x, rows: rows, dimension: d, labels: labels, classes: classes)
            return (kMeans.fitPredict(matrix).labels, fit.weights.map(\.bitPattern), fit.fit.iterations)
        }
        for run in runs.dropFirst() {
            #expect(run.value.labels == runs[0].value.labels, "k-means labels, build \(run.level)")
            #expect(run.value.weights == runs[0].value.weights, "coefficients, build \(run.level)")
            #expect(run.value.iterations == runs[0].value.iterations)
        }
        #expect(runs[0].value.iterations > 5, "the fit ran long enough for rounding to matter")
    }
}
