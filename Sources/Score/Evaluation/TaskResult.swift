import Foundation

/// One task's scores in the shape of mteb's result files (`mteb/results/task_result.py`, `TaskResult`).
public struct TaskResult: Sendable, Equatable {
    /// The mteb version whose evaluators this tool reproduces.
    public static let reproducedMTEBVersion = "2.26.24"

    public struct Subset: Sendable, Equatable {
        public var hfSubset: String
        public var languages: [String]
        public var scores: Scores
    }

    public var taskName: String
    public var datasetRevision: String
    public var mtebVersion: String = TaskResult.reproducedMTEBVersion
    /// Seconds spent scoring (not embedding).
    public var evaluationTime: Double
    public var split: String = "test"
    public var subsets: [Subset]

    public init(taskName: String, datasetRevision: String, evaluationTime: Double, subsets: [Subset]) {
        self.taskName = taskName
        self.datasetRevision = datasetRevision
        self.evaluationTime = evaluationTime
        self.subsets = subsets
    }

    /// mteb's task-level number: the plain mean of the subsets' main scores.
    public var mainScore: Double {
        subsets.isEmpty ? .nan : subsets.map(\.scores.mainScore).reduce(0, +) / Double(subsets.count)
    }

    public var mainScoreName: String { subsets.first?.scores.mainScoreName ?? "main_score" }

    /// The result file mteb writes: `{dataset_revision, task_name, mteb_version, scores: {split: [{...metrics,
    /// main_score, hf_subset, languages}]}, evaluation_time, kg_co2_emissions: null}`; keys sorted, NaN as null.
    public func jsonData() throws -> Data {
        let entries: [[String: Any]] = subsets.map { subset in
            var entry: [String: Any] = subset.scores.metrics.mapValues(Self.jsonNumber)
            entry["main_score"] = Self.jsonNumber(subset.scores.mainScore)
            entry["hf_subset"] = subset.hfSubset
            entry["languages"] = subset.languages
            return entry
        }
        let object: [String: Any] = [
            "dataset_revision": datasetRevision,
            "task_name": taskName,
            "mteb_version": mtebVersion,
            "scores": [split: entries],
            "evaluation_time": evaluationTime,
            "kg_co2_emissions": NSNull(),
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes `jsonData()` to `url`, creating its folder.
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try jsonData().write(to: url, options: .atomic)
    }

    /// The compact object of `pipeline score --json`: `task_name`, `main_score`, `main_score_name` and every
    /// metric (of the only subset, or each subset's metrics under `subsets` when there are several).
    public func summaryJSON() throws -> Data {
        var object: [String: Any] = [
            "task_name": taskName,
            "main_score": Self.jsonNumber(mainScore),
            "main_score_name": mainScoreName,
        ]
        if subsets.count == 1, let only = subsets.first {
            object["metrics"] = only.scores.metrics.mapValues(Self.jsonNumber)
        } else {
            object["subsets"] = subsets.map { ["hf_subset": $0.hfSubset, "main_score": Self.jsonNumber($0.scores.mainScore),
                                               "metrics": $0.scores.metrics.mapValues(Self.jsonNumber)] as [String: Any] }
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    private static func jsonNumber(_ value: Double) -> Any { value.isFinite ? value : NSNull() }
}

extension TaskResult {
    /// A few lines for people: task, main score, then every metric sorted by name.
    public func readableSummary() -> String {
        var lines = ["\(taskName): \(mainScoreName) = \(String(format: "%.6f", mainScore))  (mteb \(mtebVersion) metrics, \(String(format: "%.2f", evaluationTime)) s)"]
        for subset in subsets {
            if subsets.count > 1 {
                lines.append("  [\(subset.hfSubset)] \(subset.scores.mainScoreName) = \(String(format: "%.6f", subset.scores.mainScore))")
            }
            for (key, value) in subset.scores.metrics.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(key.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(format: "%.6f", value))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
