// mteb 2.x "fast" clustering (`AbsTaskClustering._evaluate_subset`, `_evaluate_clustering_bootstrapped`): per
// subset, sample documents with the task's `random.Random(42)` stream (continuing across subsets), then 10
// bootstrap draws of 16384 indices (with replacement), each clustered by sklearn's MiniBatchKMeans(batch 512,
// k-means++, random_state 42) and scored by V-measure and AMI. Task score: mean over subsets.
import Foundation

/// The documents mteb embeds and the bootstrap draws it makes, computed before anything is embedded.
public struct ClusteringPlan: Sendable, Equatable {
    public struct Subset: Sendable, Equatable {
        /// Indices into the subset's documents, in the order mteb embeds them.
        public let pickedIndices: [Int]
        /// Per bootstrap run, positions into `pickedIndices` (with replacement).
        public let bootstrapDraws: [[Int]]

        public init(pickedIndices: [Int], bootstrapDraws: [[Int]]) {
            self.pickedIndices = pickedIndices
            self.bootstrapDraws = bootstrapDraws
        }
    }

    public let subsets: [Subset]

    public init(subsets: [Subset]) { self.subsets = subsets }
}

/// mteb's per-task clustering parameters (class defaults, overridden per task).
public struct ClusteringParameters: Sendable, Equatable {
    public var maxFractionOfDocumentsToEmbed: Double? = 0.04
    public var maxDocumentsToEmbed: Int? = nil
    public var maxDocumentsPerCluster: Int = 16384
    public var bootstrapRuns: Int = 10
    public var kMeansBatchSize: Int = 512
    public var seed: Int = 42

    public init() {}
}

/// Why a clustering evaluation refused its input.
public enum ClusteringEvaluationError: Error, CustomStringConvertible, Equatable {
    case subsetCountMismatch(plan: Int, labels: Int, embeddings: Int)
    case rowCountMismatch(subset: Int, expected: Int, found: Int)
    case pickedIndexOutOfRange(subset: Int, index: Int, documents: Int)
    case nonFiniteValue(subset: Int, row: Int, document: Int)
    case emptySubset(subset: Int)
    case tooFewDocumentsPerRun(subset: Int, clusters: Int, documentsPerRun: Int)

    public var description: String {
        switch self {
        case let .subsetCountMismatch(plan, labels, embeddings):
            "clustering: the plan has \(plan) subsets but \(labels) label lists and \(embeddings) embedding matrices were given"
        case let .rowCountMismatch(subset, expected, found):
            "clustering subset \(subset): \(found) embedding rows for \(expected) picked documents"
        case let .pickedIndexOutOfRange(subset, index, documents):
            "clustering subset \(subset): picked document \(index) but the subset has \(documents) labels"
        case let .nonFiniteValue(subset, row, document):
            "clustering subset \(subset): the embedding of document \(document) (row \(row)) contains NaN or Inf"
        case let .emptySubset(subset):
            "clustering subset \(subset): no documents to cluster"
        case let .tooFewDocumentsPerRun(subset, clusters, documentsPerRun):
            "clustering subset \(subset): \(clusters) labels need at least as many documents per k-means run, got \(documentsPerRun)"
        }
    }
}

/// One subset's bootstrap results (mteb's `v_measures` / `ami_scores`).
public struct ClusteringSubsetResult: Sendable, Equatable {
    public let vMeasures: [Double]
    public let amis: [Double]
    public let clusters: Int
    public var vMeasure: Double { RunStatistics.mean(vMeasures) }
    public var vMeasureStd: Double { RunStatistics.populationStd(vMeasures) }
    public var ami: Double { RunStatistics.mean(amis) }
    public var amiStd: Double { RunStatistics.populationStd(amis) }
}

public enum ClusteringEvaluator {
    /// Replays mteb's document sampling and bootstrap draws for subsets of the given sizes, in evaluation order.
    public static func plan(subsetSizes: [Int], parameters: ClusteringParameters) -> ClusteringPlan {
        var random = PythonRandom(seed: UInt64(parameters.seed.magnitude))   // CPython seeds with |seed|
        var subsets: [ClusteringPlan.Subset] = []
        for n in subsetSizes {
            let picked: [Int]
            if parameters.maxDocumentsToEmbed == nil && parameters.maxFractionOfDocumentsToEmbed == nil {
                picked = Array(0..<n)   // mteb embeds the whole subset, in order, without drawing
            } else {
                let limit = parameters.maxFractionOfDocumentsToEmbed.map { Int($0 * Double(n)) }
                    ?? parameters.maxDocumentsToEmbed ?? n
                picked = random.sample(rangeCount: n, k: min(n, max(limit, 0)))
            }
            // The bootstrap of this subset runs before the next subset is sampled.
            let draws = (0..<parameters.bootstrapRuns).map { _ in
                picked.isEmpty ? [] : random.choices(rangeCount: picked.count, k: parameters.maxDocumentsPerCluster)
            }
            subsets.append(.init(pickedIndices: picked, bootstrapDraws: draws))
        }
        return ClusteringPlan(subsets: subsets)
    }

