// STUB (interface fixed for the parallel work; the score-ml branch fills in the bodies).
//
// mteb 2.x Classification (`AbsTaskClassification` + `SklearnEvaluator`): per experiment, undersample the train
// split with a fresh `np.random.RandomState(42)` shuffle of a carried-over index list, fit
// LogisticRegression(lbfgs, C=1, max_iter=100), predict the full test split; metrics are means over experiments.

/// Which train rows each of mteb's experiments uses: computed from labels alone, before anything is embedded,
/// so that stage one embeds only the union (`neededTrainIndices`).
public struct ClassificationPlan: Sendable, Equatable {
    /// Per experiment, the train-row indices in mteb's walk order.
    public let experiments: [[Int]]
    /// The sorted union of all experiments' indices: the train rows that must be embedded.
    public let neededTrainIndices: [Int]

    public init(experiments: [[Int]]) {
        self.experiments = experiments
        self.neededTrainIndices = Array(Set(experiments.joined())).sorted()
    }
}

public enum ClassificationEvaluator {
    /// mteb's `_undersample_data`, replayed for `experiments` experiments.
    public static func plan(trainLabels: [String], samplesPerLabel: Int, experiments: Int = 10) -> ClassificationPlan {
        ClassificationPlan(experiments: [])
    }

    /// Fits and scores every experiment of `plan`.
    /// - Parameters:
    ///   - trainEmbeddings: one row per entry of `plan.neededTrainIndices`, in that order.
    ///   - trainLabels: the labels of the whole train split (indexed by train-row index).
    ///   - test: one row per test record; `testLabels` aligned with it.
    /// - Returns: mteb's metrics (`accuracy` main, `f1`, `f1_weighted`, ...; `ap` for binary tasks).
    public static func evaluate(plan: ClassificationPlan, trainEmbeddings: EmbeddingMatrix, trainLabels: [String],
                                test: EmbeddingMatrix, testLabels: [String]) throws -> Scores {
        Scores(mainScoreName: "accuracy", metrics: [:])
    }
}
