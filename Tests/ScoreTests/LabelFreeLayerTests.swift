import Foundation
import Testing
@testable import Score

/// Label-free layer (issue 13 item 3): the effective-rank criterion as docs/score.md defines it, and the layer it
/// picks from texts and vectors only.
@Suite struct LabelFreeLayerTests {
    /// `rank` orthogonal directions in `dimension` dimensions, each as +e_i and -e_i (mean zero), with the rows
    /// scaled by different norms (the criterion normalises rows first).
    static func spread(rank: Int, dimension: Int) -> EmbeddingMatrix {
        var values: [Float] = []
        for sign: Float in [1, -1] {
            for i in 0..<rank {
                var row = [Float](repeating: 0, count: dimension)
                row[i] = sign * Float(i + 1)
                values += row
            }
        }
        return EmbeddingMatrix(rows: 2 * rank, dimension: dimension, values: values)
    }

    /// Hidden-state entries with the given spreads (entry 0 first), all over the same 2 * 6 texts.
    static func source(ranks: [Int]) -> InMemoryTensorSource {
        let matrices = ranks.map { spread(rank: 6, dimension: 8).projected(toRank: $0) }
        let texts = (0..<12).map { "text \($0)" }
        let pooled = InMemoryTensorSource.Pooled(hiddenStates: matrices,
                                                 routerLogits: EmbeddingMatrix(rows: 12, dimension: 2, values: .init(repeating: 0, count: 24)))
        return InMemoryTensorSource(texts: texts, pooled: [.last: pooled, .mean: pooled], routerLayers: [1], experts: 2)
    }

    @Test func effectiveRankCountsEvenlyUsedDirections() {
        for rank in 1...5 {
            #expect(abs(LabelFreeLayer.effectiveRank(Self.spread(rank: rank, dimension: 8)) - Double(rank)) < 1e-9)
        }
        // Uneven use of two directions counts for less than two: eigenvalues 0.8 and 0.2 give 1 / (0.64 + 0.04).
        let uneven = EmbeddingMatrix(rows: 10, dimension: 2, values: (0..<10).flatMap { i -> [Float] in
            let sign: Float = i % 2 == 0 ? 1 : -1
            return i < 8 ? [sign, 0] : [0, sign]
        })
        #expect(abs(LabelFreeLayer.effectiveRank(uneven) - 1 / 0.68) < 1e-9)
        // Every text the same: nothing spreads.
        #expect(LabelFreeLayer.effectiveRank(EmbeddingMatrix(rows: 3, dimension: 2, values: [1, 2, 1, 2, 1, 2])) == 0)
    }

    @Test func thePickIsTheMostSpreadDecoderLayerNeverTheEmbeddingOutput() throws {
        // Entry 0 is the most spread but is never a candidate; entry 2 beats 1 and 3; the last entry is named -1.
        let picked = try LabelFreeLayer.choose(.effectiveRank, source: Self.source(ranks: [6, 2, 5, 3, 1]), pooling: .last,
                                               texts: (0..<12).map { "text \($0)" })
        #expect(picked.layer == 2)
        #expect(picked.criterion.map(\.layer) == [1, 2, 3, 4])
        let last = try LabelFreeLayer.choose(.effectiveRank, source: Self.source(ranks: [6, 2, 3, 5]), pooling: .last,
                                             texts: (0..<12).map { "text \($0)" })
        #expect(last.layer == -1)
        // A tie goes to the shallower layer.
        let tie = try LabelFreeLayer.choose(.effectiveRank, source: Self.source(ranks: [1, 4, 4, 2]), pooling: .last,
                                            texts: (0..<12).map { "text \($0)" })
        #expect(tie.layer == 1)
    }

    @Test func largeTasksAreSampledEvenlyAndTheSameWayEveryTime() {
        #expect(LabelFreeLayer.sampleRows(count: 10) == Array(0..<10))
        #expect(LabelFreeLayer.sampleRows(count: 2 * LabelFreeLayer.maxTexts) == Array(stride(from: 0, to: 2 * LabelFreeLayer.maxTexts, by: 2)))
        let odd = LabelFreeLayer.sampleRows(count: 1500)
        #expect(odd.count == LabelFreeLayer.maxTexts && Set(odd).count == odd.count && odd.last ?? 0 < 1500)
    }

    @Test func recipesNameTheRuleAndResolveItPerTask() throws {
        let recipe = try Recipe(name: "hs(layer=label-free)")
        #expect(recipe.layerRule == .effectiveRank && recipe.name == "hs(layer=label-free)")
        let decoded = try JSONDecoder().decode(Recipe.self, from: Data(#"{"kind": "moee-sum", "alpha": 0.5, "layer": "label-free"}"#.utf8))
        #expect(decoded.layerRule == .effectiveRank)
        #expect(try JSONDecoder().decode(Recipe.self, from: JSONEncoder().encode(decoded)) == decoded)

        let source = Self.source(ranks: [6, 2, 5, 3, 1])
        let texts = source.texts
        // The label-free point's vectors are those of the layer it picks, by the one-off path and by a sweep.
        let resolved = try recipe.resolvingLayer(source: source, texts: texts)
        #expect(resolved.layer == 2 && resolved.layerRule == nil)
        let expected = try Recipe(kind: .hs, layer: 2).embeddings(from: source, texts: texts).matrix
        #expect(try recipe.embeddings(from: source, texts: texts).matrix == expected)
        let sweep = RecipeSweep(source: source, texts: texts)
        #expect(try sweep.embeddings(recipe).matrix == expected)
        #expect(try sweep.layer(for: recipe) == 2)
        #expect(try sweep.layer(for: Recipe(kind: .hs, layer: 3)) == nil)
        // MoEE's HS part takes the picked layer too.
        let sum = Recipe(kind: .moeeSum, alpha: 0.5, layerRule: .effectiveRank)
        #expect(try sweep.embeddings(sum).matrix == (try Recipe(kind: .moeeSum, layer: 2, alpha: 0.5).embeddings(from: source, texts: texts).matrix))
        #expect(try sum.embeddings(from: source, texts: texts).matrix == (try sweep.embeddings(sum).matrix))
        // RW reads no hidden state: the rule does not apply.
        #expect(try sweep.layer(for: Recipe(kind: .rw, layerRule: .effectiveRank)) == nil)
    }
}

extension EmbeddingMatrix {
    /// The rows with every coordinate from `rank` on set to 0 (so the rows span `rank` directions), then every row
    /// that became 0 moved off the origin along the first direction: a matrix of known spread.
    func projected(toRank rank: Int) -> EmbeddingMatrix {
        var out = values
        for row in 0..<rows {
            for j in rank..<dimension { out[row * dimension + j] = 0 }
            if (0..<dimension).allSatisfy({ out[row * dimension + $0] == 0 }) { out[row * dimension] = row % 2 == 0 ? 1 : -1 }
        }
        return EmbeddingMatrix(rows: rows, dimension: dimension, values: out)
    }
}