    /// Clusters and scores every subset.
    /// - Parameters:
    ///   - labels: per subset, the labels of all its documents.
    ///   - embeddings: per subset, one row per entry of that subset's `pickedIndices`, in that order.
    /// - Returns: `v_measure` (main; mean over subsets of the mean over bootstrap runs), `v_measure_std`, `ami`, ...
    public static func evaluate(plan: ClusteringPlan, labels: [[String]], embeddings: [EmbeddingMatrix],
                                parameters: ClusteringParameters) throws -> Scores {
        let subsets = try evaluateSubsets(plan: plan, labels: labels, embeddings: embeddings, parameters: parameters)
        return scores(subsets)
    }

    /// mteb's task-level metrics from per-subset results: each metric averaged over subsets.
    public static func scores(_ subsets: [ClusteringSubsetResult]) -> Scores {
        Scores(mainScoreName: "v_measure", metrics: [
            "v_measure": RunStatistics.mean(subsets.map(\.vMeasure)),
            "v_measure_std": RunStatistics.mean(subsets.map(\.vMeasureStd)),
            "ami": RunStatistics.mean(subsets.map(\.ami)),
            "ami_std": RunStatistics.mean(subsets.map(\.amiStd)),
        ])
    }

    /// Per-subset bootstrap results.
    public static func evaluateSubsets(plan: ClusteringPlan, labels: [[String]], embeddings: [EmbeddingMatrix],
                                       parameters: ClusteringParameters) throws -> [ClusteringSubsetResult] {
        guard plan.subsets.count == labels.count, labels.count == embeddings.count else {
            throw ClusteringEvaluationError.subsetCountMismatch(plan: plan.subsets.count, labels: labels.count,
                                                                embeddings: embeddings.count)
        }
        var results: [ClusteringSubsetResult] = []
        for (s, subset) in plan.subsets.enumerated() {
            let matrix = embeddings[s], picked = subset.pickedIndices
            guard matrix.rows == picked.count else {
                throw ClusteringEvaluationError.rowCountMismatch(subset: s, expected: picked.count, found: matrix.rows)
            }
            for (row, index) in picked.enumerated() {
                guard labels[s].indices.contains(index) else {
                    throw ClusteringEvaluationError.pickedIndexOutOfRange(subset: s, index: index, documents: labels[s].count)
                }
                if matrix.row(row).contains(where: { !$0.isFinite }) {
                    throw ClusteringEvaluationError.nonFiniteValue(subset: s, row: row, document: index)
                }
            }
            // Labels as codes; k-means gets as many clusters as distinct labels among the picked documents.
            let pickedLabels = picked.map { labels[s][$0] }
            let distinct = Array(Set(pickedLabels)).sorted()
            guard !picked.isEmpty, subset.bootstrapDraws.contains(where: { !$0.isEmpty }) else {
                throw ClusteringEvaluationError.emptySubset(subset: s)
            }
            if let short = subset.bootstrapDraws.first(where: { $0.count < distinct.count }) {
                throw ClusteringEvaluationError.tooFewDocumentsPerRun(subset: s, clusters: distinct.count,
                                                                     documentsPerRun: short.count)
            }
            var code = [String: Int]()
            for (i, label) in distinct.enumerated() { code[label] = i }
            let codes = pickedLabels.map { code[$0] ?? 0 }
            var kMeans = MiniBatchKMeans(clusters: distinct.count)
            kMeans.batchSize = parameters.kMeansBatchSize
            kMeans.seed = UInt32(truncatingIfNeeded: parameters.seed)
            var vMeasures: [Double] = [], amis: [Double] = []
            let workspace = kMeans.workspace(points: matrix, rows: subset.bootstrapDraws.map(\.count).max() ?? 0)
            for draw in subset.bootstrapDraws where !draw.isEmpty {
                let fit = kMeans.fitPredict(points: matrix, rows: draw, workspace: workspace)
                let truth = draw.map { codes[$0] }
                vMeasures.append(ClusteringMetrics.vMeasure(truth: truth, predicted: fit.labels))
                amis.append(ClusteringMetrics.adjustedMutualInformation(truth: truth, predicted: fit.labels))
            }
            results.append(ClusteringSubsetResult(vMeasures: vMeasures, amis: amis, clusters: distinct.count))
        }
        return results
    }
}

/// Means and spreads over experiments / bootstrap runs, as mteb takes them with NumPy.
enum RunStatistics {
    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// `np.std` (ddof = 0).
    static func populationStd(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let m = mean(values)
        return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count)).squareRoot()
    }
}
