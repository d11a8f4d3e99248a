import Foundation

/// Rotary position embedding tables, grown on demand and computed the way transformers does in float32:
/// `inv_freq[i] = 1 / theta^(2i/d)`, `angle = position * inv_freq[i]`, cos/sin of the angle. Pair i is dimensions
/// (i, i + d/2) in the `halves` layout (rotate_half) and (2i, 2i + 1) in the `interleaved` one.
final class RopeTable: @unchecked Sendable {
    let headDim: Int
    let layout: RotaryLayout
    private let inverseFrequencies: [Float]
    private(set) var cos: [Float] = []
    private(set) var sin: [Float] = []
    private(set) var positions = 0

    /// cos and sin times this (YaRN's attention factor; 1 for plain RoPE).
    private let magnitude: Float

    init(headDim: Int, theta: Double, layout: RotaryLayout = .halves, yarn: YarnScaling? = nil) {
        self.headDim = headDim
        self.layout = layout
        magnitude = Float(yarn?.attentionFactor ?? 1)
        let half = headDim / 2
        inverseFrequencies = yarn?.inverseFrequencies(dim: headDim, theta: theta)
            ?? (0..<half).map { i in 1 / powf(Float(theta), Float(2 * i) / Float(headDim)) }
    }

    /// Makes rows 0..<count available.
    func reserve(_ count: Int) {
        guard count > positions else { return }
        let half = headDim / 2
        for p in positions..<count {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                cos.append(Foundation.cos(angle) * magnitude)
                sin.append(Foundation.sin(angle) * magnitude)
            }
        }
        positions = count
    }

    /// Rotates `heads` heads of one token row in place, head j's `headDim` values starting at `row + j * stride`:
    /// each pair `(x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)`.
    func apply(_ row: UnsafeMutablePointer<Float>, heads: Int, stride headStride: Int, position: Int) {
        let half = headDim / 2
        cos.withUnsafeBufferPointer { c in
            sin.withUnsafeBufferPointer { s in
                let base = position * half
                // Pair i: dimensions a = i * stride and b = a + offset.
                let (stride, offset) = layout == .halves ? (1, half) : (2, 1)
                for h in 0..<heads {
                    let x = row + h * headStride
                    for i in 0..<half {
                        let a = i * stride, b = a + offset
                        let x1 = x[a], x2 = x[b]
                        x[a] = x1 * c[base + i] - x2 * s[base + i]
                        x[b] = x2 * c[base + i] + x1 * s[base + i]
                    }
                }
            }
        }
    }
}

/// YaRN (arXiv 2309.00071) as transformers' `_compute_yarn_parameters` computes it: each rotary frequency blends
/// its plain value and its value divided by `factor`, by a linear ramp over the dimensions between the correction
/// range of `betaFast` and `betaSlow` rotations; cos and sin are multiplied by `attentionFactor`.
public struct YarnScaling: Sendable, Equatable, Codable {
    public var factor: Double
    public var originalMaxPositions: Double
    public var betaFast: Double
    public var betaSlow: Double
    public var attentionFactor: Double
    /// DeepSeek's `mscale_all_dim`: MLA multiplies its softmax scale by mscale(factor, this)² (0 = not at all).
    public var mscaleAllDim: Double
    public var truncate: Bool

    /// YaRN's Eq. 21: 0.1 · m · ln(s) + 1, and 1 for s <= 1.
    public static func mscale(_ scale: Double, _ m: Double) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }

    /// The `dim / 2` inverse frequencies, in float32 step by step as transformers does.
    func inverseFrequencies(dim: Int, theta: Double) -> [Float] {
        func correctionDim(_ rotations: Double) -> Double {
            Double(dim) * log(originalMaxPositions / (rotations * 2 * Double.pi)) / (2 * log(theta))
        }
        var low = correctionDim(betaFast), high = correctionDim(betaSlow)
        if truncate { low = low.rounded(.down); high = high.rounded(.up) }
        low = max(low, 0)
        high = min(high, Double(dim - 1))
        if low == high { high += 0.001 }
        let lowF = Float(low), span = Float(high - low), factorF = Float(factor)  // as torch: scalars rounded once
        return (0..<(dim / 2)).map { i in
            let position = powf(Float(theta), Float(2 * i) / Float(dim))
            let extrapolation = 1 / position, interpolation = 1 / (factorF * position)
            let ramp = min(max((Float(i) - lowF) / span, 0), 1)
            let keep = 1 - ramp  // the share of the plain (extrapolated) frequency
            return interpolation * (1 - keep) + extrapolation * keep
        }
    }
}
