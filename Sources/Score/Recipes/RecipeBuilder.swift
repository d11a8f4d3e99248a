import Foundation

extension Recipe {
    /// The recipe's vectors for `texts` (all texts of one task: standardisation statistics are taken over
    /// exactly these rows), as a lookup for `evaluate`.
    public func embeddings(from source: some TensorSource, texts: [String]) throws -> EmbeddingTable {
        try validate()
        let matrix: EmbeddingMatrix
        switch kind {
        case .hs:
            matrix = try source.hiddenStates(layer: layer, pooling: pooling, texts: texts)
        case .rw:
            matrix = try routingWeights(from: source, texts: texts)
        case .moeeConcat:
            matrix = Standardization.concatenate(
                Standardization.zScores(try source.hiddenStates(layer: layer, pooling: pooling, texts: texts)),
                Standardization.zScores(try routingWeights(from: source, texts: texts)))
        case .moeeSum:
            matrix = try MoEESumParts(recipe: self, source: source, texts: texts).vectors(alpha: alpha)
        }
        return EmbeddingTable(texts: texts, matrix: matrix)
    }

    /// RW: the chosen MoE layers' router logits, each layer's experts turned into softmax probabilities
    /// (unless `softmax` is false), concatenated in the order of `layers` (default: every MoE layer).
    /// The cache stores pooled logits, so with mean pooling this is the softmax of the mean logits.
    func routingWeights(from source: some TensorSource, texts: [String]) throws -> EmbeddingMatrix {
        let (logits, routerLayers, experts) = try source.routerLogits(pooling: pooling, texts: texts)
        guard experts > 0, !routerLayers.isEmpty, logits.dimension == routerLayers.count * experts else {
            throw ScoreError.invalidRecipe("recipe \(name): the source has no router logits (\(routerLayers.count) MoE layers, \(experts) experts)")
        }
        let chosen = try (layers ?? routerLayers).map { wanted -> Int in
            guard let position = routerLayers.firstIndex(of: wanted) else {
                throw ScoreError.invalidRecipe("recipe \(name): layer \(wanted) has no router (MoE layers: \(routerLayers.map(String.init).joined(separator: ", ")))")
            }
            return position
        }
        var values = [Float]()
        values.reserveCapacity(logits.rows * chosen.count * experts)
        for row in 0..<logits.rows {
            let full = logits.row(row)
            for position in chosen {
                let start = full.startIndex + position * experts
                let block = full[start..<(start + experts)]
                guard softmax else { values.append(contentsOf: block); continue }
                let maximum = block.max() ?? 0
                let exps = block.map { Foundation.exp(Double($0 - maximum)) }
                let total = exps.reduce(0, +)
                values.append(contentsOf: exps.map { Float($0 / total) })
            }
        }
        return EmbeddingMatrix(rows: logits.rows, dimension: chosen.count * experts, values: values)
    }
}

/// MoEE-sum's two standardised, unit-normalised parts, built once so that an alpha sweep only rescales.
/// `vectors(alpha)` = `[HS/|HS| ; sqrt(alpha) * RW/|RW|]`, whose cosine is a monotone function of
/// `cos(HS) + alpha * cos(RW)`.
public struct MoEESumParts: Sendable {
    public let hiddenState: EmbeddingMatrix
    public let routing: EmbeddingMatrix

    public init(recipe: Recipe, source: some TensorSource, texts: [String]) throws {
        hiddenState = Similarity.normalizedRows(Standardization.zScores(
            try source.hiddenStates(layer: recipe.layer, pooling: recipe.pooling, texts: texts)))
        routing = Similarity.normalizedRows(Standardization.zScores(try recipe.routingWeights(from: source, texts: texts)))
    }

    public init(hiddenState: EmbeddingMatrix, routing: EmbeddingMatrix) {
        self.hiddenState = Similarity.normalizedRows(Standardization.zScores(hiddenState))
        self.routing = Similarity.normalizedRows(Standardization.zScores(routing))
    }

    public func vectors(alpha: Double) -> EmbeddingMatrix {
        Standardization.concatenate(hiddenState, routing, secondScale: Float(alpha.squareRoot()))
    }
}

/// Per-dimension z-scores over all rows.
public enum Standardization {
    /// `(x - mean) / std` per column, population std (ddof = 0), float64 statistics; zero-variance columns
    /// become 0.
    public static func zScores(_ matrix: EmbeddingMatrix) -> EmbeddingMatrix {
        let (n, d) = (matrix.rows, matrix.dimension)
        guard n > 0, d > 0 else { return matrix }
        var mean = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        matrix.values.withUnsafeBufferPointer { values in
            for row in 0..<n { for j in 0..<d { mean[j] += Double(values[row * d + j]) } }
            for j in 0..<d { mean[j] /= Double(n) }
            for row in 0..<n { for j in 0..<d { let x = Double(values[row * d + j]) - mean[j]; squares[j] += x * x } }
        }
        let inverseStd = squares.map { sum -> Double in
            let std = (sum / Double(n)).squareRoot()
            return std > 0 ? 1 / std : 1
        }
        var out = matrix.values
        for row in 0..<n { for j in 0..<d { out[row * d + j] = Float((Double(out[row * d + j]) - mean[j]) * inverseStd[j]) } }
        return EmbeddingMatrix(rows: n, dimension: d, values: out)
    }

    /// Row-wise `[a ; secondScale * b]`.
    public static func concatenate(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix, secondScale: Float = 1) -> EmbeddingMatrix {
        precondition(a.rows == b.rows, "concatenate: row counts differ")
        let (da, db) = (a.dimension, b.dimension), width = da + db
        var values = [Float](repeating: 0, count: a.rows * width)
        values.withUnsafeMutableBufferPointer { out in
            a.values.withUnsafeBufferPointer { pa in
                b.values.withUnsafeBufferPointer { pb in
                    for row in 0..<a.rows {
                        for j in 0..<da { out[row * width + j] = pa[row * da + j] }
                        for j in 0..<db { out[row * width + da + j] = pb[row * db + j] * secondScale }
                    }
                }
            }
        }
        return EmbeddingMatrix(rows: a.rows, dimension: width, values: values)
    }
}
