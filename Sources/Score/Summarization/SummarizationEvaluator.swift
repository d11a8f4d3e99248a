/// mteb 2.x SummEval with `DeprecatedSummarizationEvaluator` (mteb issue #1156, kept by mteb for `SummEval`):
/// every metric is `(mean of per-article correlations + mean of their two-sided p-values) / 2`.
public enum SummarizationEvaluator {
    /// One article: the rows of its summaries in the task's vectors, and the gold relevance.
    public struct Article {
        public var human: [Int]
        public var machine: [Int]
        public var relevance: [Double]
        public init(human: [Int], machine: [Int], relevance: [Double]) {
            self.human = human; self.machine = machine; self.relevance = relevance
        }
    }

    /// - Parameter legacyPValueBug: true for mteb's `SummEval` (deprecated evaluator), false for the fixed
    ///   `SummEvalSummarization.v2` (plain mean of correlations).
    /// - Returns: `pearson, spearman, cosine_spearman, cosine_pearson, dot_spearman, dot_pearson`.
    public static func evaluate(vectors: TaskVectors, articles: [Article], legacyPValueBug: Bool = true,
                                mainScore: String = "cosine_spearman") -> Scores {
        var sums: [String: (statistic: Double, pValue: Double, count: Int)] = [:]
        for article in articles {
            let cosines = Similarity.allPairsDot(vectors.normalized, rows: article.machine, columns: article.human)
            let dots = Similarity.allPairsDot(vectors.matrix, rows: article.machine, columns: article.human)
            let h = article.human.count
            // max over the article's human summaries, per machine summary (torch.max propagates NaN).
            func rowMax(_ matrix: [Float]) -> [Double] {
                (0..<article.machine.count).map { row in
                    let slice = matrix[(row * h)..<((row + 1) * h)]
                    if slice.contains(where: \.isNaN) { return .nan }
                    return Double(slice.max() ?? .nan)
                }
            }
            let cosine = rowMax(cosines), dot = rowMax(dots)
            // Skip an article whose gold, dot or cosine values are all equal (mteb compares with `set`).
            if Set(article.relevance).count == 1 || Set(dot).count == 1 || Set(cosine).count == 1 { continue }
            for (prefix, predicted) in [("cosine_", cosine), ("dot_", dot), ("", cosine)] {
                let n = predicted.count
                let rho = Correlation.spearman(article.relevance, predicted)
                let r = Correlation.pearson(article.relevance, predicted)
                for (key, value) in [(prefix + "spearman", rho), (prefix + "pearson", r)] {
                    var entry = sums[key] ?? (0, 0, 0)
                    entry.statistic += value
                    entry.pValue += Correlation.pValue(r: value, n: n)
                    entry.count += 1
                    sums[key] = entry
                }
            }
        }
        var metrics: [String: Double] = [:]
        for key in ["pearson", "spearman", "cosine_spearman", "cosine_pearson", "dot_spearman", "dot_pearson"] {
            guard let entry = sums[key], entry.count > 0 else { metrics[key] = .nan; continue }
            let meanStatistic = entry.statistic / Double(entry.count), meanP = entry.pValue / Double(entry.count)
            metrics[key] = legacyPValueBug ? (meanStatistic + meanP) / 2 : meanStatistic
        }
        return Scores(mainScoreName: mainScore, metrics: metrics)
    }
}
