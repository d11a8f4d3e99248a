// sklearn.metrics.cluster's V-measure and adjusted mutual information (arithmetic normaliser), on labels already
// encoded as small non-negative integers. Formulas as in sklearn/metrics/cluster/_supervised.py and
// _expected_mutual_info_fast.pyx (natural logarithms, float64).
import Foundation

enum ClusteringMetrics {
    /// The contingency table of two labelings (classes x clusters, both as 0-based codes).
    struct Contingency {
        let rows: Int, columns: Int
        let counts: [Int]            // rows x columns
        let rowSums: [Int], columnSums: [Int]
        let total: Int

        init(truth: [Int], predicted: [Int]) {
            precondition(truth.count == predicted.count, "labelings of unequal length")
            // Re-encode to the codes actually present, as np.unique does.
            let truthCodes = Self.dense(truth), predictedCodes = Self.dense(predicted)
            rows = truthCodes.distinct; columns = predictedCodes.distinct
            var counts = [Int](repeating: 0, count: rows * columns)
            for (t, p) in zip(truthCodes.codes, predictedCodes.codes) { counts[t * columns + p] += 1 }
            var rowSums = [Int](repeating: 0, count: rows), columnSums = [Int](repeating: 0, count: columns)
            for r in 0..<rows { for c in 0..<columns { rowSums[r] += counts[r * columns + c]; columnSums[c] += counts[r * columns + c] } }
            self.counts = counts; self.rowSums = rowSums; self.columnSums = columnSums; total = truth.count
        }

        private static func dense(_ labels: [Int]) -> (codes: [Int], distinct: Int) {
            let present = Array(Set(labels)).sorted()
            var code = [Int: Int]()
            for (index, label) in present.enumerated() { code[label] = index }
            return (labels.map { code[$0] ?? 0 }, present.count)
        }
    }

    /// `_entropy`: 0 for a single label, 1 for no labels.
    static func entropy(_ counts: [Int]) -> Double {
        let present = counts.filter { $0 > 0 }
        if present.isEmpty { return 1.0 }
        if present.count == 1 { return 0.0 }
        let sum = Double(present.reduce(0, +)), logSum = Foundation.log(sum)
        var total = 0.0
        for count in present { let p = Double(count); total += (p / sum) * (Foundation.log(p) - logSum) }
        return -total
    }

    /// `mutual_info_score` from a contingency table.
    static func mutualInformation(_ table: Contingency) -> Double {
        if table.rows == 1 || table.columns == 1 { return 0.0 }
        let n = Double(table.total), logN = Foundation.log(n)
        var total = 0.0
        for r in 0..<table.rows {
            for c in 0..<table.columns {
                let count = table.counts[r * table.columns + c]
                guard count > 0 else { continue }
                let share = Double(count) / n
                let logOuter = -Foundation.log(Double(table.rowSums[r] * table.columnSums[c])) + logN + logN
                var term = share * (Foundation.log(Double(count)) - logN) + share * logOuter
                if abs(term) < Double.ulpOfOne { term = 0 }
                total += term
            }
        }
        return max(total, 0)
    }

    /// `v_measure_score` (beta = 1).
    static func vMeasure(truth: [Int], predicted: [Int]) -> Double {
        if truth.isEmpty { return 1.0 }
        let table = Contingency(truth: truth, predicted: predicted)
        let hTruth = entropy(table.rowSums), hPredicted = entropy(table.columnSums)
        let mi = mutualInformation(table)
        let homogeneity = hTruth != 0 ? mi / hTruth : 1.0
        let completeness = hPredicted != 0 ? mi / hPredicted : 1.0
        if homogeneity + completeness == 0 { return 0 }
        return 2 * homogeneity * completeness / (homogeneity + completeness)
    }

    /// `adjusted_mutual_info_score(average_method="arithmetic")`.
    static func adjustedMutualInformation(truth: [Int], predicted: [Int]) -> Double {
        let table = Contingency(truth: truth, predicted: predicted)
        if (table.rows == 1 && table.columns == 1) || (table.rows == 0 && table.columns == 0) { return 1.0 }
        if table.rows == 1 || table.columns == 1 { return 0.0 }
        let mi = mutualInformation(table)
        let emi = expectedMutualInformation(table)
        let normalizer = (entropy(table.rowSums) + entropy(table.columnSums)) / 2
        var denominator = normalizer - emi
        denominator = denominator < 0 ? min(denominator, -Double.ulpOfOne) : max(denominator, Double.ulpOfOne)
        var numerator = mi - emi
        numerator = numerator < 0 ? min(numerator, -Double.ulpOfOne) : max(numerator, Double.ulpOfOne)
        return numerator / denominator
    }

    /// `expected_mutual_information`: the mean MI under the hypergeometric model of random labelings with the
    /// same marginals (Vinh, Epps & Bailey 2010), summed term by term in sklearn's order.
    static func expectedMutualInformation(_ table: Contingency) -> Double {
        let a = table.rowSums, b = table.columnSums, n = table.total
        if a.count == 1 || b.count == 1 { return 0.0 }
        let largest = max(a.max() ?? 0, b.max() ?? 0)
        let nD = Double(n), logN = Foundation.log(nD)
        // Per possible cell count nij: nij / N, log(N) + log(nij), logGamma(nij + 1) + logGamma(N + 1).
        var term1 = [Double](repeating: 0, count: largest + 1)
        var logNnij = term1, glnNnij = term1
        let glnN1 = logGamma(nD + 1)
        for nij in 0...largest {
            let value = nij == 0 ? 1.0 : Double(nij)
            term1[nij] = value / nD
            logNnij[nij] = logN + Foundation.log(value)
            glnNnij[nij] = logGamma(value + 1) + glnN1
        }
        let logA = a.map { Foundation.log(Double($0)) }, logB = b.map { Foundation.log(Double($0)) }
        let glnA = a.map { logGamma(Double($0) + 1) }, glnB = b.map { logGamma(Double($0) + 1) }
        let glnNA = a.map { logGamma(Double(n - $0) + 1) }, glnNB = b.map { logGamma(Double(n - $0) + 1) }
        // Every other lgamma argument is an integer in 1...N + 1: one table instead of three calls per term.
        let lgammaOf = (0...(n + 1)).map { logGamma(Double($0)) }
        var emi = 0.0
        for i in 0..<a.count {
            for j in 0..<b.count {
                let start = max(1, a[i] - n + b[j]), end = min(a[i], b[j]) + 1
                guard start < end else { continue }
                for nij in start..<end {
                    let term2 = logNnij[nij] - logA[i] - logB[j]
                    let marginals: Double = glnA[i] + glnB[j] + glnNA[i] + glnNB[j] - glnNnij[nij]
                    let gln: Double = marginals - lgammaOf[a[i] - nij + 1] - lgammaOf[b[j] - nij + 1]
                        - lgammaOf[n - a[i] - b[j] + nij + 1]
                    emi += term1[nij] * term2 * Foundation.exp(gln)
                }
            }
        }
        return emi
    }
}

/// The C library's `lgamma` (log |Gamma(x)|), as scipy's `gammaln` and Cython's `lgamma` compute it.
private func logGamma(_ x: Double) -> Double {
    let function: (Double) -> Double = lgamma
    return function(x)
}
