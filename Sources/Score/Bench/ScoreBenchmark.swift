import Foundation
import Synchronization

/// The stage-two speed benchmark: every task of a data folder scored from in-memory vectors, and an alpha
/// sweep of MoEE-sum over all tasks. Vectors are `HashedEmbeddings.random` (the Python side,
/// scripts/bench/score_vs_mteb.py, derives the same ones), so both sides score identical inputs.
public enum ScoreBenchmark {
    public struct TaskTiming: Sendable, Codable {
        public var task: String
        public var type: String
        public var texts: Int
        public var mainScore: Double?
        /// Seconds for `evaluate` (validation + scoring), vectors already in memory.
        public var seconds: Double
    }

    public struct SweepTiming: Sendable, Codable {
        public var alphas: Int
        public var tasks: Int
        /// Threads that evaluated (task, alpha) points at once.
        public var workers: Int
        /// Seconds to build the standardised parts once per task (not per alpha).
        public var prepareSeconds: Double
        /// Wall-clock seconds for all alphas x all tasks (fused vectors + evaluate).
        public var sweepSeconds: Double
        /// CPU seconds of the whole process during the sweep (user and system, all threads) and the minor page
        /// faults it took: steadier than wall time on a shared machine.
        public var sweepUserSeconds: Double
        public var sweepSystemSeconds: Double
        public var sweepMinorFaults: Int
        /// Per task type, seconds of evaluation summed over its points (CPU-side work; exceeds the wall clock
        /// when several workers run).
        public var secondsByType: [String: Double]
        /// Main score of every point, by task then alpha (same order as `alphas`).
        public var mainScores: [String: [Double]]

        /// A hash of the bit patterns of every main score: equal fingerprints mean bit-identical sweeps.
        public var fingerprint: String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a over (task name, score bits)
            func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            for task in mainScores.keys.sorted() {
                task.utf8.forEach(mix)
                for score in mainScores[task] ?? [] {
                    var bits = score.bitPattern
                    for _ in 0..<8 { mix(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
                }
            }
            return String(hash, radix: 16)
        }
    }

    /// The task folders under `root` (folders holding a `task.json`), sorted by name.
    public static func taskFolders(in root: URL, only names: [String]? = nil) throws -> [URL] {
        let entries = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        return entries.filter { name in
            (names?.contains(name) ?? true)
                && FileManager.default.fileExists(atPath: root.appendingPathComponent("\(name)/task.json").path)
        }.map { root.appendingPathComponent($0) }
    }

    /// Scores each task once with random vectors of `dimension`.
    public static func scoreTasks(_ tasks: [ScoreTask], dimension: Int,
                                  progress: (String) -> Void = { _ in }) throws -> [TaskTiming] {
        try tasks.map { task in
            let texts = task.requiredTexts
            let table = HashedEmbeddings.random(texts, dimension: dimension)
            let start = DispatchTime.now()
            let result = try evaluate(task: task, embeddings: table)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            progress("\(task.name): \(String(format: "%.3f", seconds)) s")
            let main = result.mainScore
            return TaskTiming(task: task.name, type: task.type.rawValue, texts: texts.count,
                              mainScore: main.isFinite ? main : nil, seconds: seconds)
        }
    }

