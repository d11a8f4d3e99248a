import Foundation
import Testing
@testable import Score

/// Expected values were printed by scipy 1.17.1 / scikit-learn 1.9.1 (the reference environment of
/// ../shared/data/mteb/EVALUATION.md) for exactly these inputs.
@Suite struct MetricsTests {
    @Test(arguments: [
        (7.0, 0.5, 0.3, 5.3383614613837275e-05),
        (0.5, 0.5, 0.9, 0.7951672353008665),
        (49.0, 0.5, 0.99, 0.32221736303061954),
        (2.5, 3.5, 0.5, 0.6697652726313549),
    ])
    func incompleteBetaMatchesScipy(_ a: Double, _ b: Double, _ x: Double, _ expected: Double) {
        let value = IncompleteBeta.regularized(a: a, b: b, x: x)
        #expect(abs(value - expected) <= 1e-12 * max(1, expected), "I_\(x)(\(a), \(b)) = \(value), scipy \(expected)")
    }

    @Test func correlationsAndPValuesMatchScipy() {
        let x: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        let y: [Double] = [2, 1, 4, 3, 6, 5, 8, 8, 9, 12, 11, 10, 14, 13, 16, 15]
        let rho = Correlation.spearman(x, y), r = Correlation.pearson(x, y)
        #expect(abs(rho - 0.9727743619579425) < 1e-14)
        #expect(abs(r - 0.9720705076347224) < 1e-14)
        #expect(abs(Correlation.pValue(r: rho, n: 16) - 2.766780190659821e-10) < 1e-20)
        #expect(abs(Correlation.pValue(r: r, n: 16) - 3.3018556202419367e-10) < 1e-20)
        #expect(Correlation.pValue(r: 1, n: 16) == 0)
    }

    @Test func averageRanksGiveTiesTheirMeanRank() {
        #expect(Correlation.averageRanks([3, 1, 3, 2, 3]) == [4, 1, 4, 2, 4])
    }

    @Test func averagePrecisionLetsTiedScoresEnterTogether() {
        let ap = AveragePrecision.compute(labels: [true, false, true, true, false, false],
                                          scores: [0.9, 0.9, 0.8, 0.5, 0.5, 0.1])
        #expect(abs(ap - 0.5888888888888889) < 1e-15)
    }

    @Test func bestThresholdNeverSplitsTies() {
        // Sorted: 0.9 (+), 0.9 (-), 0.5 (+), 0.1 (-). Cuts after the tie (2 rows) and after 3 rows only.
        let result = BestThreshold.scan(scores: [0.9, 0.9, 0.5, 0.1], labels: [true, false, true, false])
        #expect(result.accuracy == 0.75)          // cut after 3: 2 positives + 1 negative right
        #expect(abs(result.f1 - 0.8) < 1e-15)      // precision 2/3, recall 1
        #expect(abs(result.precision - 2.0 / 3.0) < 1e-15)
        #expect(result.recall == 1)
    }

    /// mteb's zero-vector conventions (EVALUATION.md §8): sklearn's paired cosine gives 0.5 against a
    /// non-zero vector and 1.0 between two zero vectors; torch's cosine gives 0.
    @Test func zeroVectorsFollowMTEBConventions() {
        // Rows: zero, (0, 0, 2), zero. Pairs: zero vs non-zero, zero vs zero.
        let m = EmbeddingMatrix(rows: 3, dimension: 3, values: [0, 0, 0, 0, 0, 2, 0, 0, 0])
        let unit = Similarity.normalizedRows(m)
        #expect(Similarity.sklearnCosine(normalized: unit, [0, 0], [1, 2]) == [0.5, 1.0])
        #expect(Similarity.dot(unit, [0, 0], [1, 2]) == [0, 0])
        #expect(Similarity.euclidean(m, [0, 0], [1, 2]) == [2, 0])
    }

    @Test func rankingMetricsFollowTrecEval() {
        // Ranked: relevant, non-relevant, relevant; 3 relevant documents in the qrels.
        let m = RankingMetrics.perQuery(relevantRanked: [true, false, true], totalRelevant: 3, cutoffs: [1, 3])
        let expectedMAP: Double = (1 + 2.0 / 3) / 3
        #expect(m["map_at_3"] == expectedMAP)
        #expect(m["precision_at_3"] == Double(2) / 3)
        #expect(m["recall_at_1"] == Double(1) / 3)
        #expect(m["mrr_at_1"] == 1)
        let idcg: Double = 1 + 1 / log2(3.0) + 0.5
        let ndcg: Double = m["ndcg_at_3"] ?? 0
        #expect(abs(ndcg - 1.5 / idcg) < 1e-15)
    }

    /// Python 3.11: `'\x1c a \u00a0\u2003'.strip() == 'a'`; `'\u200b'` is not whitespace.
    @Test func stripMatchesPythonsStrDotStrip() {
        #expect(pythonStrip("\u{1C} a \u{A0}\u{2003}") == "a")
        #expect(pythonStrip("\u{200B}x") == "\u{200B}x")
        #expect(pythonStrip(" \n") == "")
        #expect(pythonStrip("kept as is") == "kept as is")
    }
}
