/// mteb 2.x STS (`AnySTSEvaluator`): correlations of gold scores with paired similarities of the two columns.
public enum STSEvaluator {
    /// - Parameters:
    ///   - vectors: the task's embeddings and their normalised rows.
    ///   - first, second: per pair, the rows of sentence1 and sentence2; `gold` per pair.
    /// - Returns: `pearson, spearman` (model similarity = torch cosine), `cosine_*` (sklearn float32 cosine),
    ///   `manhattan_*`, `euclidean_*` (negated distances); main `cosine_spearman`.
    public static func evaluate(vectors: TaskVectors, first: [Int], second: [Int], gold: [Double],
                                mainScore: String = "cosine_spearman") -> Scores {
        let paired = Similarity.pairScores(raw: vectors.matrix, normalized: vectors.normalized, first, second)
        let lists: [(String, [Float])] = [
            ("", paired.modelCosine),
            ("cosine_", paired.sklearnCosine),
            ("manhattan_", paired.manhattan.map { -$0 }),
            ("euclidean_", paired.euclidean.map { -$0 }),
        ]
        var metrics: [String: Double] = [:]
        for (prefix, scores) in lists {
            let predicted = scores.map(Double.init)
            metrics[prefix + "pearson"] = Correlation.pearson(gold, predicted)
            metrics[prefix + "spearman"] = Correlation.spearman(gold, predicted)
        }
        return Scores(mainScoreName: mainScore, metrics: metrics)
    }
}
