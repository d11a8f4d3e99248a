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

/// Why a classification evaluation refused its input.
public enum ClassificationEvaluationError: Error, CustomStringConvertible, Equatable {
    case trainRowCountMismatch(expected: Int, found: Int)
    case testRowCountMismatch(embeddings: Int, labels: Int)
    case dimensionMismatch(train: Int, test: Int)
    case trainIndexOutOfRange(index: Int, trainLabels: Int)
    case nonFiniteTrainValue(trainIndex: Int)
    case nonFiniteTestValue(testIndex: Int)
    case singleClass(experiment: Int, label: String)

    public var description: String {
        switch self {
        case let .trainRowCountMismatch(expected, found):
            "classification: \(found) train embeddings for the plan's \(expected) needed train rows"
        case let .testRowCountMismatch(embeddings, labels):
            "classification: \(embeddings) test embeddings for \(labels) test labels"
        case let .dimensionMismatch(train, test):
            "classification: train embeddings have dimension \(train) but test embeddings \(test)"
        case let .trainIndexOutOfRange(index, trainLabels):
            "classification: the plan uses train row \(index) but the train split has \(trainLabels) labels"
        case let .nonFiniteTrainValue(trainIndex):
            "classification: the embedding of train row \(trainIndex) contains NaN or Inf"
        case let .nonFiniteTestValue(testIndex):
            "classification: the embedding of test row \(testIndex) contains NaN or Inf"
        case let .singleClass(experiment, label):
            "classification experiment \(experiment): every training row has label \(label); logistic regression needs two classes"
        }
    }
}

public enum ClassificationEvaluator {
    /// mteb's `_undersample_data`, replayed for `experiments` experiments.
    public static func plan(trainLabels: [String], samplesPerLabel: Int, experiments: Int = 10) -> ClassificationPlan {
        var order = Array(0..<trainLabels.count)   // carried over: experiment e shuffles e + 1 times
        var chosen: [[Int]] = []
        for _ in 0..<experiments {
            var random = NumPyRandomState(seed: 42)
            random.shuffle(&order)
            var kept = [String: Int]()
            var sampled: [Int] = []
            for index in order where kept[trainLabels[index], default: 0] < samplesPerLabel {
                sampled.append(index)
                kept[trainLabels[index], default: 0] += 1
            }
            chosen.append(sampled)
        }
        return ClassificationPlan(experiments: chosen)
    }

    /// Fits and scores every experiment of `plan`.
    /// - Parameters:
    ///   - trainEmbeddings: one row per entry of `plan.neededTrainIndices`, in that order.
    ///   - trainLabels: the labels of the whole train split (indexed by train-row index).
    ///   - test: one row per test record; `testLabels` aligned with it.
    /// - Returns: mteb's metrics (`accuracy` main, `f1`, `f1_weighted`, ...; `ap` for binary tasks).
    public static func evaluate(plan: ClassificationPlan, trainEmbeddings: EmbeddingMatrix, trainLabels: [String],
                                test: EmbeddingMatrix, testLabels: [String]) throws -> Scores {
        let experiments = try evaluateExperiments(plan: plan, trainEmbeddings: trainEmbeddings,
                                                  trainLabels: trainLabels, test: test, testLabels: testLabels)
        var metrics: [String: Double] = [:]
        for key in experiments.first?.keys.sorted() ?? [] {
            metrics[key] = RunStatistics.mean(experiments.compactMap { $0[key] })
        }
        return Scores(mainScoreName: "accuracy", metrics: metrics)
    }

    /// Per experiment, mteb's metrics (its `scores_per_experiment`).
    public static func evaluateExperiments(plan: ClassificationPlan, trainEmbeddings: EmbeddingMatrix,
                                           trainLabels: [String], test: EmbeddingMatrix,
                                           testLabels: [String]) throws -> [[String: Double]] {
        guard trainEmbeddings.rows == plan.neededTrainIndices.count else {
            throw ClassificationEvaluationError.trainRowCountMismatch(expected: plan.neededTrainIndices.count,
                                                                      found: trainEmbeddings.rows)
        }
        guard test.rows == testLabels.count else {
            throw ClassificationEvaluationError.testRowCountMismatch(embeddings: test.rows, labels: testLabels.count)
        }
        guard trainEmbeddings.dimension == test.dimension || trainEmbeddings.rows == 0 || test.rows == 0 else {
            throw ClassificationEvaluationError.dimensionMismatch(train: trainEmbeddings.dimension, test: test.dimension)
        }
        var position = [Int: Int]()
        for (row, index) in plan.neededTrainIndices.enumerated() {
            guard trainLabels.indices.contains(index) else {
                throw ClassificationEvaluationError.trainIndexOutOfRange(index: index, trainLabels: trainLabels.count)
            }
            if trainEmbeddings.row(row).contains(where: { !$0.isFinite }) {
                throw ClassificationEvaluationError.nonFiniteTrainValue(trainIndex: index)
            }
            position[index] = row
        }
        for row in 0..<test.rows where test.row(row).contains(where: { !$0.isFinite }) {
            throw ClassificationEvaluationError.nonFiniteTestValue(testIndex: row)
        }

        // One label space for the metrics: every label, in sklearn's sorted order.
        let labelSpace = sortedLabels(Set(trainLabels).union(testLabels))
        var code = [String: Int]()
        for (i, label) in labelSpace.enumerated() { code[label] = i }
        let testCodes = testLabels.map { code[$0] ?? 0 }
        let testClasses = Set(testCodes).sorted()
        let d = test.dimension

        var results: [[String: Double]] = []
        for (e, indices) in plan.experiments.enumerated() {
            // The classifier's classes: the sorted labels of this experiment's training rows.
            let classes = Set(indices.map { code[trainLabels[$0]] ?? 0 }).sorted()
            guard classes.count >= 2 else {
                throw ClassificationEvaluationError.singleClass(experiment: e, label: indices.first.map { trainLabels[$0] } ?? "")
            }
            var classIndex = [Int: Int]()
            for (i, c) in classes.enumerated() { classIndex[c] = i }
            var x = [Float]()
            x.reserveCapacity(indices.count * d)
            for index in indices { x.append(contentsOf: trainEmbeddings.row(position[index] ?? 0)) }
            let y = indices.map { classIndex[code[trainLabels[$0]] ?? 0] ?? 0 }
            let model = LogisticRegression().fit(x: x, rows: indices.count, dimension: d, labels: y, classes: classes.count)
            let predicted = model.predict(x: test.values, rows: test.rows).map { classes[$0] }
            var scores = ClassificationMetrics.scores(truth: testCodes, predicted: predicted, labelCount: labelSpace.count)
            if testClasses.count == 2 {
                let ap = ClassificationMetrics.averagePrecision(truth: testCodes, predicted: predicted, positive: testClasses[1])
                scores["ap"] = ap
                scores["ap_weighted"] = ap   // sklearn ignores `average` for binary truth
            }
            results.append(scores)
        }
        return results
    }

    /// sklearn's class order (`np.unique`): numeric when every label is an integer (mteb's integer labels
    /// arrive here as strings), else by Unicode code points.
    static func sortedLabels(_ labels: Set<String>) -> [String] {
        let numbers = labels.compactMap { label in Int(label).map { (label, $0) } }
        if numbers.count == labels.count { return numbers.sorted { $0.1 < $1.1 }.map(\.0) }
        return labels.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }
}
