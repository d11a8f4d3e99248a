// sklearn.metrics as mteb's `_calculate_scores` calls them on hard predictions: accuracy, precision / recall /
// F1 with macro and weighted averages over the labels present in truth or prediction (0 where a ratio is 0/0),
// and for two test classes the average precision of the predicted labels used as scores.

enum ClassificationMetrics {
    /// Metrics of one experiment; `truth` and `predicted` are codes in one shared label space.
    static func scores(truth: [Int], predicted: [Int], labelCount: Int) -> [String: Double] {
        var truePositives = [Int](repeating: 0, count: labelCount)
        var trueCounts = truePositives, predictedCounts = truePositives
        var correct = 0
        for (t, p) in zip(truth, predicted) {
            trueCounts[t] += 1; predictedCounts[p] += 1
            if t == p { truePositives[t] += 1; correct += 1 }
        }
        let present = (0..<labelCount).filter { trueCounts[$0] > 0 || predictedCounts[$0] > 0 }
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        var precision: [Double] = [], recall: [Double] = [], f1: [Double] = [], support: [Double] = []
        for label in present {
            let tp = truePositives[label]
            precision.append(ratio(tp, predictedCounts[label]))
            recall.append(ratio(tp, trueCounts[label]))
            let fp = predictedCounts[label] - tp, fn = trueCounts[label] - tp
            f1.append(ratio(2 * tp, 2 * tp + fp + fn))
            support.append(Double(trueCounts[label]))
        }
        func macro(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
        func weighted(_ values: [Double]) -> Double {
            let total = support.reduce(0, +)
            return total == 0 ? 0 : zip(values, support).map { $0 * $1 }.reduce(0, +) / total
        }
        return [
            "accuracy": ratio(correct, truth.count),
            "f1": macro(f1), "f1_weighted": weighted(f1),
            "precision": macro(precision), "precision_weighted": weighted(precision),
            "recall": macro(recall), "recall_weighted": weighted(recall),
        ]
    }

    /// `average_precision_score(y_true, y_pred)` for binary truth (positive = `positive`), the hard predictions
    /// (1 for the positive label, else 0) taken as scores: thresholds 1 then 0.
    static func averagePrecision(truth: [Int], predicted: [Int], positive: Int) -> Double {
        let positives = truth.filter { $0 == positive }.count
        let total = truth.count
        let predictedPositive = zip(truth, predicted).filter { $0.1 == positive }
        let base = Double(positives) / Double(total)          // precision at threshold 0, recall 1
        guard !predictedPositive.isEmpty, predictedPositive.count < total else { return base }
        let hits = predictedPositive.filter { $0.0 == positive }.count
        let precision1 = Double(hits) / Double(predictedPositive.count)
        let recall1 = Double(hits) / Double(positives)
        return recall1 * precision1 + (1 - recall1) * base
    }
}
