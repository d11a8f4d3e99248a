// A timing of the classification evaluator on synthetic vectors shaped like Banking77 at OLMoE's dimension:
// what `pipeline bench` can print beside mteb's time for the same work.
import Foundation

extension ClassificationEvaluator {
    /// Times `evaluate` on a Banking77-sized problem (77 classes, 10003 train rows of which mteb keeps
    /// 8 per class per experiment, 3080 test rows) with class-structured random vectors of `dimension`.
    /// Returns the seconds of the evaluation alone (data generation excluded), its accuracy and the accuracy of
    /// each experiment.
    public static func benchmark(dimension: Int = 3072, classes: Int = 77, trainRows: Int = 10003,
                                 testRows: Int = 3080, samplesPerLabel: Int = 8) throws
        -> (seconds: Double, accuracy: Double, perExperiment: [Double]) {
        var random = NumPyRandomState(seed: 7)
        let centroids = (0..<classes).map { _ in random.randomSample(count: dimension).map { Float($0 * 2 - 1) } }
        func rows(_ count: Int) -> (EmbeddingMatrix, [String]) {
            var values = [Float](), labels = [String]()
            values.reserveCapacity(count * dimension)
            for _ in 0..<count {
                let label = Int(random.randomInterval(UInt64(classes - 1)))
                let noise = random.randomSample(count: dimension)
                for j in 0..<dimension { values.append(centroids[label][j] + Float(noise[j] * 16 - 8)) }
                labels.append("class\(label)")
            }
            return (EmbeddingMatrix(rows: count, dimension: dimension, values: values), labels)
        }
        let (train, trainLabels) = rows(trainRows)
        let (test, testLabels) = rows(testRows)
        let plan = plan(trainLabels: trainLabels, samplesPerLabel: samplesPerLabel)
        let needed = train.selecting(rows: plan.neededTrainIndices)
        let start = Date()
        let experiments = try evaluateExperiments(plan: plan, trainEmbeddings: needed, trainLabels: trainLabels,
                                                  test: test, testLabels: testLabels)
        let accuracies = experiments.map { $0["accuracy"] ?? .nan }
        return (Date().timeIntervalSince(start), RunStatistics.mean(accuracies), accuracies)
    }
}
