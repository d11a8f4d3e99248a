import Foundation

/// Correlation statistics as scipy computes them (`pearsonr`, `spearmanr`), in float64.
public enum Correlation {
    /// 1-based ranks with ties given their mean rank (scipy's `rankdata(method="average")`).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for position in start...end { ranks[order[position]] = rank }
            start = end + 1
        }
        return ranks
    }

    /// Pearson's r; NaN when either side is constant or holds a NaN (scipy returns NaN there too).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "pearson: lengths differ")
        let n = Double(x.count)
        guard x.count >= 2 else { return .nan }
        let meanX = x.reduce(0, +) / n, meanY = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            let dx = x[i] - meanX, dy = y[i] - meanY
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return .nan }
        let r = sxy / (sxx.squareRoot() * syy.squareRoot())
        return max(-1, min(1, r))
    }

    /// Spearman's rho: Pearson of average ranks. NaN inputs propagate.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        if x.contains(where: \.isNaN) || y.contains(where: \.isNaN) { return .nan }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// scipy's two-sided p-value of a correlation `r` over `n` pairs (t test, n - 2 degrees of freedom):
    /// `I_{1 - r^2}((n - 2) / 2, 1 / 2)`, 0 when |r| = 1.
    public static func pValue(r: Double, n: Int) -> Double {
        guard !r.isNaN, n > 2 else { return .nan }
        let x = 1 - r * r
        if x <= 0 { return 0 }
        return IncompleteBeta.regularized(a: Double(n - 2) / 2, b: 0.5, x: x)
    }
}
