/// The decoder forward pass, shared by every architecture, readable top to bottom:
///
///     x = embed(tokens) [* embedding_multiplier]          -> "inp_embd"
///     for each layer l:
///         x += attention(rmsnorm(x, input_layernorm)) [* residual_multiplier]      -> "attn_out"
///         x += ffn_l(rmsnorm(x, post_attention_layernorm)) [* residual_multiplier] -> "ffn_out" (MoE: "ffn_moe_logits")
///                                                         -> "l_out"
///     rmsnorm(x, model.norm)                              -> "result_norm"
///
/// Tokens are packed (no padding); what differs between architectures is carried by the spec and the weights.
struct ForwardPass {
    let spec: ModelSpec
    let weights: ModelWeights

    func forward(_ batch: PackedBatch, state: RunState, capture: CaptureSink) {
        let n = batch.tokenCount, h = spec.hiddenSize
        guard n > 0 else { return }
        state.reserve(tokens: n, longest: batch.longest)
        let x = state.x.pointer, xb = state.xb.pointer, out = state.blockOut.pointer

        for (row, token) in batch.tokens.enumerated() {
            weights.embedding.widenRow(Int(token), into: x + row * h)
        }
        if let factor = spec.embeddingMultiplier { scaleInPlace(x, by: factor, count: n * h) }
        capture.emit(.embeddings, layer: -1, x, rows: n, columns: h)

        for (l, layer) in weights.layers.enumerated() {
            rmsNorm(x, rows: n, width: h, stride: h, weight: layer.inputNorm, eps: spec.rmsNormEps, into: xb, outStride: h)
            attention(layer.attention, layer: l, batch: batch, state: state, into: out)
            if let factor = spec.residualMultiplier { scaleInPlace(out, by: factor, count: n * h) }
            capture.emit(.attentionOutput, layer: l, out, rows: n, columns: h)
            addInPlace(x, out, count: n * h)

            rmsNorm(x, rows: n, width: h, stride: h, weight: layer.postAttentionNorm, eps: spec.rmsNormEps, into: xb, outStride: h)
            switch layer.feedForward {
            case let .dense(mlp):
                gatedMLP(mlp, input: xb, rows: n, state: state, into: out)
            case let .moe(moe):
                mixtureOfExperts(moe, input: xb, rows: n, layer: l, state: state, capture: capture, into: out)
            }
            if let factor = spec.residualMultiplier { scaleInPlace(out, by: factor, count: n * h) }
            capture.emit(.feedForwardOutput, layer: l, out, rows: n, columns: h)
            addInPlace(x, out, count: n * h)
            capture.emit(.layerOutput, layer: l, x, rows: n, columns: h)
        }

        rmsNorm(x, rows: n, width: h, stride: h, weight: weights.finalNorm, eps: spec.rmsNormEps, into: xb, outStride: h)
        capture.emit(.finalNorm, layer: -1, xb, rows: n, columns: h)
    }
}
