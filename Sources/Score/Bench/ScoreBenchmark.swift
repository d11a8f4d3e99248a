import Foundation

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
        /// Seconds to build the standardised parts once per task (not per alpha).
        public var prepareSeconds: Double
        /// Seconds for all alphas x all tasks (fused vectors + evaluate).
        public var sweepSeconds: Double
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
    public static func alphaSweep(_ tasks: [ScoreTask], alphas: [Double] = (0...20).map { Double($0) / 10 },
                                  hsDimension: Int = 2048, layers: Int = 16, experts: Int = 64,
                                  progress: (String) -> Void = { _ in }) throws -> SweepTiming {
        var prepare = 0.0, sweep = 0.0
        for task in tasks {
            let texts = task.requiredTexts
            let hs = HashedEmbeddings.random(texts, dimension: hsDimension).matrix
            let logits = HashedEmbeddings.random(texts.map { "router:" + $0 }, dimension: layers * experts).matrix
            let source = InMemoryTensorSource(texts: texts, pooled: [.last: .init(hiddenStates: [hs], routerLogits: logits)],
                                              routerLayers: Array(0..<layers), experts: experts)
            var start = DispatchTime.now()
            let parts = try MoEESumParts(recipe: .moeeSum(alpha: 1), source: source, texts: texts)
            prepare += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            let table = EmbeddingTable(texts: texts, matrix: parts.hiddenState)
            start = DispatchTime.now()
            for alpha in alphas {
                _ = try evaluate(task: task, embeddings: table.replacingMatrix(parts.vectors(alpha: alpha)))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            sweep += seconds
            progress("sweep \(task.name): \(alphas.count) alphas in \(String(format: "%.2f", seconds)) s")
        }
        return SweepTiming(alphas: alphas.count, tasks: tasks.count, prepareSeconds: prepare, sweepSeconds: sweep)
    }
}
