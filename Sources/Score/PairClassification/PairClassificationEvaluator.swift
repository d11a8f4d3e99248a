/// mteb 2.x PairClassification (`PairClassificationEvaluator` + `AbsTaskPairClassification._compute_metrics`):
/// AP and best-threshold accuracy / F1 for five score functions, then the maximum of each metric over them.
public enum PairClassificationEvaluator {
    /// - Returns: `{similarity,cosine,manhattan,euclidean,dot}_{accuracy,f1,precision,recall,ap}` and
    ///   `max_{accuracy,f1,precision,recall,ap}`; main `max_ap`.
    /// - Parameters: `first`, `second`: per pair, the rows of sentence1 and sentence2 in `vectors`.
    public static func evaluate(vectors: TaskVectors, first: [Int], second: [Int], labels: [Bool],
                                mainScore: String = "max_ap") throws -> Scores {
        let paired = Similarity.pairScores(raw: vectors.matrix, normalized: vectors.normalized, first, second)
        let functions: [(name: String, scores: [Float], higherIsSimilar: Bool)] = [
            ("similarity", paired.modelCosine, true),
            ("cosine", paired.sklearnCosine, true),
            ("manhattan", paired.manhattan, false),
            ("euclidean", paired.euclidean, false),
            ("dot", paired.dot, true),
        ]
        var metrics: [String: Double] = [:]
        for function in functions {
            // mteb feeds AP with NaN scores to sklearn, which raises; so do we (instead of a silent score).
            if function.scores.contains(where: \.isNaN) {
                throw ScoreError.invalidInput("PairClassification: the \(function.name) scores contain NaN")
            }
            // Oriented so that higher always means "more similar".
            let oriented = function.scores.map { Double(function.higherIsSimilar ? $0 : -$0) }
            let threshold = BestThreshold.scan(scores: oriented, labels: labels)
            metrics["\(function.name)_accuracy"] = threshold.accuracy
            metrics["\(function.name)_f1"] = threshold.f1
            metrics["\(function.name)_precision"] = threshold.precision
            metrics["\(function.name)_recall"] = threshold.recall
            metrics["\(function.name)_ap"] = AveragePrecision.compute(labels: labels, scores: oriented)
        }
        for metric in ["accuracy", "f1", "precision", "recall", "ap"] {
            metrics["max_\(metric)"] = functions.map { metrics["\($0.name)_\(metric)"] ?? -.infinity }.max()
        }
        return Scores(mainScoreName: mainScore, metrics: metrics)
    }
}

/// mteb's `_find_best_acc_and_threshold` and `_find_best_f1_and_threshold`: cut the rows sorted most similar
/// first between two different scores, keep the first strict maximum.
public enum BestThreshold {
    public struct Result: Equatable, Sendable {
        public var accuracy: Double, f1: Double, precision: Double, recall: Double
    }

    /// - Parameter scores: higher = more similar.
    public static func scan(scores: [Double], labels: [Bool]) -> Result {
        let n = scores.count
        // Python's sorted(reverse=True) is stable: equal scores keep their input order (irrelevant here,
        // since cuts never split ties).
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let totalPositives = labels.lazy.filter { $0 }.count
        let totalNegatives = n - totalPositives
        var bestAccuracy = 0.0, bestF1 = 0.0, bestPrecision = 0.0, bestRecall = 0.0
        var positivesTaken = 0, negativesTaken = 0
        for i in 0..<max(0, n - 1) {
            if labels[order[i]] { positivesTaken += 1 } else { negativesTaken += 1 }
            if scores[order[i]] == scores[order[i + 1]] { continue }
            let accuracy = Double(positivesTaken + (totalNegatives - negativesTaken)) / Double(n)
            if accuracy > bestAccuracy { bestAccuracy = accuracy }
            if positivesTaken > 0 {
                let precision = Double(positivesTaken) / Double(i + 1)
                let recall = Double(positivesTaken) / Double(totalPositives)
                let f1 = 2 * precision * recall / (precision + recall)
                if f1 > bestF1 { bestF1 = f1; bestPrecision = precision; bestRecall = recall }
            }
        }
        return Result(accuracy: bestAccuracy, f1: bestF1, precision: bestPrecision, recall: bestRecall)
    }
}
