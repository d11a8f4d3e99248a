import Foundation
import Extract
import Score

/// `pipeline bench score`: times stage two on every task from in-memory vectors (and an alpha sweep).
struct BenchScoreCommand: Command {
    static let path = ["bench", "score"]
    static let abstract = "time scoring of every MTEB task from in-memory vectors (and a MoEE-sum alpha sweep)"
    static let help = """
        Usage: pipeline bench score [--data DIR] [--dimension N] [--tasks A,B] [--alphas N] [--workers N] [--blas-threads N]
                                   [--no-sweep] [--json]

        Scores every task folder under DIR (default ../shared/data/mteb) from random vectors of dimension N
        (default 3072 = OLMoE's HS 2048 + RW 16 x 64) held in memory, printing seconds per task; then scores
        MoEE-sum for N alphas (default 21) on every task, the (task, alpha) points spread over --workers
        threads; the sweep prints a fingerprint of every main score's bits, so a --workers 1 run shows the
        parallel sweep is bit-identical. scripts/bench/score_vs_mteb.py runs the same vectors through mteb
        and prints the ratio.

        Options:
          --data DIR       folder of task folders
          --dimension N    vector dimension for the per-task timing
          --tasks A,B      only these task folders
          --alphas N       alpha values in the sweep (0, 0.1, ...)
          --workers N      threads for the sweep (default: the CPU count)
          --blas-threads N OpenBLAS threads (default: 1 when the sweep has several workers, else OpenBLAS's own)
          --no-sweep       skip the alpha sweep
          --json           print the timings as JSON
        """

    let data: String
    let dimension: Int
    let tasks: [String]?
    let alphas: Int
    let workers: Int
    let blasThreads: Int?
    let sweep: Bool
    let json: Bool

    init(arguments: inout Arguments) throws {
        data = try arguments.option("--data") ?? "../shared/data/mteb"
        dimension = try arguments.intOption("--dimension") ?? 3072
        tasks = try arguments.option("--tasks").map { $0.split(separator: ",").map(String.init) }
        alphas = try arguments.intOption("--alphas") ?? 21
        workers = try arguments.intOption("--workers") ?? ProcessInfo.processInfo.activeProcessorCount
        blasThreads = try arguments.intOption("--blas-threads")
        sweep = !arguments.flag("--no-sweep")
        json = arguments.flag("--json")
        try arguments.finish()
        guard dimension > 0 else { throw UsageError("--dimension must be positive") }
        guard alphas > 0 else { throw UsageError("--alphas must be positive") }
        guard workers > 0 else { throw UsageError("--workers must be positive") }
        guard blasThreads.map({ $0 > 0 }) ?? true else { throw UsageError("--blas-threads must be positive") }
    }

    func run() throws {
        ScoreMemory.retainFreedMemory()
        let root = URL(fileURLWithPath: data)
        let loadStart = Date()
        let loaded = try ScoreBenchmark.taskFolders(in: root, only: tasks).map { try ScoreTask.load(from: $0) }
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8)) }
        let timings = try ScoreBenchmark.scoreTasks(loaded, dimension: dimension, progress: log)
        let alphaValues = (0..<alphas).map { Double($0) / 10 }
        // Two BLAS pools under two sweep workers would oversubscribe the cores.
        if let blasThreads { BLASThreads.set(blasThreads) } else if sweep && workers > 1 { BLASThreads.set(1) }
        let sweepTiming = sweep ? try ScoreBenchmark.alphaSweep(loaded, alphas: alphaValues, workers: workers,
                                                                progress: log) : nil
        let total = timings.map(\.seconds).reduce(0, +)
        if json {
            struct Output: Codable {
                let dimension: Int, loadSeconds: Double, totalSeconds: Double
                let tasks: [ScoreBenchmark.TaskTiming], sweep: ScoreBenchmark.SweepTiming?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(Output(dimension: dimension, loadSeconds: loadSeconds,
                                                                      totalSeconds: total, tasks: timings, sweep: sweepTiming)))
            print()
            return
        }
        print("stage-two scoring, dimension \(dimension), vectors in memory (task loading \(String(format: "%.2f", loadSeconds)) s)")
        for timing in timings {
            let main = timing.mainScore.map { String(format: "%.5f", $0) } ?? "-"
            print("  \(timing.task.padding(toLength: 40, withPad: " ", startingAt: 0)) \(timing.type.padding(toLength: 19, withPad: " ", startingAt: 0)) texts \(String(timing.texts).padding(toLength: 7, withPad: " ", startingAt: 0)) main \(main)  \(String(format: "%8.3f", timing.seconds)) s")
        }
        print("  total \(String(format: "%.3f", total)) s")
        if let sweepTiming {
            print("alpha sweep: \(sweepTiming.alphas) alphas x \(sweepTiming.tasks) tasks in \(String(format: "%.2f", sweepTiming.sweepSeconds)) s on \(sweepTiming.workers) workers (+ \(String(format: "%.2f", sweepTiming.prepareSeconds)) s standardising once per task)")
            print("  sweep CPU: user \(String(format: "%.2f", sweepTiming.sweepUserSeconds)) s, system \(String(format: "%.2f", sweepTiming.sweepSystemSeconds)) s, \(sweepTiming.sweepMinorFaults) minor page faults")
            for (type, seconds) in sweepTiming.secondsByType.sorted(by: { $0.value > $1.value }) {
                print("  \(type.padding(toLength: 19, withPad: " ", startingAt: 0)) \(String(format: "%8.2f", seconds)) s (summed over points)")
            }
            print("  score fingerprint \(sweepTiming.fingerprint)")
        }
    }
}
