import Foundation
import Testing
import TestSupport
@testable import Score

/// ClassificationEvaluator against mteb 2.26.24 run on the same fixed embeddings
/// (scripts/reference/make_ml_parity.py -> Fixtures/ml-parity.json) on the real train/test splits.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct ClassificationParityTests {
    static let tasks = ["EmotionClassification", "Banking77Classification", "TweetSentimentExtractionClassification"]

    /// The undersampled training sets are mteb's exactly (MT19937 + NumPy's shuffle).
    @Test(arguments: tasks) func planMatchesMteb(task: String) throws {
        let reference = try #require(try Self.reference(task))
        let train = try SharedTaskFile.classification(task, "train")
        let samples = try #require(reference["samples_per_label"]?.int)
        let plan = ClassificationEvaluator.plan(trainLabels: train.map(\.label), samplesPerLabel: samples)
        let expected = try #require(reference["experiments"].flatMap { value -> [[Int]]? in
            guard case .list(let lists) = value else { return nil }
            return lists.compactMap(\.ints)
        })
        #expect(plan.experiments.count == 10)
        #expect(plan.experiments == expected)
    }

    /// Mean accuracy (main score) and every experiment's accuracy.
    /// Tolerance 1e-4 on the mean: the solver replays sklearn's float32 loss and scipy's L-BFGS-B step rules,
    /// but BLAS summation order (sgemm in the loss, dot products in the solver) is not bit-identical to
    /// numpy's OpenBLAS build, so a test prediction near a decision boundary may flip.
    @Test(arguments: tasks) func scoresMatchMteb(task: String) throws {
        let reference = try #require(try Self.reference(task))
        let train = try SharedTaskFile.classification(task, "train")
        let test = try SharedTaskFile.classification(task, "test")
        let scale = try #require(reference["scale"]?.double)
        let embeddings = SyntheticEmbeddings(records: train + test, scale: scale, dimension: 32)
        let samples = try #require(reference["samples_per_label"]?.int)
        let plan = ClassificationEvaluator.plan(trainLabels: train.map(\.label), samplesPerLabel: samples)
        let trainMatrix = embeddings.matrix(plan.neededTrainIndices.map { train[$0].text })
        let testMatrix = embeddings.matrix(test.map(\.text))
        let start = Date()
        let perExperiment = try ClassificationEvaluator.evaluateExperiments(
            plan: plan, trainEmbeddings: trainMatrix, trainLabels: train.map(\.label),
            test: testMatrix, testLabels: test.map(\.label))
        let scores = try ClassificationEvaluator.evaluate(
            plan: plan, trainEmbeddings: trainMatrix, trainLabels: train.map(\.label),
            test: testMatrix, testLabels: test.map(\.label))
        let seconds = Date().timeIntervalSince(start) / 2

        let expectedMain = try #require(reference["main_score"]?.double)
        let expectedPerExperiment = try #require(reference["accuracy_per_experiment"]?.doubles)
        let deltas = zip(perExperiment.compactMap { $0["accuracy"] }, expectedPerExperiment).map { abs($0 - $1) }
        print(String(format: "classification parity %@: accuracy %.6f mteb %.6f |delta| %.2e, max per-experiment %.2e (%.3f s)",
                     task, scores.mainScore, expectedMain, abs(scores.mainScore - expectedMain), deltas.max() ?? .nan, seconds))
        #expect(abs(scores.mainScore - expectedMain) <= 1e-4)
        for key in ["f1", "f1_weighted", "precision", "precision_weighted", "recall", "recall_weighted"] {
            let expected = try #require(reference["metrics"]?[key]?.double)
            #expect(abs((scores.metrics[key] ?? .nan) - expected) <= 1e-3, "\(key)")
        }
    }

    static func reference(_ task: String) throws -> MLFixture.Value? {
        let fixture = try MLFixture.decode([String: MLFixture.Value].self, from: "ml-parity.json")
        return fixture["classification"]?[task]
    }
}
