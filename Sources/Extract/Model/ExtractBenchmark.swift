import CBLAS
import Foundation

/// `pipeline bench extract`: throughput of the forward pass on a fixed workload, batched as `extract` batches it,
/// with where the time goes and how far it is from what this CPU's sgemm could do.
public struct ExtractBenchmark {
    /// The workload file written by `scripts/bench/make_workload.py` (Python's transformers reads the same one).
    public struct Workload: Codable, Sendable {
        public var seed: Int
        public var sequences: [[Int]]
        public var realTokens: Int { sequences.reduce(0) { $0 + $1.count } }

        public static func read(_ url: URL) throws -> Workload {
            do {
                return try JSONDecoder().decode(Workload.self, from: Data(contentsOf: url))
            } catch {
                throw ForwardError.badWorkload(path: url.path, reason: "\(error)")
            }
        }
    }

    /// Wall time by part of the pass, from the capture points (each part runs up to its capture point).
    public struct Shares: Codable, Sendable {
        public var attention = 0.0, router = 0.0, experts = 0.0, rest = 0.0
        public var total: Double { attention + router + experts + rest }
    }

    public struct Result: Codable, Sendable {
        public var model: String
        public var variant: String
        public var blasCore: String
        /// The CPU (model name, cores, SIMD flags) and the kernel that computed the products.
        public var cpu: String
        public var kernel: String
        public var sequences: Int
        public var realTokens: Int
        public var batches: Int
        public var tokenBudget: Int
        public var seconds: Double
        public var tokensPerSecond: Double
        public var peakRSSBytes: Int
        public var secondsByPart: Shares
        public var flopsPerToken: Double
        public var sgemmGFLOPS: Double
        public var idealTokensPerSecond: Double
        public var shareOfIdeal: Double

        enum CodingKeys: String, CodingKey {
            case model, variant, cpu, kernel, sequences, batches
            case blasCore = "blas_core", realTokens = "real_tokens", tokenBudget = "token_budget", seconds
            case tokensPerSecond = "tokens_per_second", peakRSSBytes = "peak_rss_bytes", secondsByPart = "seconds_by_part"
            case flopsPerToken = "flops_per_token", sgemmGFLOPS = "sgemm_gflops"
            case idealTokensPerSecond = "ideal_tokens_per_second", shareOfIdeal = "share_of_ideal"
        }