    /// MoEE-sum over `alphas` (default 21 values 0, 0.1, ..., 2) for every task: HS of `hsDimension` and
    /// router logits of `layers` x `experts` (OLMoE: 2048 and 16 x 64), random, standardised once per task.
    /// The (task, alpha) points are independent, so `workers` threads take them from one queue, largest tasks
    /// first; every point runs the same code as a sequential sweep, so the scores are bit-identical (compare
    /// `fingerprint` of a `workers: 1` run).
    public static func alphaSweep(_ tasks: [ScoreTask], alphas: [Double] = (0...20).map { Double($0) / 10 },
                                  hsDimension: Int = 2048, layers: Int = 16, experts: Int = 64, workers: Int = 2,
                                  progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> SweepTiming {
        var prepare = 0.0
        var prepared: [(task: ScoreTask, table: EmbeddingTable, parts: MoEESumParts)] = []
        for task in tasks {
            let texts = task.requiredTexts
            let hs = HashedEmbeddings.random(texts, dimension: hsDimension).matrix
            let logits = HashedEmbeddings.random(texts.map { "router:" + $0 }, dimension: layers * experts).matrix
            let source = InMemoryTensorSource(texts: texts, pooled: [.last: .init(hiddenStates: [hs], routerLogits: logits)],
                                              routerLayers: Array(0..<layers), experts: experts)
            let start = DispatchTime.now()
            let parts = try MoEESumParts(recipe: .moeeSum(alpha: 1), source: source, texts: texts)
            prepare += seconds(since: start)
            prepared.append((task, EmbeddingTable(texts: texts, matrix: parts.hiddenState), parts))
        }
        // Classification and clustering dominate; start them first so the last points to finish are short.
        func weight(_ type: TaskType) -> Int { type == .classification || type == .clustering ? 0 : 1 }
        let taskOrder = prepared.indices.sorted { weight(prepared[$0].task.type) < weight(prepared[$1].task.type) }
        let points = taskOrder.flatMap { t in alphas.indices.map { (task: t, alpha: $0) } }

        struct Outcome { var score: Double; var seconds: Double }
        let outcomes = Mutex([Int: Result<Outcome, any Error>]())
        let next = Mutex(0)
        let shared = SendableBox(prepared)
        let usageBefore = ProcessUsage.now()
        let start = DispatchTime.now()
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, points.count))) { _ in
            while true {
                let p = next.withLock { value -> Int in defer { value += 1 }; return value }
                guard p < points.count else { return }
                let (t, a) = points[p]
                let (task, table, parts) = shared.value[t]
                let pointStart = DispatchTime.now()
                let result = Result { () throws -> Outcome in
                    let score = try evaluate(task: task, embeddings: table.replacingMatrix(parts.vectors(alpha: alphas[a])))
                    return Outcome(score: score.mainScore, seconds: seconds(since: pointStart))
                }
                outcomes.withLock { $0[p] = result }
                if a == alphas.count - 1 { progress("sweep \(task.name): alpha \(alphas[a]) done") }
            }
        }
        let sweep = seconds(since: start)
        let usage = ProcessUsage.now() - usageBefore
        var byType: [String: Double] = [:], scores: [String: [Double]] = [:]
        let finished = outcomes.withLock { $0 }
        for (p, point) in points.enumerated() {
            guard let outcome = try finished[p]?.get() else { continue }
            let task = prepared[point.task].task
            byType[task.type.rawValue, default: 0] += outcome.seconds
            scores[task.name, default: [Double](repeating: .nan, count: alphas.count)][point.alpha] = outcome.score
        }
        return SweepTiming(alphas: alphas.count, tasks: tasks.count, workers: workers, prepareSeconds: prepare,
                           sweepSeconds: sweep, sweepUserSeconds: usage.user, sweepSystemSeconds: usage.system,
                           sweepMinorFaults: usage.minorFaults, secondsByType: byType, mainScores: scores)
    }

    private static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// CPU time and minor page faults of the whole process so far (`getrusage(RUSAGE_SELF)`).
struct ProcessUsage {
    var user: Double, system: Double, minorFaults: Int

    static func now() -> ProcessUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ProcessUsage(user: seconds(usage.ru_utime), system: seconds(usage.ru_stime), minorFaults: usage.ru_minflt)
    }

    static func - (a: ProcessUsage, b: ProcessUsage) -> ProcessUsage {
        ProcessUsage(user: a.user - b.user, system: a.system - b.system, minorFaults: a.minorFaults - b.minorFaults)
    }
}

/// Hands read-only values to the workers of one `concurrentPerform`.
private struct SendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
