import Testing
@testable import Score

/// Bad input is refused with a typed error naming the row; zero vectors are scored (mteb's convention).
struct ClassificationInputTests {
    static let trainLabels = ["a", "b", "a", "b", "a", "b", "c", "c"]

    static func matrix(rows: Int, dimension: Int = 3, value: (Int, Int) -> Float) -> EmbeddingMatrix {
        EmbeddingMatrix(rows: rows, dimension: dimension,
                        values: (0..<rows).flatMap { r in (0..<dimension).map { value(r, $0) } })
    }

    @Test func nanInTrainEmbeddingNamesTheRow() throws {
        let plan = ClassificationEvaluator.plan(trainLabels: Self.trainLabels, samplesPerLabel: 2, experiments: 2)
        var train = Self.matrix(rows: plan.neededTrainIndices.count) { r, c in Float(r + c) }
        train.values[train.dimension * 1 + 2] = .nan
        let test = Self.matrix(rows: 3) { r, c in Float(r * c) }
        #expect(throws: ClassificationEvaluationError.nonFiniteTrainValue(trainIndex: plan.neededTrainIndices[1])) {
            try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: train, trainLabels: Self.trainLabels,
                                                 test: test, testLabels: ["a", "b", "c"])
        }
    }

    @Test func infinityInTestEmbeddingNamesTheRow() throws {
        let plan = ClassificationEvaluator.plan(trainLabels: Self.trainLabels, samplesPerLabel: 2, experiments: 1)
        let train = Self.matrix(rows: plan.neededTrainIndices.count) { r, c in Float(r + c) }
        var test = Self.matrix(rows: 3) { r, c in Float(r * c) }
        test.values[2 * 3] = .infinity
        #expect(throws: ClassificationEvaluationError.nonFiniteTestValue(testIndex: 2)) {
            try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: train, trainLabels: Self.trainLabels,
                                                 test: test, testLabels: ["a", "b", "c"])
        }
    }

    @Test func rowCountsMustMatchThePlan() throws {
        let plan = ClassificationEvaluator.plan(trainLabels: Self.trainLabels, samplesPerLabel: 2, experiments: 1)
        let test = Self.matrix(rows: 3) { _, _ in 1 }
        #expect(throws: ClassificationEvaluationError.self) {
            try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: Self.matrix(rows: 1) { _, _ in 0 },
                                                 trainLabels: Self.trainLabels, test: test, testLabels: ["a", "b", "c"])
        }
        let train = Self.matrix(rows: plan.neededTrainIndices.count) { r, c in Float(r + c) }
        #expect(throws: ClassificationEvaluationError.testRowCountMismatch(embeddings: 3, labels: 2)) {
            try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: train, trainLabels: Self.trainLabels,
                                                 test: test, testLabels: ["a", "b"])
        }
    }

    @Test func singleTrainingClassIsRefused() throws {
        let labels = ["a", "a", "a"]
        let plan = ClassificationEvaluator.plan(trainLabels: labels, samplesPerLabel: 2, experiments: 1)
        let train = Self.matrix(rows: plan.neededTrainIndices.count) { r, c in Float(r + c) }
        #expect(throws: ClassificationEvaluationError.singleClass(experiment: 0, label: "a")) {
            try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: train, trainLabels: labels,
                                                 test: Self.matrix(rows: 1) { _, _ in 0 }, testLabels: ["a"])
        }
    }

    /// All-zero vectors: the loss is flat in the weights, only the intercepts learn the class frequencies, and
    /// every test row gets the most frequent class (here a tie between equal counts: the first class).
    @Test func zeroVectorsAreScored() throws {
        let plan = ClassificationEvaluator.plan(trainLabels: Self.trainLabels, samplesPerLabel: 2, experiments: 3)
        let train = Self.matrix(rows: plan.neededTrainIndices.count) { _, _ in 0 }
        let test = Self.matrix(rows: 4) { _, _ in 0 }
        let scores = try ClassificationEvaluator.evaluate(plan: plan, trainEmbeddings: train, trainLabels: Self.trainLabels,
                                                          test: test, testLabels: ["a", "b", "c", "a"])
        #expect(scores.mainScoreName == "accuracy")
        #expect(abs(scores.mainScore - 0.5) < 1e-12)
    }

    /// Undersampling keeps at most `samplesPerLabel` rows per label and carries the shuffled order over.
    @Test func planKeepsAtMostSamplesPerLabel() {
        let labels = (0..<300).map { "l\($0 % 7)" }
        let plan = ClassificationEvaluator.plan(trainLabels: labels, samplesPerLabel: 5)
        #expect(plan.experiments.count == 10)
        for experiment in plan.experiments {
            #expect(experiment.count == 35)
            #expect(Dictionary(grouping: experiment) { labels[$0] }.values.allSatisfy { $0.count == 5 })
        }
        #expect(plan.experiments[0] != plan.experiments[1])
        #expect(plan.neededTrainIndices == Array(Set(plan.experiments.joined())).sorted())
    }

    @Test func labelsSortLikeNumpy() {
        #expect(ClassificationEvaluator.sortedLabels(["10", "2", "1"]) == ["1", "2", "10"])
        #expect(ClassificationEvaluator.sortedLabels(["b", "B", "a_b", "a"]) == ["B", "a", "a_b", "b"])
    }
}
