import Foundation
import Testing
import TestSupport
@testable import Score

/// ClassificationEvaluator against mteb 2.26.24 run on the same fixed embeddings
/// (scripts/reference/make_ml_parity.py -> Fixtures/ml-parity.json) on the real train/test splits.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct ClassificationParityTests {
    static let tasks = ["EmotionClassification", "Banking77Classification", "TweetSentimentExtractionClassification",
                        "EmotionClassification-binary"]

    /// A task's split; "-binary" is EmotionClassification restricted to labels 0 and 1 (as the generator does),
    /// the binary case that none of the real tasks exercises.
    static func split(_ task: String, _ split: String) throws -> [(text: String, label: String)] {
        guard task.hasSuffix("-binary") else { return try SharedTaskFile.classification(task, split) }
        let base = String(task.dropLast("-binary".count))
        return try SharedTaskFile.classification(base, split).filter { $0.label == "0" || $0.label == "1" }
    }

    /// The undersampled training sets are mteb's exactly (MT19937 + NumPy's shuffle).
    @Test(arguments: tasks) func planMatchesMteb(task: String) throws {
        let reference = try #require(try Self.reference(task))
        let train = try Self.split(task, "train")
        let samples = try #require(reference["samples_per_label"]?.int)
        #expect(ClassificationEvaluator.mtebSamplesPerLabel(task: String(task.prefix { $0 != "-" })) == samples)
        let plan = ClassificationEvaluator.plan(trainLabels: train.map(\.label), samplesPerLabel: samples)
        let expected = try #require(reference["experiments"].flatMap { value -> [[Int]]? in
            guard case .list(let lists) = value else { return nil }
            return lists.compactMap(\.ints)
        })
        #expect(plan.experiments.count == 10)
        #expect(plan.experiments == expected)
    }

    /// Mean accuracy (main score), every experiment's accuracy and every metric. The solver replays sklearn's
    /// float32 objective and scipy's L-BFGS-B step rules, but its products run on the fixed-order kernels
    /// (docs/score.md, "The same scores on every host") while sklearn's run in whatever order the reference
    /// host's BLAS chose: a test prediction at a decision boundary may flip (TweetSentimentExtraction flips one,
    /// moving f1/precision/recall by ~1e-5 with accuracy unchanged). Every metric is held to the issue's 1e-4.
    @Test(arguments: tasks) func scoresMatchMteb(task: String) throws {
        let reference = try #require(try Self.reference(task))
        let train = try Self.split(task, "train")
        let test = try Self.split(task, "test")
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
        guard case .object(let expectedMetrics)? = reference["metrics"] else { Issue.record("no metrics"); return }
        #expect(Set(expectedMetrics.keys).subtracting(["main_score"]) == Set(scores.metrics.keys))
        // Every other metric mteb reports (f1, precision, recall, their weighted forms, ap for binary tasks).
        for (key, value) in expectedMetrics where key != "main_score" {
            let expected = try #require(value.double)
            #expect(abs((scores.metrics[key] ?? .nan) - expected) <= 1e-4, "\(key)")
        }
    }

    static func reference(_ task: String) throws -> MLFixture.Value? {
        let fixture = try MLFixture.decode([String: MLFixture.Value].self, from: "ml-parity.json")
        return fixture["classification"]?[task]
    }
}
