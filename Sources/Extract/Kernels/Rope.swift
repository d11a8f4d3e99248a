import Foundation

/// Rotary position embedding tables (rotate-half convention), grown on demand and computed the way transformers
/// does in float32: `inv_freq[i] = 1 / theta^(2i/d)`, `angle = position * inv_freq[i]`, cos/sin of the angle.
final class RopeTable: @unchecked Sendable {
    let headDim: Int
    private let inverseFrequencies: [Float]
    private(set) var cos: [Float] = []
    private(set) var sin: [Float] = []
    private(set) var positions = 0

    init(headDim: Int, theta: Double) {
        self.headDim = headDim
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

    /// Rotates `heads` heads of one token row in place: `(x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)`.
    func apply(_ row: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let half = headDim / 2
        cos.withUnsafeBufferPointer { c in
            sin.withUnsafeBufferPointer { s in
                let base = position * half
                for h in 0..<heads {
                    let x = row + h * headDim
                    for i in 0..<half {
                        let x1 = x[i], x2 = x[i + half]
                        x[i] = x1 * c[base + i] - x2 * s[base + i]
                        x[i + half] = x2 * c[base + i] + x1 * s[base + i]
                    }
                }
            }
        }
    }
}
