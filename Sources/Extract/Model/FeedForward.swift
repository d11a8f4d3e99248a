extension ForwardPass {
    /// `out (rows, H) = down(act(gate(x), up(x)))` for `rows` rows of `input`, each projection with its bias when
    /// there is one (gpt-oss experts); `act` is silu(gate) * up unless the MoE block says otherwise.
    func gatedMLP(_ w: MLPWeights, biases: MLPBiases? = nil, activation: GatedActivation = .silu,
                  input: UnsafePointer<Float>, rows: Int, state: RunState, into out: UnsafeMutablePointer<Float>) {
        let h = spec.hiddenSize, i = w.intermediate
        let gate = state.gate.pointer, up = state.up.pointer
        linear(input, ldx: h, rows: rows, outputs: [(w.gate, gate, i), (w.up, up, i)], scratch: state.weightTile)
        if let biases {
            addBias(gate, rows: rows, stride: i, bias: biases.gate)
            addBias(up, rows: rows, stride: i, bias: biases.up)
        }
        switch activation {
        case .silu: siluGate(gate, up, count: rows * i)
        case let .clampedSwiGLU(alpha, limit): clampedSwiGLU(gate, up, count: rows * i, alpha: alpha, limit: limit)
        }
        linear(gate, ldx: i, rows: rows, weight: w.down, into: out, ldy: h, scratch: state.weightTile)
        if let biases { addBias(out, rows: rows, stride: h, bias: biases.down) }
    }

    /// The MoE block, written once; the architecture's routing policy is in `w.spec.routing`.
    ///
    /// logits = router(x) [+ bias] -> "ffn_moe_logits"; each token's k experts and weights from `RoutingPolicy.route`
    /// (softmax -> top-k -> renormalise for the first five families). Dispatch: count the tokens of each expert,
    /// gather them, one gated MLP (one sgemm per projection) per active expert, scatter-add the weighted outputs.
    /// Shared experts run on every token, scaled by sigmoid(shared_expert_gate(x)) when gated.
    func mixtureOfExperts(_ w: MoEWeights, input: UnsafePointer<Float>, rows n: Int, layer: Int, state: RunState,
                          capture: CaptureSink, into out: UnsafeMutablePointer<Float>) {
        let h = spec.hiddenSize, experts = w.spec.experts, k = w.spec.topK
        let logits = state.routerLogits.pointer
        linear(input, ldx: h, rows: n, weight: w.router, into: logits, ldy: experts, scratch: state.weightTile)
        if let bias = w.routerBias { addBias(logits, rows: n, stride: experts, bias: bias) }
        capture.emit(.routerLogits, layer: layer, logits, rows: n, columns: experts)

        // Route: chosen[t * k + j] is token t's j-th expert, with weight chosenWeights[t * k + j].
        state.reserveChoices(n * k)
        var counts = [Int](repeating: 0, count: experts)
        state.chosen.withUnsafeMutableBufferPointer { chosen in
            state.chosenWeights.withUnsafeMutableBufferPointer { chosenWeights in
                guard let picks = chosen.baseAddress, let weights = chosenWeights.baseAddress else { return }
                for t in 0..<n {
                    w.spec.routing.route(logits + t * experts, experts: experts, k: k, selectionBias: w.selectionBias,
                                         scores: state.probabilities.pointer, ranked: state.rankedScores.pointer,
                                         picks: picks + t * k, weights: weights + t * k)
                }
            }
        }
        for slot in 0..<(n * k) { counts[state.chosen[slot]] += 1 }
        // Group the (token, weight) pairs by expert, tokens in ascending order.
        var starts = [Int](repeating: 0, count: experts + 1)
        for e in 0..<experts { starts[e + 1] = starts[e] + counts[e] }
        var fill = starts
        state.reserveRouting(n * k)
        for slot in 0..<(n * k) {
            let e = state.chosen[slot]
            state.tokenOf[fill[e]] = slot / k
            state.weightOf[fill[e]] = state.chosenWeights[slot]
            fill[e] += 1
        }

        out.update(repeating: 0, count: n * h)
        let gathered = state.gathered.pointer, expertOut = state.expertOut.pointer
        for e in 0..<experts where counts[e] > 0 {
            let members = starts[e]..<starts[e + 1]
            for (r, slot) in members.enumerated() {
                (gathered + r * h).update(from: input + state.tokenOf[slot] * h, count: h)
            }
            gatedMLP(w.experts[e], biases: w.expertBiases?[e], activation: w.spec.activation, input: gathered,
                     rows: counts[e], state: state, into: expertOut)
            for (r, slot) in members.enumerated() {
                let target = out + state.tokenOf[slot] * h, source = expertOut + r * h, weight = state.weightOf[slot]
                for i in 0..<h { target[i] += weight * source[i] }
            }
        }

        if let shared = w.shared {
            gatedMLP(shared, input: input, rows: n, state: state, into: expertOut)
            var scales = [Float](repeating: 1, count: n)
            if let gate = w.sharedGate {
                // (1, H) gate: one logit per token, sigmoid-squashed.
                scales.withUnsafeMutableBufferPointer { buffer in
                    guard let base = buffer.baseAddress else { return }
                    linear(input, ldx: h, rows: n, weight: gate, into: base, ldy: 1, scratch: state.weightTile)
                }
                for t in 0..<n { scales[t] = sigmoid(scales[t]) }
            }
            for t in 0..<n {
                let target = out + t * h, source = expertOut + t * h, scale = scales[t]
                for i in 0..<h { target[i] += scale * source[i] }
            }
        }
    }
}
