import Foundation

/// Row-wise RMSNorm: `out = weight * x / sqrt(mean(x²) + eps)` over `width` values, for `rows` rows of stride `stride`.
/// The mean is accumulated in double (HF accumulates in float32; the difference is far below the tolerance).
func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, width: Int, stride: Int, weight: [Float], eps: Float,
             into out: UnsafeMutablePointer<Float>, outStride: Int) {
    weight.withUnsafeBufferPointer { w in
        for r in 0..<rows {
            let row = x + r * stride
            var sum = 0.0
            for i in 0..<width { sum += Double(row[i]) * Double(row[i]) }
            let scale = Float(1 / (sum / Double(width) + Double(eps)).squareRoot())
            let target = out + r * outStride
            for i in 0..<width { target[i] = w[i] * (row[i] * scale) }
        }
    }
}

/// In-place softmax over `count` values (max-subtracted, float32 like the reference). With a `sink` logit, the
/// softmax runs over the values and the sink, and the sink's share is dropped (gpt-oss attention sinks), so the
/// values sum to less than 1.
func softmax(_ values: UnsafeMutablePointer<Float>, count: Int, sink: Float? = nil) {
    guard count > 0 else { return }
    var maximum = sink ?? -Float.infinity
    for i in 0..<count where values[i] > maximum { maximum = values[i] }
    var sum: Float = sink.map { expf($0 - maximum) } ?? 0
    for i in 0..<count {
        let e = expf(values[i] - maximum)
        values[i] = e
        sum += e
    }
    let inverse = 1 / sum
    for i in 0..<count { values[i] *= inverse }
}

@inline(__always) func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// `a[i] = silu(a[i]) * b[i]`: the gated-MLP activation.
func siluGate(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { a[i] = silu(a[i]) * b[i] }
}

/// gpt-oss's clamped SwiGLU, `a[i] = (clamp(b[i], ±limit) + 1) * g * sigmoid(alpha * g)` with `g = min(a[i], limit)`.
func clampedSwiGLU(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int, alpha: Float, limit: Float) {
    for i in 0..<count {
        let gate = min(a[i], limit), up = min(max(b[i], -limit), limit)
        a[i] = (up + 1) * (gate * sigmoid(gate * alpha))
    }
}

/// `y += x` over `count` values.
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

/// `y *= factor` over `count` values (Granite's embedding and residual multipliers).
func scaleInPlace(_ y: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    for i in 0..<count { y[i] *= factor }
}

/// Adds `bias` to each of `rows` rows of stride `stride`.
func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, stride: Int, bias: [Float]) {
    bias.withUnsafeBufferPointer { b in
        for r in 0..<rows {
            let row = y + r * stride
            for i in 0..<b.count { row[i] += b[i] }
        }
    }
}

/// Clamps `count` values to [-limit, limit] (OLMoE's clip_qkv).
func clamp(_ y: UnsafeMutablePointer<Float>, count: Int, limit: Float) {
    for i in 0..<count { y[i] = min(max(y[i], -limit), limit) }
}
