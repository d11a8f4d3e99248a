import Extract
import Foundation

/// `pipeline bench extract`: forward-pass throughput on a fixed workload (issue 6).
struct BenchExtractCommand: Command {
    static let path = ["bench", "extract"]
    static let abstract = "benchmark the forward pass: tokens/s, peak RSS, time by part, share of the sgemm ideal"
    static let help = """
        Usage: pipeline bench extract --model DIR [--quantize none|int8|q4] [--quantized-cache DIR] [--workload FILE] [--token-budget N]
                                      [--threads N] [--sgemm]

        Runs the model in DIR on the seeded workload FILE (default scripts/bench/workload.json: 64 sequences of
        16-64 token ids, written by scripts/bench/make_workload.py), batched as extract batches it (sorted by length,
        packed up to --token-budget real tokens, default 4096), after one warm-up batch. Prints tokens/s over real
        tokens, peak RSS, the share of time in attention, router, experts and the rest, and the ideal tokens/s at this
        machine's sgemm rate (M=512) for the model's FLOPs per token. The last line is one JSON object
        (tokens_per_second, peak_rss_bytes, ...); the load time goes to stderr. --quantized-cache DIR keeps the quantized
        weights in DIR and maps them on the next load (see `pipeline forward --help`). --sgemm prints only the sgemm
        GFLOP/s at M=8, 32, 128, 512, and the BF16 kernel's on CPUs with AVX-512 BF16 and the F32 kernel's on CPUs with
        AVX-512F or AVX2/FMA (each with its ratio to sgemm, measured in turn; MOEE_F32_KERNEL_ISA=avx2 measures the
        AVX2 path on an AVX-512 host). BF16 checkpoints and quantized models run on the
        BF16 kernel there (variants BF16+bf16, BF16+q4+bf16); MOEE_BF16_KERNEL=0 runs them on sgemm instead. F32
        checkpoints run on the F32 kernel (variant F32: float32 as sgemm computes it); MOEE_F32_KERNEL=0 runs them on
        sgemm instead.
        OpenBLAS's AVX-512 kernels are selected at start-up (MOEE_NO_REEXEC=1 turns that off, for comparison).
        """

    let model: URL?
    let workload: URL
    let tokenBudget: Int
    let threads: Int?
    let quantize: Quantization
    let quantizedCache: URL?
    let sgemmOnly: Bool

    init(arguments: inout Arguments) throws {
        sgemmOnly = arguments.flag("--sgemm")
        model = try arguments.option("--model").map { URL(fileURLWithPath: $0) }
        workload = URL(fileURLWithPath: try arguments.option("--workload") ?? "scripts/bench/workload.json")
        tokenBudget = try arguments.intOption("--token-budget") ?? 4096
        threads = try arguments.intOption("--threads")
        quantize = try Quantization(argument: arguments.option("--quantize"))
        quantizedCache = try arguments.option("--quantized-cache").map { URL(fileURLWithPath: $0) }
        guard tokenBudget >= 1 else { throw UsageError("--token-budget must be at least 1") }
        if let threads, threads < 1 { throw UsageError("--threads must be at least 1") }
        if model == nil && !sgemmOnly { throw UsageError("--model DIR is required") }
        try arguments.finish()
    }

    func run() throws {
        if let threads { BLASThreads.set(threads) } else { BLASThreads.set() }
        print("CPU: \(HostCPU.summary)")
        if sgemmOnly {
            let rates = [8, 32, 128, 512].map { m in String(format: "M=%d: %.1f", m, ExtractBenchmark.sgemmGFLOPS(m: m, repeats: 10)) }
            print("sgemm GFLOP/s (N=2048, K=2048), OpenBLAS core \(BLASCore.current): \(rates.joined(separator: ", "))")
            let f32Name = "F32 (\(F32Kernel.isa?.rawValue ?? "none"))"
            let kernels = [(ExtractBenchmark.Kernel.bf16, "BF16"), (.f32, f32Name), (.bf16Widened, "F32 on BF16 weights (AVX2/FMA)")]
            for (kernel, name) in kernels where kernel.supported {
                let rates = [8, 32, 128, 512].map { m in
                    let rate = ExtractBenchmark.kernelGFLOPS(kernel, m: m, repeats: 10) ?? 0
                    return String(format: "M=%d: %.1f (%.2fx sgemm)", m, rate, rate / ExtractBenchmark.sgemmGFLOPS(m: m, repeats: 10))
                }
                print("\(name) kernel GFLOP/s (N=2048, K=2048): \(rates.joined(separator: ", "))")
            }
            return
        }
        guard let model else { return }
        let work = try ExtractBenchmark.Workload.read(workload)
        let loadStart = Date()
        let loaded = try MoEModel.load(directory: model, options: .init(threads: threads, quantize: quantize, quantizedCache: quantizedCache))
        reportLoad(loaded, seconds: Date().timeIntervalSince(loadStart))
        let result = try ExtractBenchmark(model: loaded, workload: work, tokenBudget: tokenBudget).run(progress: { stderr($0) })
        print(result.report)
    }
}
