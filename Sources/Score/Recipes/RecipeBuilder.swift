import Foundation

extension Recipe {
    /// The recipe's vectors for `texts` (all texts of one task: standardisation statistics are taken over
    /// exactly these rows), as a lookup for `evaluate`.
    public func embeddings(from source: some TensorSource, texts: [String]) throws -> EmbeddingTable {
        try validate()
        if layerRule != nil { return try resolvingLayer(source: source, texts: texts).embeddings(from: source, texts: texts) }
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
            let parts = try MoEESumParts(recipe: self, source: source, texts: texts)
            matrix = parts.vectors(alpha: alphaRule.map { LabelFreeAlpha.choose($0, parts: parts) } ?? alpha)
        }
        return EmbeddingTable(texts: texts, matrix: matrix)
    }

    /// RW: the chosen MoE layers' router logits, each layer's experts normalised as `normalize` says (softmax
    /// probabilities by default), concatenated in the order of `layers` (default: every MoE layer).
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
        let scoring: RouterScoring? = switch normalize {
        case .softmax: .softmax
        case .router: try source.routerScoring()
        case .logits: nil
        }
        var values = [Float]()
        values.reserveCapacity(logits.rows * chosen.count * experts)
        for row in 0..<logits.rows {
            let full = logits.row(row)
            for position in chosen {
                let start = full.startIndex + position * experts
                let block = full[start..<(start + experts)]
                values.append(contentsOf: scoring.map { $0.scores(block) } ?? Array(block))
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
        let recipe = try recipe.resolvingLayer(source: source, texts: texts)
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
        // Column sums in row order (each column's float64 sum in the same order as a row-by-row scalar loop).
        let mean = UnsafeMutablePointer<Double>.allocate(capacity: d), squares = UnsafeMutablePointer<Double>.allocate(capacity: d)
        defer { mean.deallocate(); squares.deallocate() }
        mean.initialize(repeating: 0, count: d)
        squares.initialize(repeating: 0, count: d)
        let out = matrix.values.withUnsafeBufferPointer { buffer -> [Float] in
            guard let values = buffer.baseAddress else { return [] }
            for row in 0..<n {
                let x = values + row * d
                for j in 0..<d { mean[j] += Double(x[j]) }
            }
            for j in 0..<d { mean[j] /= Double(n) }
            for row in 0..<n {
                let x = values + row * d
                for j in 0..<d { let centred = Double(x[j]) - mean[j]; squares[j] += centred * centred }
            }
            // 1 / std, overwriting the squares.
            for j in 0..<d {
                let std = (squares[j] / Double(n)).squareRoot()
                squares[j] = std > 0 ? 1 / std : 1
            }
            return [Float](unsafeUninitializedCapacity: n * d) { result, count in
                guard let target = result.baseAddress else { count = 0; return }
                for row in 0..<n {
                    let (x, z) = (values + row * d, target + row * d)
                    for j in 0..<d { z[j] = Float((Double(x[j]) - mean[j]) * squares[j]) }
                }
                count = n * d
            }
        }
        return EmbeddingMatrix(rows: n, dimension: d, values: out)
    }

    /// Row-wise `[a ; secondScale * b]`.
    public static func concatenate(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix, secondScale: Float = 1) -> EmbeddingMatrix {
        precondition(a.rows == b.rows, "concatenate: row counts differ")
        let (da, db) = (a.dimension, b.dimension), width = da + db, n = a.rows
        let values = a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                [Float](unsafeUninitializedCapacity: n * width) { out, count in
                    count = 0
                    guard let target = out.baseAddress, n * width > 0 else { return }
                    for row in 0..<n {
                        let destination = target + row * width
                        if let source = pa.baseAddress { (destination).initialize(from: source + row * da, count: da) }
                        if let source = pb.baseAddress {
                            let scaled = destination + da, from = source + row * db
                            for j in 0..<db { scaled[j] = from[j] * secondScale }
                        }
                    }
                    count = n * width
                }
            }
        }
        return EmbeddingMatrix(rows: n, dimension: width, values: values)
    }
}
