/// mteb 2.x STS (`AnySTSEvaluator`): correlations of gold scores with paired similarities of the two columns.
public enum STSEvaluator {
    /// - Parameters: `first`, `second`: one row per pair (sentence1 / sentence2 embeddings); `gold` per pair.
    /// - Returns: `pearson, spearman` (model similarity = torch cosine), `cosine_*` (sklearn float32 cosine),
    ///   `manhattan_*`, `euclidean_*` (negated distances); main `cosine_spearman`.
    public static func evaluate(first: EmbeddingMatrix, second: EmbeddingMatrix, gold: [Double],
                                mainScore: String = "cosine_spearman") -> Scores {
        let a = Similarity.normalizedRows(first), b = Similarity.normalizedRows(second)
        let lists: [(String, [Float])] = [
            ("", Similarity.dot(a, b)),
            ("cosine_", Similarity.sklearnCosine(normalized: a, b)),
            ("manhattan_", Similarity.manhattan(first, second).map { -$0 }),
            ("euclidean_", Similarity.euclidean(first, second).map { -$0 }),
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
