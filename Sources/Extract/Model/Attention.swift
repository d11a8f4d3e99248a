import CBLAS
import CKernels
import Foundation

extension ForwardPass {
    /// Causal self-attention over each packed sequence; `input` is `state.xb`.
    ///
    /// Projections by the attention kind (`project` for MHA/GQA, `projectLatent` for MLA) leave each token's RoPE'd
    /// q, k and v in `state.q/k/v`; then per sequence and head: softmax(scale · q kᵀ) v over keys at or before the
    /// query -> o_proj (+ bias). The scale is `spec.attention.scale` when an architecture sets one (Granite, MLA),
    /// else 1/sqrt(head_dim). A windowed layer (`ModelSpec.window(layer:)`) sees only the last `window` keys; heads
    /// with a sink logit (gpt-oss) share their softmax with it. Sequences never see each other's tokens, so no
    /// padding mask is needed.
    func attention(_ w: AttentionWeights, layer: Int, batch: PackedBatch, state: RunState, into out: UnsafeMutablePointer<Float>) {
        let n = batch.tokenCount, h = spec.hiddenSize
        switch w.projections {
        case let .grouped(q, k, v): project(w, q: q, k: k, v: v, batch: batch, state: state)
        case let .latent(latent): projectLatent(latent, batch: batch, state: state)
        }
        attend(batch: batch, state: state, window: spec.window(layer: layer), sinks: w.sinks)
        linear(state.attention.pointer, ldx: spec.attentionOutputWidth, rows: n, weight: w.o, into: out, ldy: h, scratch: state.weightTile)
        if let bias = w.oBias { addBias(out, rows: n, stride: h, bias: bias) }
    }

    /// MHA / GQA: q, k, v projections (+ biases) -> q/k norm (whole projection or per head) -> clip_qkv -> RoPE at
    /// each token's position in its sequence.
    private func project(_ w: AttentionWeights, q wq: WeightMatrix, k wk: WeightMatrix, v wv: WeightMatrix,
                         batch: PackedBatch, state: RunState) {
        let n = batch.tokenCount, h = spec.hiddenSize, d = spec.headDim
        let heads = spec.headCount, kvHeads = spec.kvHeadCount, qw = spec.qWidth, kvw = spec.kvWidth
        let xb = state.xb.pointer, q = state.q.pointer, k = state.k.pointer, v = state.v.pointer

        linear(xb, ldx: h, rows: n, outputs: [(wq, q, qw), (wk, k, kvw), (wv, v, kvw)], scratch: state.weightTile)
        if let bias = w.qBias { addBias(q, rows: n, stride: qw, bias: bias) }
        if let bias = w.kBias { addBias(k, rows: n, stride: kvw, bias: bias) }
        if let bias = w.vBias { addBias(v, rows: n, stride: kvw, bias: bias) }

        switch spec.attention.qkNorm {
        case .none: break
        case .wholeProjection:
            if let qNorm = w.qNorm { rmsNorm(q, rows: n, width: qw, stride: qw, weight: qNorm, eps: spec.rmsNormEps, into: q, outStride: qw) }
            if let kNorm = w.kNorm { rmsNorm(k, rows: n, width: kvw, stride: kvw, weight: kNorm, eps: spec.rmsNormEps, into: k, outStride: kvw) }
        case .perHead:
            if let qNorm = w.qNorm { rmsNorm(q, rows: n * heads, width: d, stride: d, weight: qNorm, eps: spec.rmsNormEps, into: q, outStride: d) }
            if let kNorm = w.kNorm { rmsNorm(k, rows: n * kvHeads, width: d, stride: d, weight: kNorm, eps: spec.rmsNormEps, into: k, outStride: d) }
        }
        if let limit = spec.attention.clipQKV {
            clamp(q, count: n * qw, limit: limit)
            clamp(k, count: n * kvw, limit: limit)
            clamp(v, count: n * kvw, limit: limit)
        }
        forEachPosition(batch) { row, position in
            state.rope.apply(q + row * qw, heads: heads, stride: d, position: position)
            state.rope.apply(k + row * kvw, heads: kvHeads, stride: d, position: position)
        }
    }

