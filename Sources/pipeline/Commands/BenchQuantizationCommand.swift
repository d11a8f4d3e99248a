import Extract
import Foundation

/// `pipeline bench quantization`: accuracy and weight bytes of int8/q4 against the unquantized model (issue 6).
struct BenchQuantizationCommand: Command {
    static let path = ["bench", "quantization"]
    static let abstract = "compare int8/q4 weights with the unquantized model: per-layer cosine, top-k agreement, bytes"
    static let help = """
        Usage: pipeline bench quantization --model DIR [--workload FILE] [--sequences N] [--quantize int8|q4]
                                           [--quantized-cache DIR]

        Runs the first N sequences (default 16) of the workload FILE (default scripts/bench/workload.json) as one
        left-padded batch through the model in DIR unquantized, then quantized (int8 and q4, or only --quantize),
        and prints per hidden state the cosine with the unquantized run (mean and minimum over real tokens), the
        top-k expert agreement, and the weight bytes with and without the embedding. Last line: one JSON array.
        --quantized-cache DIR maps (or writes) the quantized weights there, as `pipeline forward` does.
        """

    let model: URL
    let workload: URL
    let count: Int
    let formats: [Quantization]
    let quantizedCache: URL?

    init(arguments: inout Arguments) throws {
        model = URL(fileURLWithPath: try arguments.requiredOption("--model"))
        workload = URL(fileURLWithPath: try arguments.option("--workload") ?? "scripts/bench/workload.json")
        count = try arguments.intOption("--sequences") ?? 16
        let only = try Quantization(argument: arguments.option("--quantize"))
        formats = only == .none ? [.int8, .q4] : [only]
        quantizedCache = try arguments.option("--quantized-cache").map { URL(fileURLWithPath: $0) }
        guard count >= 1 else { throw UsageError("--sequences must be at least 1") }
        try arguments.finish()
    }

    func run() throws {
        let sequences = Array(try ExtractBenchmark.Workload.read(workload).sequences.prefix(count))
        let results = try QuantizationAccuracy.measure(directory: model, sequences: sequences, formats: formats,
                                                       options: .init(quantizedCache: quantizedCache), progress: { stderr($0) })
        for r in results {
            print("\(r.format.rawValue) (\(sequences.count) sequences, \(sequences.reduce(0) { $0 + $1.count }) tokens):")
            print(r.accuracy.report)
            print(String(format: "weight bytes %.3f GB vs %.3f GB unquantized (%.3fx); without the embedding %.3f vs %.3f GB (%.3fx)",
                         Double(r.weightBytes) / 1e9, Double(r.referenceWeightBytes) / 1e9, Double(r.weightBytes) / Double(r.referenceWeightBytes),
                         Double(r.bytesWithoutEmbedding) / 1e9, Double(r.referenceBytesWithoutEmbedding) / 1e9,
                         Double(r.bytesWithoutEmbedding) / Double(r.referenceBytesWithoutEmbedding)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(results), as: UTF8.self))
    }
}
