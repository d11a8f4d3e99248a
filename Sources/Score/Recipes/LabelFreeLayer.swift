import CKernels
import Foundation

/// The hidden-state layer chosen without labels, per task, from the task's own texts (docs/score.md, "Label-free
/// layer").
///
/// The criterion is the effective rank of the layer's pooled vectors over the task's texts: how many directions the
/// texts spread over. It is the RankMe idea (Garrido et al., ICML 2023: representations of higher effective rank
/// do better downstream, measured without labels) computed as Layer by Layer's dataset entropy (Skean et al.,
/// ICML 2025, arXiv 2502.02013: the matrix-based entropy of the texts' Gram matrix) at Rényi order 2, where it has
/// the closed form `exp(H_2) = tr(K)^2 / ||K||_F^2` (the participation ratio of the Gram spectrum). Order 2 needs no
/// eigen-decomposition, so the value is a fixed-order sum and the same on every host; Layer by Layer reports
/// order 1, which needs the spectrum.
///
/// What enters: at most `maxTexts` of the task's texts (evenly spaced over the task's text list, so the choice is
/// the same on every run), each row divided by its norm (the evaluators compare cosines), then the mean row
/// subtracted (a direction every text shares carries nothing that tells texts apart). No label, gold score or
/// split enters.
///
/// Candidates are the decoder layers' outputs (entries 1 through the final norm output); the embedding output
/// (entry 0) is left out: it is the token embeddings before any context mixing, and a single token's embedding
/// under last-token pooling. The shallowest layer wins a tie.
public enum LabelFreeLayer {
    public enum Rule: String, Codable, Sendable, CaseIterable {
        /// The layer of the highest effective rank (order-2 dataset entropy), see above.
        case effectiveRank = "label-free"
    }

    public static let maxTexts = 512

    /// The rows the criterion looks at: every row when there are at most `maxTexts`, else `maxTexts` evenly spaced.
    public static func sampleRows(count: Int) -> [Int] {
        guard count > maxTexts else { return Array(0..<count) }
        return (0..<maxTexts).map { $0 * count / maxTexts }
    }

    /// `tr(K)^2 / ||K||_F^2` of the Gram matrix K of the normalised, centred rows: between 1 (all texts on one line)
    /// and min(rows, dimension) (spread evenly over that many directions); 0 when every row is the same.
    public static func effectiveRank(_ matrix: EmbeddingMatrix) -> Double {
        let (n, d) = (matrix.rows, matrix.dimension)
        guard n >= 2, d >= 1 else { return 0 }
        var centred = [Double](repeating: 0, count: n * d)
        var mean = [Double](repeating: 0, count: d)
        for row in 0..<n {
            let x = matrix.row(row)
            var squares = 0.0
            for value in x { squares += Double(value) * Double(value) }
            let scale = squares > 0 ? 1 / squares.squareRoot() : 0
            for (j, value) in x.enumerated() {
                centred[row * d + j] = Double(value) * scale
                mean[j] += Double(value) * scale
            }
        }
        for j in 0..<d { mean[j] /= Double(n) }
        for row in 0..<n { for j in 0..<d { centred[row * d + j] -= mean[j] } }
        var gram = [Double](repeating: 0, count: n * n)
        centred.withUnsafeBufferPointer { rows in
            gram.withUnsafeMutableBufferPointer { out in
                guard let a = rows.baseAddress, let c = out.baseAddress else { return }
                ck_dot_rows_f64(a, d, n, a, d, n, d, c, n)
            }
        }
        var trace = 0.0, frobenius = 0.0
        for i in 0..<n {
            trace += gram[i * n + i]
            for j in 0..<n { frobenius += gram[i * n + j] * gram[i * n + j] }
        }
        return frobenius > 0 ? trace * trace / frobenius : 0
    }

    /// The candidate entries of a source with `entries` hidden-state entries (see the type's comment).
    public static func candidates(entries: Int) -> [Int] {
        entries > 1 ? Array(1..<entries) : Array(0..<max(entries, 0))
    }

    /// The entry `rule` picks for these texts (-1 for the final norm output), with the criterion of every
    /// candidate (entry, value).
    public static func choose(_ rule: Rule, source: some TensorSource, pooling: Pooling,
                              texts: [String]) throws -> (layer: Int, criterion: [(layer: Int, value: Double)]) {
        // The sample is read as its own list of texts: a memoising source keeps the task's full reads apart.
        let sample = sampleRows(count: texts.count).map { texts[$0] }
        let entries = try source.hiddenStateEntries()
        var criterion: [(layer: Int, value: Double)] = []
        for layer in candidates(entries: entries) {
            switch rule {
            case .effectiveRank:
                criterion.append((layer, effectiveRank(try source.hiddenStates(layer: layer, pooling: pooling, texts: sample))))
            }
        }
        guard let first = criterion.first else {
            throw ScoreError.invalidRecipe("layer=\(rule.rawValue): the source has no hidden-state entries")
        }
        let best = criterion.dropFirst().reduce(first) { $1.value > $0.value + 1e-12 ? $1 : $0 }
        // The final norm output is named -1, as recipes name it by default.
        return (best.layer == entries - 1 && entries > 1 ? -1 : best.layer, criterion)
    }
}

extension Recipe {
    /// This recipe with its label-free layer resolved to the entry chosen for `texts` (itself when it names a layer).
    public func resolvingLayer(source: some TensorSource, texts: [String]) throws -> Recipe {
        guard let layerRule else { return self }
        var resolved = self
        guard kind != .rw else { resolved.layerRule = nil; return resolved }  // RW reads no hidden state
        resolved.layer = try LabelFreeLayer.choose(layerRule, source: source, pooling: pooling, texts: texts).layer
        resolved.layerRule = nil
        return resolved
    }
}
