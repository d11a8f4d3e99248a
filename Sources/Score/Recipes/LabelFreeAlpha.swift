import Foundation

/// MoEE-sum's alpha chosen without labels, per task, from the task's own texts (docs/score.md, "Label-free alpha").
///
/// Both rules look at the same similarities MoEE-sum adds: over a fixed sample of pairs of the task's texts (every
/// pair when there are at most `maxPairs`, otherwise `maxPairs` pairs drawn by a seeded generator, so the choice is
/// the same on every run and host), `s_HS` and `s_RW` are the cosines of the z-scored, normalised HS and RW parts.
/// No label, gold score or split enters: the texts are those the task embeds, in their order.
public enum LabelFreeAlpha {
    public enum Rule: String, Codable, Sendable, CaseIterable {
        /// The paper's rule (camera-ready, section 3, "Weighted Sum Integration"): the alpha that maximises the
        /// Spearman rank correlation between `s_HS + alpha * s_RW` and its components, read as the sum
        /// `rho(s_alpha, s_HS) + rho(s_alpha, s_RW)`. The paper tunes it by gradient; the objective is piecewise
        /// constant in alpha, so here it is maximised over a fixed grid: 0 and 2^(k/8) for k = -32...32
        /// (1/16 to 16), the smallest alpha on a tie.
        case spearman = "label-free"
        /// Equal spread: `alpha = std(s_HS) / std(s_RW)`, so that neither term dominates the sum by scale alone
        /// (a closed form, no search; reason: the sum's ranking is driven by the term with the larger spread).
        case variance = "label-free-variance"
    }

    public static let maxPairs = 4000
    /// The alpha grid the Spearman rule searches.
    public static let grid: [Double] = [0] + (-32...32).map { pow(2, Double($0) / 8) }

    /// The pairs (i < j) of `count` texts the rules look at.
    public static func pairs(count: Int) -> [(Int, Int)] {
        guard count >= 2 else { return [] }
        let all = count * (count - 1) / 2
        if all <= maxPairs {
            var result: [(Int, Int)] = []
            result.reserveCapacity(all)
            for i in 0..<count { for j in (i + 1)..<count { result.append((i, j)) } }
            return result
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<maxPairs).map { _ in
            let i = Int(next() % UInt64(count))
            var j = Int(next() % UInt64(count - 1))
            if j >= i { j += 1 }
            return (min(i, j), max(i, j))
        }
    }

    /// The similarities of the sampled pairs under each part (rows already unit-normalised: a dot is a cosine).
    public static func similarities(_ parts: MoEESumParts) -> (hs: [Double], rw: [Double]) {
        let pairs = pairs(count: parts.hiddenState.rows)
        func dots(_ m: EmbeddingMatrix) -> [Double] {
            pairs.map { i, j in
                var sum = 0.0
                for k in 0..<m.dimension { sum += Double(m.values[i * m.dimension + k]) * Double(m.values[j * m.dimension + k]) }
                return sum
            }
        }
        return (dots(parts.hiddenState), dots(parts.routing))
    }

    /// The alpha `rule` picks for these parts.
    public static func choose(_ rule: Rule, parts: MoEESumParts) -> Double {
        let (hs, rw) = similarities(parts)
        return choose(rule, hs: hs, rw: rw)
    }

    public static func choose(_ rule: Rule, hs: [Double], rw: [Double]) -> Double {
        guard hs.count >= 2 else { return 1 }
        switch rule {
        case .variance:
            let spreadRW = standardDeviation(rw)
            return spreadRW > 0 ? standardDeviation(hs) / spreadRW : 1
        case .spearman:
            var best = (alpha: 0.0, objective: -Double.infinity)
            for alpha in grid {
                let sum = zip(hs, rw).map { $0 + alpha * $1 }
                let objective = Correlation.spearman(sum, hs) + Correlation.spearman(sum, rw)
                if objective > best.objective + 1e-12 { best = (alpha, objective) }
            }
            return best.alpha
        }
    }

    static func standardDeviation(_ x: [Double]) -> Double {
        let mean = x.reduce(0, +) / Double(x.count)
        return (x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)).squareRoot()
    }
}
