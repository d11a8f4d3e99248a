import Extract
import Foundation

/// `pipeline forward`: one native forward pass over a padded batch, written as safetensors (SPEC §3).
struct ForwardCommand: Command {
    static let path = ["forward"]
    static let abstract = "run the native MoE forward pass on token ids and write hidden states and router logits"
    static let help = """
        Usage: pipeline forward --model DIR --input IN.json --out OUT.safetensors [--threads N] [--no-memory-check]
                                [--quantize none|int8|q4] [--quantized-cache DIR]

        Runs the model in DIR (Hugging Face folder: config.json + safetensors weights) on the token ids of IN.json,
        {"input_ids": [[int]], "attention_mask": [[0|1]]} (left padded; a missing mask means no padding), and writes
        OUT.safetensors with hidden_states F32 [L+1, B, T, H], router_logits F32 [L_moe, B, T, E] and
        router_layers I64 [L_moe]. Positions count real tokens only; values at pad positions are 0.

        Options:
          --model DIR        the checkpoint folder
          --input IN.json    the token ids
          --out FILE         the output safetensors file
          --threads N        OpenBLAS threads (default: one per core)
          --quantize Q       quantize the weights at load: none (default), int8 or q4 (groups of 64 / 32; attention
                             one step more precise: see docs/performance.md)
          --quantized-cache DIR
                             keep the quantized weights in DIR/<fingerprint>-<q>.moeq and map them on the next load
                             instead of quantizing again (an unusable file is rebuilt, with a warning)
          --no-memory-check  run even when weights + activations exceed physical memory (weights are then paged
                             from disk, slowly)
        """

    let model: URL
    let input: URL
    let output: URL
    let threads: Int?
    let checkMemory: Bool
    let quantize: Quantization
    let quantizedCache: URL?

    init(arguments: inout Arguments) throws {
        model = URL(fileURLWithPath: try arguments.requiredOption("--model"))
        input = URL(fileURLWithPath: try arguments.requiredOption("--input"))
        output = URL(fileURLWithPath: try arguments.requiredOption("--out"))
        threads = try arguments.intOption("--threads")
        checkMemory = !arguments.flag("--no-memory-check")
        quantize = try Quantization(argument: arguments.option("--quantize"))
        quantizedCache = try arguments.option("--quantized-cache").map { URL(fileURLWithPath: $0) }
        if let threads, threads < 1 { throw UsageError("--threads must be at least 1") }
        try arguments.finish()
    }

    func run() throws {
        let batch = try ForwardInput.read(input)
        let loadStart = Date()
        let loaded = try MoEModel.load(directory: model, options: .init(threads: threads, checkMemory: checkMemory, quantize: quantize, quantizedCache: quantizedCache))
        reportLoad(loaded, seconds: Date().timeIntervalSince(loadStart))
        let start = Date()
        let result = try loaded.forward(inputIDs: batch.inputIDs, attentionMask: batch.attentionMask)
        let seconds = Date().timeIntervalSince(start)
        try result.safetensors(metadata: ["model_type": loaded.spec.modelType, "fingerprint": loaded.fingerprint, "variant": loaded.variant])
            .write(to: output)
        let tokens = batch.attentionMask.reduce(0) { $0 + $1.reduce(0, +) }
        stderr(String(format: "forward: %d sequences, %d tokens in %.3f s (%.1f tokens/s); wrote %@",
                      batch.inputIDs.count, tokens, seconds, Double(tokens) / max(seconds, 1e-9), output.path))
    }
}
