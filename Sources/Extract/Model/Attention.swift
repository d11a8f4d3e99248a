import CBLAS
import CKernels
import Foundation

extension ForwardPass {
    /// Causal self-attention with MHA or GQA over each packed sequence; `input` is `state.xb`.
    ///
    /// q, k, v projections (+ biases) -> q/k norm (whole projection or per head) -> clip_qkv -> RoPE at each token's
    /// position in its sequence -> per sequence and head: softmax(q kᵀ / sqrt(d)) v over keys at or before the query
    /// -> o_proj (+ bias). The scale is `spec.attention.scale` when an architecture sets one (Granite). Sequences
    /// never see each other's tokens, so no padding mask is needed.
    func attention(_ w: AttentionWeights, batch: PackedBatch, state: RunState, into out: UnsafeMutablePointer<Float>) {
        let n = batch.tokenCount, h = spec.hiddenSize, d = spec.headDim
        let heads = spec.headCount, kvHeads = spec.kvHeadCount, qw = spec.qWidth, kvw = spec.kvWidth
        let xb = state.xb.pointer, q = state.q.pointer, k = state.k.pointer, v = state.v.pointer
        let scratch = state.weightTile

        linear(xb, ldx: h, rows: n, outputs: [(w.q, q, qw), (w.k, k, kvw), (w.v, v, kvw)], scratch: scratch)
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
        for s in 0..<batch.sequenceCount {
            for i in 0..<batch.length(s) {
                let row = batch.offsets[s] + i
                state.rope.apply(q + row * qw, heads: heads, position: i)
                state.rope.apply(k + row * kvw, heads: kvHeads, position: i)
            }
        }

        let attention = state.attention.pointer, scores = state.scores.pointer
        let scale = spec.attention.scale ?? 1 / Float(d).squareRoot()
        let group = heads / kvHeads
        for s in 0..<batch.sequenceCount {
            let start = batch.offsets[s], length = batch.length(s)
            for head in 0..<heads {
                let qh = q + start * qw + head * d
                let kh = k + start * kvw + (head / group) * d
                let vh = v + start * kvw + (head / group) * d
                let outh = attention + start * qw + head * d
                // Short sequences (every one of a tiny model) on the fixed-order rowwise kernel: sgemm's rounding
                // depends on the kernel OpenBLAS picks for the CPU, the rowwise kernel's does not, so their
                // hidden states are the same bits on every host. k_h and v_hᵀ are copied contiguous into the
                // weight tile, unused between the projections.
                let rowwise = length * d <= AttentionProducts.rowwiseLimit && length * d <= scratch.count
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
                for i in 0..<length {
                    let row = scores + i * length
                    softmax(row, count: i + 1)  // causal: keys 0...i
                    for j in (i + 1)..<length { row[j] = 0 }
                }
                // out_h (length, d) = scores · v_h
                if rowwise {
                    let vTransposed = scratch.pointer
                    for j in 0..<length { for c in 0..<d { vTransposed[c * length + j] = vh[j * kvw + c] } }
                    ck_sgemm_rowwise(scores, length, length, length, vTransposed, d, outh, qw)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(d), Int32(length),
                                1, scores, Int32(length), vh, Int32(kvw), 0, outh, Int32(qw))
                }
            }
        }
        linear(attention, ldx: qw, rows: n, weight: w.o, into: out, ldy: h, scratch: scratch)
        if let bias = w.oBias { addBias(out, rows: n, stride: h, bias: bias) }
    }
}

/// Which attention products run on the fixed-order rowwise kernel rather than sgemm.
enum AttentionProducts {
    /// Heads whose keys (length x head_dim) hold at most this many values: sequences up to 2048 tokens of a
    /// 16-wide head (the demo model), 256 of a 128-wide one. Longer ones stay on sgemm, whose blocked kernels are
    /// several times faster at length² · head_dim; the choice depends on the sequence alone, never on the batch.
    static let rowwiseLimit = 1 << 15
}
