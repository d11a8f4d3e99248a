extension RoutingPolicy {
    /// Chooses one token's `k` experts from its router logits (`RoutingPolicy` shows the steps) and writes their
    /// indices to `picks` and weights to `weights`, highest selection score first (ties: lower expert first).
    ///
    /// `scores` and `ranked` are scratch of `experts` floats; `selectionBias` holds `experts` values when the policy
    /// has one. Group-limited policies rank every expert outside the kept groups at -infinity before the top-k (V3's
    /// `masked_fill(..., -inf)`; V2 fills 0.0, which chooses the same experts since its softmax scores are positive
    /// and the kept groups hold at least k experts). The renormalising sum runs over the picks in that order, as
    /// transformers' `sum(dim=-1)` over top-k.
    func route(_ logits: UnsafePointer<Float>, experts: Int, k: Int, selectionBias: [Float]?,
               scores: UnsafeMutablePointer<Float>, ranked: UnsafeMutablePointer<Float>,
               picks: UnsafeMutablePointer<Int>, weights: UnsafeMutablePointer<Float>) {
        scores.update(from: logits, count: experts)
        switch scoring {
        case .softmax: softmax(scores, count: experts)
        case .sigmoid: for e in 0..<experts { scores[e] = sigmoid(scores[e]) }
        }
        if let bias = selectionBias, bias.count == experts {
            for e in 0..<experts { ranked[e] = scores[e] + bias[e] }
        } else {
            ranked.update(from: scores, count: experts)
        }
        if let groups, groups.count > 0, experts % groups.count == 0 { keepBestGroups(groups, ranked, experts: experts) }
        topK(ranked, count: experts, k: k, into: picks)
        var total: Float = 0
        for j in 0..<k { total += scores[picks[j]] }
        if let floor = renormalizationFloor { total = max(total, floor) }
        for j in 0..<k {
            let score = scores[picks[j]]
            weights[j] = (renormalize ? score / total : score) * scale
        }
    }

    /// Sets `ranked` to -infinity outside the `groups.kept` groups of highest group score (ties: lower group first).
    private func keepBestGroups(_ groups: ExpertGroups, _ ranked: UnsafeMutablePointer<Float>, experts: Int) {
        let size = experts / groups.count
        var groupScores = [Float](repeating: 0, count: groups.count)
        var best = [Int](repeating: 0, count: 2)
        for g in 0..<groups.count {
            let members = ranked + g * size
            switch groups.score {
            case .best:
                groupScores[g] = (0..<size).reduce(-Float.infinity) { max($0, members[$1]) }
            case .sumOfBestTwo:
                best.withUnsafeMutableBufferPointer { b in
                    guard let base = b.baseAddress else { return }
                    topK(members, count: size, k: 2, into: base)
                }
                groupScores[g] = size >= 2 ? members[best[0]] + members[best[1]] : members[best[0]]
            }
        }
        let kept = Set(Extract.topK(groupScores, k: groups.kept))
        for g in 0..<groups.count where !kept.contains(g) {
            (ranked + g * size).update(repeating: -.infinity, count: size)
        }
    }

    /// One line for `inspect-model`: e.g. "softmax, top-k, renormalised" or "sigmoid + selection bias, top-k, x2.5".
    public var description: String {
        var parts = [scoring.rawValue + (selectionBias ? " + selection bias" : ""), "top-k"]
        if renormalize { parts.append("renormalised" + (renormalizationFloor.map { " (sum >= \($0))" } ?? "")) }
        if scale != 1 { parts.append("x\(scale)") }
        if let groups { parts.insert("best \(groups.kept) of \(groups.count) groups (\(groups.score.rawValue))", at: 1) }
        return parts.joined(separator: ", ")
    }
}