        /// Human-readable lines, then the JSON object as the last line.
        public var report: String {
            let parts = secondsByPart, total = max(parts.total, 1e-9)
            func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x / total) }
            var lines = [
                "model \(model) (\(variant)), OpenBLAS core \(blasCore)",
                "CPU: \(cpu); kernel: \(kernel)",
                "workload: \(sequences) sequences, \(realTokens) real tokens, \(batches) batches (token budget \(tokenBudget))",
                String(format: "time %.2f s: %.1f tokens/s; peak RSS %.2f GB", seconds, tokensPerSecond, Double(peakRSSBytes) / 1e9),
                "time by part: attention \(pct(parts.attention)), router \(pct(parts.router)), experts \(pct(parts.experts)), rest \(pct(parts.rest))",
                String(format: "ideal at sgemm %.0f GFLOP/s (M=512) and %.2f GFLOP/token: %.1f tokens/s; ours is %.1f%% of it",
                       sgemmGFLOPS, flopsPerToken / 1e9, idealTokensPerSecond, 100 * shareOfIdeal),
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(self), let json = String(data: data, encoding: .utf8) { lines.append(json) }
            return lines.joined(separator: "\n")
        }
    }

    public let model: MoEModel
    public let workload: Workload
    public let tokenBudget: Int

    public init(model: MoEModel, workload: Workload, tokenBudget: Int) {
        self.model = model
        self.workload = workload
        self.tokenBudget = tokenBudget
    }

    /// Multiply-adds x 2 per real token: projections, router, top-k experts, shared experts, and attention's
    /// q·k and p·v over `averageLength / 2` keys on average (causal).
    public static func flopsPerToken(_ spec: ModelSpec, averageLength: Double) -> Double {
        let h = Double(spec.hiddenSize), qw = Double(spec.qWidth), ow = Double(spec.attentionOutputWidth)
        let projections = Double(spec.attentionMatrices.reduce(0) { $0 + $1.rows * $1.cols })
        var total = 0.0
        for layer in spec.layers {
            total += 2 * projections
            total += 2 * (qw + ow) * averageLength / 2
            switch layer {
            case let .dense(intermediate):
                total += 2 * 3 * h * Double(intermediate)
            case let .moe(moe):
                total += 2 * h * Double(moe.experts)
                total += 2 * 3 * h * Double(moe.expertIntermediate) * Double(moe.topK)
                if let shared = moe.shared { total += 2 * 3 * h * Double(shared.intermediate) }
            }
        }
        return total
    }

    /// sgemm rate `y (m, n) = x (m, k) · Wᵀ` with an expert-shaped weight, in GFLOP/s (best of `repeats`).
    public static func sgemmGFLOPS(m: Int, n: Int = 2048, k: Int = 2048, repeats: Int = 5) -> Double {
        let x = [Float](repeating: 0.01, count: m * k), w = [Float](repeating: 0.02, count: n * k)
        var y = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<(repeats + 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k),
                        w, Int32(k), 0, &y, Int32(n))
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }

    /// A packed kernel's rate on the same shape (weights packed, both cores; the BF16 kernel rounds the activations
    /// per call), in GFLOP/s (best of `repeats`); nil on CPUs without it (AVX-512 BF16; AVX-512F or AVX2/FMA).
    public static func kernelGFLOPS(_ kernel: Kernel, m: Int, n: Int = 2048, k: Int = 2048, repeats: Int = 5) -> Double? {
        guard kernel.supported else { return nil }
        let weights = FloatBuffer(count: n * k)
        for i in 0..<(n * k) { weights.pointer[i] = Float(i % 7) * 0.01 }
        let matrix = WeightMatrix(rows: n, cols: k, dtype: .f32, base: UnsafeRawPointer(weights.pointer), owner: weights)
            .packedForKernel(kernel.element, scratch: FloatBuffer(count: 1))
        let x = FloatBuffer(count: m * k), y = FloatBuffer(count: m * n), scratch = FloatBuffer(count: m * k)
        x.pointer.update(repeating: 0.01, count: m * k)
        var best = Double.infinity
        for _ in 0..<(repeats + 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            linear(x.pointer, ldx: k, rows: m, weight: matrix, into: y.pointer, ldy: n, scratch: scratch)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }

    /// The packed kernels `kernelGFLOPS` measures.
    public enum Kernel: Sendable {
        /// AVX-512 BF16; float32 (AVX-512F or AVX2/FMA); BF16 weights widened in registers (AVX2/FMA).
        case bf16, f32, bf16Widened

        var element: PackedMatrix.Element {
            switch self { case .bf16: .bf16; case .f32: .f32; case .bf16Widened: .bf16Widened }
        }

        /// This CPU runs it (AVX-512 BF16; AVX-512F or AVX2/FMA).
        public var supported: Bool { self == .bf16 ? BF16Kernel.supported : F32Kernel.supported }
    }

    /// Peak resident set of this process (getrusage; Linux reports KiB).
    public static var peakRSSBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// One warm-up batch (maps the weights in), then the whole workload, timed.
    public func run(progress: ((String) -> Void)? = nil) throws -> Result {
        let sequences = workload.sequences
        try model.validate(sequences)
        let plan = planBatches(lengths: sequences.map(\.count), tokenBudget: tokenBudget)
        let clock = PartClock()
        let timing = CaptureSink(wants: { name, _ in clock.mark(name); return false }, receive: { _ in })
        let silent = CaptureSink(wants: { _, _ in false }, receive: { _ in })
        if let first = plan.first {
            progress?("warm-up: \(first.count) sequences")
            try model.run(sequences: first.map { sequences[$0] }, capture: silent)
        }
        clock.reset()
        let start = DispatchTime.now().uptimeNanoseconds
        for (b, members) in plan.enumerated() {
            clock.startBatch()
            try model.run(sequences: members.map { sequences[$0] }, capture: timing)
            clock.endBatch()
            progress?("batch \(b + 1)/\(plan.count): \(members.count) sequences")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let tokens = workload.realTokens
        let flops = Self.flopsPerToken(model.spec, averageLength: Double(tokens) / Double(max(1, sequences.count)))
        let gflops = Self.sgemmGFLOPS(m: 512)
        let ideal = gflops * 1e9 / flops
        let rate = Double(tokens) / seconds
        return Result(model: model.directory.lastPathComponent, variant: model.variant, blasCore: BLASCore.current,
                      cpu: HostCPU.summary, kernel: model.kernelDescription,
                      sequences: sequences.count, realTokens: tokens, batches: plan.count, tokenBudget: tokenBudget,
                      seconds: seconds, tokensPerSecond: rate, peakRSSBytes: Self.peakRSSBytes,
                      secondsByPart: clock.shares, flopsPerToken: flops, sgemmGFLOPS: gflops,
                      idealTokensPerSecond: ideal, shareOfIdeal: rate / ideal)
    }
}

/// Attributes the time between consecutive capture points to the part that ends at the later point:
/// "attn_out" closes attention (with its RMSNorm), "ffn_moe_logits" the router (with the residual add and norm),
/// "ffn_out" the experts (or a dense MLP); everything else (embeddings, adds, final norm) is rest.
final class PartClock: @unchecked Sendable {
    private(set) var shares = ExtractBenchmark.Shares()
    private var last: UInt64 = 0

    func reset() { shares = ExtractBenchmark.Shares() }
    func startBatch() { last = DispatchTime.now().uptimeNanoseconds }
    func endBatch() { mark(nil) }

    func mark(_ name: CaptureName?) {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - last) / 1e9
        last = now
        switch name {
        case .attentionOutput?: shares.attention += elapsed
        case .routerLogits?: shares.router += elapsed
        case .feedForwardOutput?: shares.experts += elapsed  // a dense MLP counts as experts too
        default: shares.rest += elapsed
        }
    }
}
