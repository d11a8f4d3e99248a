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
        case .softmaxOverChosen: break  // the logits rank; the weights are their softmax over the chosen k, below
        }
        // Plain top-k ranks the scores themselves; only a bias or a group limit needs the `ranked` copy.
        var rankedScores = UnsafePointer(scores)
        if let bias = selectionBias, bias.count == experts {
            for e in 0..<experts { ranked[e] = scores[e] + bias[e] }
            rankedScores = UnsafePointer(ranked)
        }
        if let groups, groups.count > 0, experts % groups.count == 0 {
            if rankedScores == UnsafePointer(scores) {
                ranked.update(from: scores, count: experts)
                rankedScores = UnsafePointer(ranked)
            }
            keepBestGroups(groups, ranked, experts: experts)
        }
        topK(rankedScores, count: experts, k: k, into: picks)
        if scoring == .softmaxOverChosen {
            for j in 0..<k { weights[j] = scores[picks[j]] }
            softmax(weights, count: k)
            for j in 0..<k { weights[j] *= scale }
            return
        }
        var total: Float = 0
        for j in 0..<k { total += scores[picks[j]] }
        if let floor = renormalizationFloor { total = max(total, floor) }
        for j in 0..<k {
            let score = scores[picks[j]]
            weights[j] = (renormalize ? score / total : score) * scale
        }
    }

    /// Sets `ranked` to -infinity outside the `groups.kept` groups of highest group score (ties: lower group first).
    /// Runs per token, so its scratch lives on the stack.
    private func keepBestGroups(_ groups: ExpertGroups, _ ranked: UnsafeMutablePointer<Float>, experts: Int) {
        let size = experts / groups.count
        let kept = min(max(groups.kept, 0), groups.count)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: groups.count) { groupScores in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: max(kept, 2)) { picks in
                guard let scores = groupScores.baseAddress, let chosen = picks.baseAddress else { return }
                for g in 0..<groups.count {
                    let members = UnsafePointer(ranked + g * size)
                    switch groups.score {
                    case .best:
                        scores[g] = (0..<size).reduce(-Float.infinity) { max($0, members[$1]) }
                    case .sumOfBestTwo:
                        topK(members, count: size, k: 2, into: chosen)
                        scores[g] = size >= 2 ? members[chosen[0]] + members[chosen[1]] : members[chosen[0]]
                    }
                }
                topK(scores, count: groups.count, k: kept, into: chosen)
                for g in 0..<groups.count where !(0..<kept).contains(where: { chosen[$0] == g }) {
                    (ranked + g * size).update(repeating: -.infinity, count: size)
                }
            }
        }
    }

    /// One line for `inspect-model`: e.g. "softmax, top-k, renormalised", "sigmoid + selection bias, top-k, x2.5" or
    /// "top-k of logits, softmax over chosen".
    public var description: String {
        var parts = [scoring.descriptionPrefix + (selectionBias ? " + selection bias" : ""),
                     scoring == .softmaxOverChosen ? scoring.rawValue : "top-k"]
        if renormalize { parts.append("renormalised" + (renormalizationFloor.map { " (sum >= \($0))" } ?? "")) }
        if scale != 1 { parts.append("x\(scale)") }
        if let groups { parts.insert("best \(groups.kept) of \(groups.count) groups (\(groups.score.rawValue))", at: 1) }
        return parts.joined(separator: ", ")
    }
}

extension RoutingPolicy.Scoring {
    /// How `RoutingPolicy.description` starts for this scoring (what reads a stored description back).
    public var descriptionPrefix: String { self == .softmaxOverChosen ? "top-k of logits" : rawValue }
}
