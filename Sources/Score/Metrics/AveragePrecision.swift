/// sklearn's `average_precision_score` for 0/1 labels: rows by score descending, tied scores entering together
/// (one point per distinct score), `AP = sum_k (R_k - R_{k-1}) * P_k`, no interpolation.
public enum AveragePrecision {
    /// - Parameter scores: higher means "more likely positive". NaN scores are the caller's to reject.
    public static func compute(labels: [Bool], scores: [Double]) -> Double {
        let totalPositives = labels.lazy.filter { $0 }.count
        guard totalPositives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var truePositives = 0, taken = 0, previousRecall = 0.0, ap = 0.0
        var position = 0
        while position < order.count {
            let score = scores[order[position]]
            while position < order.count && scores[order[position]] == score {
                if labels[order[position]] { truePositives += 1 }
                taken += 1
                position += 1
            }
            let recall = Double(truePositives) / Double(totalPositives)
            ap += (recall - previousRecall) * Double(truePositives) / Double(taken)
            previousRecall = recall
        }
        return ap
    }
}
