import Foundation
import Store

/// `pipeline bench store`: codec comparison and the stage-two read bars.
struct BenchStoreCommand: Command {
    static let path = ["bench", "store"]
    static let abstract = "benchmark the store: codecs, write/read throughput, bulk-read bars"
    static let help = """
        Usage: pipeline bench store [--records N] [--sample N] [--batch N] [--dir DIR] [--keep] [--reuse]

        Part 1 writes --sample records (default 1000) shaped like OLMoE-1B-7B with every codec (F32, F16, BF16,
        with and without byte shuffle, and uncompressed BLOBs as the baseline) and reads every tensor back.
        Part 2 builds a store of --records records (default 100000; ~13 GB on disk at the default codecs) and times
        reading the router logits and one hidden-state layer of all of them. Prints a Markdown table.
        Files go to --dir (default: the system temporary directory) and are deleted unless --keep. --reuse skips
        part 1 and reuses the part-2 store an earlier --keep run left in --dir (when it has --records records).
        Times are wall-clock with the process's CPU time beside them (the machine may be shared).
        """

    let records: Int
    let sample: Int
    let batch: Int
    let directory: String
    let keep: Bool
    let reuse: Bool

    init(arguments: inout Arguments) throws {
        records = try arguments.intOption("--records") ?? 100_000
        sample = try arguments.intOption("--sample") ?? 1000
        batch = try arguments.intOption("--batch") ?? 64
        directory = try arguments.option("--dir") ?? NSTemporaryDirectory()
        keep = arguments.flag("--keep")
        reuse = arguments.flag("--reuse")
        guard records > 0, sample > 0, batch > 0 else { throw UsageError("--records, --sample and --batch must be positive") }
        try arguments.finish()
    }

    func run() throws {
        let benchmark = StoreBenchmark(records: records, sample: sample, batch: batch, directory: directory, keep: keep,
                                       reuse: reuse, progress: { stderr($0) })
        print(try benchmark.run().table)
    }
}
