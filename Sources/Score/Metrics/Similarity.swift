/// Row-wise similarities and distances in float32, as mteb's evaluators compute them.
///
/// Two cosines exist in mteb: sklearn's `1 - paired_cosine_distances` = `1 - 0.5 * ||a/|a| - b/|b|||^2`
/// (STS and PairClassification `cosine_*`; 0.5 for a zero vector against a non-zero one, 1.0 for two zero
/// vectors) and torch's `cos_sim` = `a/|a| . b/|b|` (model similarity, Summarization, Reranking; 0 for a zero
/// vector). Both normalise a zero row to zero. Float32 matters: near-identical rows round to the same value,
/// which then ties in ranks exactly as in mteb.
public enum Similarity {
    /// Each row divided by its L2 norm; zero rows stay zero.
    public static func normalizedRows(_ matrix: EmbeddingMatrix) -> EmbeddingMatrix {
        let d = matrix.dimension, total = matrix.rows * d
        // Written straight into new storage (no copy first): one read and one write of the matrix.
        let values = matrix.values.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: total) { out, count in
                count = 0
                guard let from = source.baseAddress, let base = out.baseAddress, total > 0 else { return }
                for row in 0..<matrix.rows {
                    let (x, target) = (from + row * d, base + row * d)
                    let norm = dotProduct(x, x, d).squareRoot()
                    // Divide (as sklearn's normalize and torch's F.normalize do), not multiply by 1 / norm.
                    guard norm > 0 else { target.initialize(from: x, count: d); continue }
                    var i = 0
                    let divisor = SIMD16<Float>(repeating: norm)
                    while i + 16 <= d {
                        let quotient = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) / divisor
                        UnsafeMutableRawPointer(target + i).storeBytes(of: quotient, as: SIMD16<Float>.self)
                        i += 16
                    }
                    while i < d { target[i] = x[i] / norm; i += 1 }
                }
                count = total
            }
        }
        return EmbeddingMatrix(rows: matrix.rows, dimension: d, values: values)
    }

    /// Applies `body` to rows `first[k]` and `second[k]` of `matrix` for every k (no copies).
    @inline(__always)
    static func paired(_ matrix: EmbeddingMatrix, _ first: [Int], _ second: [Int],
                       _ body: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float) -> [Float] {
        precondition(first.count == second.count, "paired: index lists differ in length")
        let d = matrix.dimension
        return matrix.values.withUnsafeBufferPointer { buffer in
            // Empty storage only for zero rows or zero dimension (rejected by the lookup): nothing to compare.
            guard let base = buffer.baseAddress else { return [Float](repeating: 0, count: first.count) }
            return (0..<first.count).map { body(base + first[$0] * d, base + second[$0] * d, d) }
        }
    }

    /// sklearn's `1 - paired_cosine_distances` from rows already normalised by `normalizedRows`.
    public static func sklearnCosine(normalized matrix: EmbeddingMatrix, _ first: [Int], _ second: [Int]) -> [Float] {
        paired(matrix, first, second) { x, y, d in 1 - 0.5 * squaredDistance(x, y, d) }
    }

    /// Row-wise dot products (`np.dot` per pair; torch's cosine when the rows are normalised).
    public static func dot(_ matrix: EmbeddingMatrix, _ first: [Int], _ second: [Int]) -> [Float] {
        paired(matrix, first, second) { x, y, d in dotProduct(x, y, d) }
    }

    /// Row-wise L1 distances.
    public static func manhattan(_ matrix: EmbeddingMatrix, _ first: [Int], _ second: [Int]) -> [Float] {
        paired(matrix, first, second) { x, y, d in l1Distance(x, y, d) }
    }

    /// Row-wise L2 distances.
    public static func euclidean(_ matrix: EmbeddingMatrix, _ first: [Int], _ second: [Int]) -> [Float] {
        paired(matrix, first, second) { x, y, d in squaredDistance(x, y, d).squareRoot() }
    }

    /// A float32 dot product with a fixed summation order (16 lanes, then the lanes in order, then the tail),
    /// so that equal rows give bit-identical results wherever they sit (a BLAS kernel may round differently
    /// for different row positions, which would break mteb's exact ties).
    @inline(__always)
    public static func dotProduct(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ d: Int) -> Float {
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= d {
            let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += vx * vy
            i += 16
        }
        var sum = lanes.sum()
        while i < d { sum += x[i] * y[i]; i += 1 }
        return sum
    }

    /// Every paired score mteb's STS and PairClassification evaluators use, in one pass over each pair's rows
    /// (memory traffic dominates at large dimensions). Each value is computed exactly as by the single-purpose
    /// functions above.
    public struct PairScores {
        /// torch cosine (dot of normalised rows), sklearn cosine, raw dot, L1 and L2 distances.
        public var modelCosine: [Float], sklearnCosine: [Float], dot: [Float], manhattan: [Float], euclidean: [Float]
    }

    public static func pairScores(raw: EmbeddingMatrix, normalized: EmbeddingMatrix, _ first: [Int], _ second: [Int]) -> PairScores {
        precondition(first.count == second.count && raw.dimension == normalized.dimension, "pairScores: shapes differ")
        let n = first.count, d = raw.dimension
        var scores = PairScores(modelCosine: .init(repeating: 0, count: n), sklearnCosine: .init(repeating: 0, count: n),
                                dot: .init(repeating: 0, count: n), manhattan: .init(repeating: 0, count: n),
                                euclidean: .init(repeating: 0, count: n))
        raw.values.withUnsafeBufferPointer { pr in
            normalized.values.withUnsafeBufferPointer { pn in
                guard let r = pr.baseAddress, let u = pn.baseAddress else { return }
                for k in 0..<n {
                    let (ra, rb) = (r + first[k] * d, r + second[k] * d)
                    let (ua, ub) = (u + first[k] * d, u + second[k] * d)
                    scores.modelCosine[k] = dotProduct(ua, ub, d)
                    scores.sklearnCosine[k] = 1 - 0.5 * squaredDistance(ua, ub, d)
                    scores.dot[k] = dotProduct(ra, rb, d)
                    scores.manhattan[k] = l1Distance(ra, rb, d)
                    scores.euclidean[k] = squaredDistance(ra, rb, d).squareRoot()
                }
            }
        }
        return scores
    }

    /// `sum(|x - y|)` in float32, in the same fixed order as `dotProduct`.
    @inline(__always)
    public static func l1Distance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ d: Int) -> Float {
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= d {
            let diff = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                - UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += diff.replacing(with: -diff, where: diff .< 0)
            i += 16
        }
        var sum = lanes.sum()
        while i < d { sum += abs(x[i] - y[i]); i += 1 }
        return sum
    }

    /// `sum((x - y)^2)` in float32, in the same fixed order as `dotProduct`.
    @inline(__always)
    public static func squaredDistance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ d: Int) -> Float {
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= d {
            let diff = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                - UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += diff * diff
            i += 16
        }
        var sum = lanes.sum()
        while i < d { let diff = x[i] - y[i]; sum += diff * diff; i += 1 }
        return sum
    }

    /// Dot products of rows `rows` with rows `columns` of `matrix`: a `rows.count x columns.count` row-major matrix.
    public static func allPairsDot(_ matrix: EmbeddingMatrix, rows: [Int], columns: [Int]) -> [Float] {
        let d = matrix.dimension
        var out = [Float](repeating: 0, count: rows.count * columns.count)
        matrix.values.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for (i, row) in rows.enumerated() {
                for (j, column) in columns.enumerated() {
                    out[i * columns.count + j] = dotProduct(base + row * d, base + column * d, d)
                }
            }
        }
        return out
    }
}
