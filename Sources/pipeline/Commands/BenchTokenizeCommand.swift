import Dispatch
import Extract
import Foundation

/// `pipeline bench tokenize --model DIR --input FILE`: encode speed on a file of texts (one JSON string per line).
struct BenchTokenizeCommand: Command {
    static let path = ["bench", "tokenize"]
    static let abstract = "measure tokenizer encode speed (tokens/s)"
    static let help = """
        Usage: pipeline bench tokenize --model DIR --input FILE [--passes N]

        Loads the tokenizer of DIR and encodes every text of FILE (one JSON string per line, as for
        `pipeline tokenize`) without special tokens, on one thread and then on all cores. Prints the
        load time, texts, UTF-8 megabytes, tokens, and tokens/s and MB/s per pass (single-thread passes also
        by CPU time, steadier on a busy machine). The first pass starts
        with an empty word cache; later passes reuse it. scripts/bench/tokenizer_speed.py runs this beside
        Hugging Face `tokenizers` on the same texts.

        Options:
          --model DIR    a model folder with tokenizer.json
          --input FILE   texts, one JSON string per line
          --passes N     single-thread passes (default 2)
        """

    let model: URL
    let input: URL
    let passes: Int

    init(arguments: inout Arguments) throws {
        model = URL(fileURLWithPath: try arguments.requiredOption("--model"))
        input = URL(fileURLWithPath: try arguments.requiredOption("--input"))
        passes = try arguments.intOption("--passes") ?? 2
        guard passes >= 1 else { throw UsageError("--passes must be at least 1") }
        try arguments.finish()
    }

    func run() throws {
        guard let handle = FileHandle(forReadingAtPath: input.path) else {
            throw ExitStatus(code: 1, description: "error: \(input.path): cannot open the input file")
        }
        var texts: [String] = []
        do {
            try JSONLinesIO.forEachLine(of: handle) { line, number in
                texts.append(try JSONLinesIO.text(ofJSONLine: line, number: number))
            }
        } catch let error as JSONLinesIO.LineError {
            throw ExitStatus(code: 1, description: "error: \(input.path): \(error)")
        }
        let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count }) / 1_000_000

        let loadStart = DispatchTime.now()
        let tokenizer = try Tokenizer(directory: model)
        print("model \(model.lastPathComponent): loaded in \(format(seconds(since: loadStart), 3)) s")
        print("input \(input.lastPathComponent): \(texts.count) texts, \(format(megabytes, 2)) MB")

        // Single-thread passes report this thread's CPU time as well: on a shared machine it is the steadier number.
        for pass in 1...passes {
            let start = DispatchTime.now(), cpuStart = threadCPUSeconds()
            var tokens = 0
            for text in texts { tokens += tokenizer.encode(text, addSpecialTokens: false).count }
            let cpu = threadCPUSeconds() - cpuStart
            report("pass \(pass), 1 thread", tokens: tokens, megabytes: megabytes, seconds: seconds(since: start))
            print("  cpu: \(Int(Double(tokens) / cpu)) tokens/s (\(format(cpu, 3)) s of CPU time)")
        }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let start = DispatchTime.now()
        let tokens = tokenizer.encode(batch: texts, addSpecialTokens: false).reduce(0) { $0 + $1.count }
        report("all cores (\(threads) threads)", tokens: tokens, megabytes: megabytes, seconds: seconds(since: start))
    }

    private func report(_ label: String, tokens: Int, megabytes: Double, seconds: Double) {
        print("\(label): \(tokens) tokens in \(format(seconds, 3)) s = \(Int(Double(tokens) / seconds)) tokens/s, "
              + "\(format(megabytes / seconds, 2)) MB/s")
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    private func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
