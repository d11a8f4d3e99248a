import Foundation

/// mteb 2.x reranking: old-format `{query, positive, negative}` records converted as `AbsTaskReranking` does,
/// scored as retrieval over each query's candidates (`RetrievalEvaluator`, pytrec_eval metrics).
public enum RerankingEvaluator {
    /// The k values mteb reports.
    public static let cutoffs = [1, 3, 5, 10, 20, 100, 1000]

    /// One query after mteb's conversion: its candidates (positives then negatives) with mteb's document ids.
    public struct Query: Sendable, Equatable {
        public var text: String
        public var candidates: [String]
        public var documentIDs: [String]
        public var relevant: [Bool]
    }

    /// `transform_old_dataset_format`: records without a positive or a negative are dropped; record j (counting
    /// kept records) is `test_query{j}`; candidates are stripped as mteb strips corpus documents.
    public static func queries(from records: [RerankingRecord], split: String = "test") -> [Query] {
        var queries: [Query] = []
        for record in records where !record.positive.isEmpty && !record.negative.isEmpty {
            let id = "\(split)_query\(queries.count)"
            func documentID(_ prefix: String, _ index: Int) -> String {
                let digits = String(index)
                return "\(prefix)_\(id)_" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
            }
            queries.append(Query(
                text: record.query,
                candidates: (record.positive + record.negative).map(pythonStrip),
                documentIDs: record.positive.indices.map { documentID("apositive", $0) }
                    + record.negative.indices.map { documentID("negative", $0) },
                relevant: record.positive.map { _ in true } + record.negative.map { _ in false }))
        }
        return queries
    }

    /// - Parameters:
    ///   - queryRows: per query, its row in `vectors`.
    ///   - candidateRows: per query, the rows of its candidates (in `Query.candidates` order).
    /// - Returns: `ndcg_at_k, map_at_k, recall_at_k, precision_at_k, hit_rate_at_k` (rounded to 5 decimals as
    ///   mteb does), `mrr_at_k` (not rounded), `accuracy` (= recall_at_1); main `map_at_1000`.
    public static func evaluate(vectors: TaskVectors, queries: [Query], queryRows: [Int], candidateRows: [[Int]],
                                mainScore: String = "map_at_1000") throws -> Scores {
        var sums = [String: Double]()
        for (index, query) in queries.enumerated() {
            let scores = Similarity.allPairsDot(vectors.normalized, rows: [queryRows[index]], columns: candidateRows[index])
            if scores.contains(where: \.isNaN) {
                throw ScoreError.invalidInput("Reranking: NaN values in the similarity scores of query \"\(query.text.prefix(80))\"")
            }
            // torch.topk keeps min(1000, n) candidates; pytrec_eval then ranks by score, ties by document id
            // descending (string order).
            let ranking = query.candidates.indices.sorted { i, j in
                scores[i] != scores[j] ? scores[i] > scores[j] : query.documentIDs[i] > query.documentIDs[j]
            }.prefix(1000)
            let relevantRanked = ranking.map { query.relevant[$0] }
            for (key, value) in RankingMetrics.perQuery(relevantRanked: Array(relevantRanked),
                                                        totalRelevant: query.relevant.lazy.filter { $0 }.count,
                                                        cutoffs: cutoffs) {
                sums[key, default: 0] += value
            }
        }
        let count = Double(max(queries.count, 1))
        var metrics = [String: Double]()
        for (key, sum) in sums {
            let mean = sum / count
            metrics[key] = key.hasPrefix("mrr_") ? mean : (mean * 100_000).rounded(.toNearestOrEven) / 100_000
        }
        metrics["accuracy"] = metrics["recall_at_1"]
        return Scores(mainScoreName: mainScore, metrics: metrics)
    }
}

/// Python's `str.strip()`: removes leading and trailing characters for which `str.isspace()` holds (Unicode
/// White_Space, plus U+001C...U+001F). Returns the text itself, without copying, when there is nothing to strip.
func pythonStrip(_ text: String) -> String {
    func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
    let scalars = text.unicodeScalars
    guard let first = scalars.first, let last = scalars.last, isSpace(first) || isSpace(last) else { return text }
    guard let start = scalars.firstIndex(where: { !isSpace($0) }), let end = scalars.lastIndex(where: { !isSpace($0) }) else {
        return ""
    }
    return String(scalars[start...end])
}

/// trec_eval's per-query measures (as pytrec_eval computes `map_cut`, `ndcg_cut`, `recall`, `P`, `success`)
/// and mteb's MRR, for binary relevance.
public enum RankingMetrics {
    /// - Parameters:
    ///   - relevantRanked: for each retrieved document in rank order, whether it is relevant.
    ///   - totalRelevant: relevant documents of the query in the qrels (retrieved or not).
    public static func perQuery(relevantRanked: [Bool], totalRelevant: Int, cutoffs: [Int]) -> [String: Double] {
        var metrics = [String: Double]()
        let idealGains = (0..<totalRelevant).map { 1 / log2(Double($0) + 2) }
        for k in cutoffs {
            let top = relevantRanked.prefix(k)
            var hits = 0, precisionSum = 0.0, dcg = 0.0, firstHit: Int?
            for (rank, relevant) in top.enumerated() where relevant {
                hits += 1
                precisionSum += Double(hits) / Double(rank + 1)
                dcg += 1 / log2(Double(rank) + 2)
                if firstHit == nil { firstHit = rank }
            }
            let idcg = idealGains.prefix(k).reduce(0, +)
            let total = Double(totalRelevant)
            metrics["map_at_\(k)"] = totalRelevant > 0 ? precisionSum / total : 0
            metrics["ndcg_at_\(k)"] = idcg > 0 ? dcg / idcg : 0
            metrics["recall_at_\(k)"] = totalRelevant > 0 ? Double(hits) / total : 0
            metrics["precision_at_\(k)"] = Double(hits) / Double(k)
            metrics["hit_rate_at_\(k)"] = hits > 0 ? 1 : 0
            metrics["mrr_at_\(k)"] = firstHit.map { 1 / Double($0 + 1) } ?? 0
        }
        return metrics
    }
}
