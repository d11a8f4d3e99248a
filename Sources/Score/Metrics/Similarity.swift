import CBLAS

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
        var values = matrix.values
        let d = matrix.dimension
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for row in 0..<matrix.rows {
                let pointer = base + row * d
                let norm = dotProduct(pointer, pointer, d).squareRoot()
                // Divide (as sklearn's normalize and torch's F.normalize do), not multiply by 1 / norm.
                if norm > 0 { for i in 0..<d { pointer[i] /= norm } }
            }
        }
        return EmbeddingMatrix(rows: matrix.rows, dimension: d, values: values)
    }

    /// Applies `body` to the two rows of every pair (rows of `a` and `b` with the same index).
    @inline(__always)
    static func paired(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix,
                       _ body: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float) -> [Float] {
        precondition(a.rows == b.rows && a.dimension == b.dimension, "paired: shapes differ")
        let d = a.dimension
        return a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                // Empty storage only for zero rows or zero dimension (rejected by the lookup): nothing to compare.
                guard let baseA = pa.baseAddress, let baseB = pb.baseAddress else {
                    return [Float](repeating: 0, count: a.rows)
                }
                return (0..<a.rows).map { body(baseA + $0 * d, baseB + $0 * d, d) }
            }
        }
    }

    /// sklearn's `1 - paired_cosine_distances(a, b)` from rows already normalised by `normalizedRows`.
    public static func sklearnCosine(normalized a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        paired(a, b) { x, y, d in
            var sum: Float = 0
            for i in 0..<d { let diff = x[i] - y[i]; sum += diff * diff }
            return 1 - 0.5 * sum
        }
    }

    /// Row-wise dot products (`np.dot` per pair; torch cosine when the rows are normalised).
    public static func dot(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        paired(a, b) { x, y, d in dotProduct(x, y, d) }
    }

    /// Row-wise L1 distances.
    public static func manhattan(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        paired(a, b) { x, y, d in
            var sum: Float = 0
            for i in 0..<d { sum += abs(x[i] - y[i]) }
            return sum
        }
    }

    /// Row-wise L2 distances.
    public static func euclidean(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        paired(a, b) { x, y, d in
            var sum: Float = 0
            for i in 0..<d { let diff = x[i] - y[i]; sum += diff * diff }
            return sum.squareRoot()
        }
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

    /// Dot products of every row of `a` with every row of `b`: an `a.rows x b.rows` row-major matrix.
    public static func allPairsDot(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        precondition(a.dimension == b.dimension, "allPairsDot: dimensions differ")
        let d = a.dimension
        var out = [Float](repeating: 0, count: a.rows * b.rows)
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                guard let baseA = pa.baseAddress, let baseB = pb.baseAddress else { return }
                for i in 0..<a.rows { for j in 0..<b.rows { out[i * b.rows + j] = dotProduct(baseA + i * d, baseB + j * d, d) } }
            }
        }
        return out
    }

    /// `a * b^T` (rows of `a` against rows of `b`), one BLAS call: an `a.rows x b.rows` row-major matrix.
    public static func matrixProduct(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix) -> [Float] {
        precondition(a.dimension == b.dimension, "matrixProduct: dimensions differ")
        var out = [Float](repeating: 0, count: a.rows * b.rows)
        guard a.rows > 0, b.rows > 0, a.dimension > 0 else { return out }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(a.rows), Int32(b.rows),
                                Int32(a.dimension), 1, pa.baseAddress, Int32(a.dimension),
                                pb.baseAddress, Int32(b.dimension), 0, po.baseAddress, Int32(b.rows))
                }
            }
        }
        return out
    }
}
