// STUB (interface fixed for the parallel work; the score-ml branch fills in the bodies).
//
// mteb 2.x "fast" clustering (`AbsTaskClustering._evaluate_subset`): per subset, sample documents with the task's
// `random.Random(42)` stream (continuing across subsets), then 10 bootstrap draws of 16384 indices (with
// replacement), each clustered by sklearn's MiniBatchKMeans(batch 512, k-means++, random_state 42) and scored
// by V-measure. Task score: mean over subsets.

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

public enum ClusteringEvaluator {
    /// Replays mteb's document sampling and bootstrap draws for subsets of the given sizes, in evaluation order.
    public static func plan(subsetSizes: [Int], parameters: ClusteringParameters) -> ClusteringPlan {
        ClusteringPlan(subsets: [])
    }

    /// Clusters and scores every subset.
    /// - Parameters:
    ///   - labels: per subset, the labels of all its documents.
    ///   - embeddings: per subset, one row per entry of that subset's `pickedIndices`, in that order.
    /// - Returns: `v_measure` (main; mean over subsets of the mean over bootstrap runs), `v_measure_std`, `ami`, ...
    public static func evaluate(plan: ClusteringPlan, labels: [[String]], embeddings: [EmbeddingMatrix],
                                parameters: ClusteringParameters) throws -> Scores {
        Scores(mainScoreName: "v_measure", metrics: [:])
    }
}
