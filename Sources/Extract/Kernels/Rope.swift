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

    init(headDim: Int, theta: Double, layout: RotaryLayout = .halves) {
        self.headDim = headDim
        self.layout = layout
        let half = headDim / 2
        inverseFrequencies = (0..<half).map { i in 1 / powf(Float(theta), Float(2 * i) / Float(headDim)) }
    }

    /// Makes rows 0..<count available.
    func reserve(_ count: Int) {
        guard count > positions else { return }
        let half = headDim / 2
        for p in positions..<count {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                cos.append(Foundation.cos(angle))
                sin.append(Foundation.sin(angle))
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