    /// MLA (`LatentAttentionSpec`): q from q_proj or q_b(rmsnorm(q_a(x))); the latent c and the shared k_pe from
    /// kv_a_proj_with_mqa; k_nope and v per head from kv_b(rmsnorm(c)); RoPE on q's rope part and on k_pe, which
    /// every head's key then ends with.
    private func projectLatent(_ w: LatentAttentionWeights, batch: PackedBatch, state: RunState) {
        guard let latent = spec.attention.latent else { return }
        let n = batch.tokenCount, h = spec.hiddenSize, heads = spec.headCount
        let nope = latent.qkNopeHeadDim, rope = latent.qkRopeHeadDim, vd = latent.vHeadDim, r = latent.kvLoraRank
        let qkd = nope + rope, qw = spec.qWidth, kvw = spec.kvWidth, vw = spec.vWidth
        let xb = state.xb.pointer, q = state.q.pointer, k = state.k.pointer, v = state.v.pointer
        let scratch = state.weightTile
        // The latent buffer holds, per token: c and k_pe (r + rope), then kv_b's output heads x (nope + vd),
        // then q_a's output (q_lora_rank) when q is low-rank.
        let cw = r + rope, kvbw = heads * (nope + vd)
        let c = state.latent.pointer, kvb = c + n * cw, qa = kvb + n * kvbw

        switch w.query {
        case let .direct(wq):
            linear(xb, ldx: h, rows: n, weight: wq, into: q, ldy: qw, scratch: scratch)
        case let .lowRank(a, norm, b):
            let rank = a.rows
            linear(xb, ldx: h, rows: n, weight: a, into: qa, ldy: rank, scratch: scratch)
            rmsNorm(qa, rows: n, width: rank, stride: rank, weight: norm, eps: latent.normEps, into: qa, outStride: rank)
            linear(qa, ldx: rank, rows: n, weight: b, into: q, ldy: qw, scratch: scratch)
        }
        linear(xb, ldx: h, rows: n, weight: w.kvA, into: c, ldy: cw, scratch: scratch)
        rmsNorm(c, rows: n, width: r, stride: cw, weight: w.kvANorm, eps: latent.normEps, into: c, outStride: cw)
        linear(c, ldx: cw, rows: n, weight: w.kvB, into: kvb, ldy: kvbw, scratch: scratch)
        forEachPosition(batch) { row, position in
            state.rope.apply(q + row * qw + nope, heads: heads, stride: qkd, position: position)
            state.rope.apply(c + row * cw + r, heads: 1, stride: rope, position: position)
        }
        for row in 0..<n {
            let kPe = c + row * cw + r
            for head in 0..<heads {
                let source = kvb + row * kvbw + head * (nope + vd)
                let key = k + row * kvw + head * qkd
                key.update(from: source, count: nope)
                (key + nope).update(from: kPe, count: rope)
                (v + row * vw + head * vd).update(from: source + nope, count: vd)
            }
        }
    }

    /// Calls `body(row, position)` for every packed row, with its position in its own sequence.
    private func forEachPosition(_ batch: PackedBatch, _ body: (Int, Int) -> Void) {
        for s in 0..<batch.sequenceCount {
            for i in 0..<batch.length(s) { body(batch.offsets[s] + i, i) }
        }
    }

    /// Causal attention of `state.q` over `state.k`, `state.v` into `state.attention`, per sequence and head: query
    /// i sees keys max(0, i - window + 1)...i, and the head's sink logit when there is one.
    private func attend(batch: PackedBatch, state: RunState, window: Int?, sinks: [Float]?) {
        let d = spec.qkHeadDim, dv = spec.vHeadDim
        let heads = spec.headCount, kvHeads = spec.kvHeadCount, qw = spec.qWidth, kvw = spec.kvWidth, vw = spec.vWidth
        let ow = spec.attentionOutputWidth
        let q = state.q.pointer, k = state.k.pointer, v = state.v.pointer, scratch = state.weightTile
        let attention = state.attention.pointer, scores = state.scores.pointer
        let scale = spec.attention.scale ?? 1 / Float(d).squareRoot()
        let group = heads / kvHeads
        for s in 0..<batch.sequenceCount {
            let start = batch.offsets[s], length = batch.length(s)
            for head in 0..<heads {
                let qh = q + start * qw + head * d
                let kh = k + start * kvw + (head / group) * d
                let vh = v + start * vw + (head / group) * dv
                let outh = attention + start * ow + head * dv
                // Short sequences (every one of a tiny model) on the fixed-order rowwise kernel: sgemm's rounding
                // depends on the kernel OpenBLAS picks for the CPU, the rowwise kernel's does not, so their
                // hidden states are the same bits on every host. k_h and v_hᵀ are copied contiguous into the
                // weight tile, unused between the projections.
                let rowwise = length * max(d, dv) <= AttentionProducts.rowwiseLimit && length * max(d, dv) <= scratch.count
                // scores (length, length) = scale · q_h k_hᵀ
                if rowwise {
                    let kContiguous = scratch.pointer
                    for j in 0..<length { (kContiguous + j * d).update(from: kh + j * kvw, count: d) }
                    ck_sgemm_rowwise(qh, qw, length, d, kContiguous, length, scores, length)
                    for i in 0..<(length * length) { scores[i] *= scale }
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(length), Int32(length), Int32(d),
                                scale, qh, Int32(qw), kh, Int32(kvw), 0, scores, Int32(length))
                }
                let sink = sinks?[head]
                for i in 0..<length {
                    let row = scores + i * length
                    let first = window.map { max(0, i - $0 + 1) } ?? 0
                    for j in 0..<first { row[j] = 0 }
                    softmax(row + first, count: i + 1 - first, sink: sink)  // causal: keys first...i
                    for j in (i + 1)..<length { row[j] = 0 }
                }
                // out_h (length, d) = scores · v_h
                if rowwise {
                    let vTransposed = scratch.pointer
                    for j in 0..<length { for c in 0..<dv { vTransposed[c * length + j] = vh[j * vw + c] } }
                    ck_sgemm_rowwise(scores, length, length, length, vTransposed, dv, outh, ow)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(dv), Int32(length),
                                1, scores, Int32(length), vh, Int32(vw), 0, outh, Int32(ow))
                }
            }
        }
    }
}

/// Which attention products run on the fixed-order rowwise kernel rather than sgemm.
enum AttentionProducts {
    /// Heads whose keys (length x head_dim) hold at most this many values: sequences up to 2048 tokens of a
    /// 16-wide head (the demo model), 256 of a 128-wide one. Longer ones stay on sgemm, whose blocked kernels are
    /// several times faster at length² · head_dim; the choice depends on the sequence alone, never on the batch.
    static let rowwiseLimit = 1 << 15
}
