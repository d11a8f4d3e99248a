import Foundation
import Testing
@testable import Score

@Suite struct RecipeTests {
    static let texts = ["t0", "t1", "t2", "t3"]

    /// 3 hidden-state entries of dimension 3, 2 MoE layers (decoder layers 1 and 2) x 2 experts.
    static func source() -> InMemoryTensorSource {
        func matrix(_ d: Int, _ f: (Int, Int) -> Float) -> EmbeddingMatrix {
            EmbeddingMatrix(rows: 4, dimension: d, values: (0..<4).flatMap { r in (0..<d).map { f(r, $0) } })
        }
        let hidden = (0..<3).map { layer in matrix(3) { r, j in Float(layer * 100 + r * 3 + j) + (j == 2 ? Float(r * r) : 0) } }
        let logits = matrix(4) { r, j in Float((r + 1) * (j + 1)) / 3 - Float(j % 2) }
        let pooled = InMemoryTensorSource.Pooled(hiddenStates: hidden, routerLogits: logits)
        return InMemoryTensorSource(texts: texts, pooled: [.last: pooled], routerLayers: [1, 2], experts: 2)
    }

    @Test func hsTakesTheChosenLayer() throws {
        let last = try Recipe.hs.embeddings(from: Self.source(), texts: Self.texts)
        #expect(Array(last.matrix.row(0)) == [200, 201, 202])
        let first = try Recipe(kind: .hs, layer: 0).embeddings(from: Self.source(), texts: Self.texts)
        #expect(Array(first.matrix.row(1)) == [3, 4, 6])
        let message = TaskLoadingTests.error { _ = try Recipe(kind: .hs, layer: 7).embeddings(from: Self.source(), texts: Self.texts) }
        #expect(message.contains("layer 7 does not exist"))
        let mean = TaskLoadingTests.error { _ = try Recipe(kind: .hs, pooling: .mean).embeddings(from: Self.source(), texts: Self.texts) }
        #expect(mean.contains("no mean-pooled tensors"))
    }

    @Test func rwIsASoftmaxPerLayerInTheChosenOrder() throws {
        let source = Self.source()
        let rw = try Recipe.rw.embeddings(from: source, texts: Self.texts).matrix
        #expect(rw.dimension == 4)
        for row in 0..<4 {
            let values = Array(rw.row(row))
            #expect(abs(values[0] + values[1] - 1) < 1e-6 && abs(values[2] + values[3] - 1) < 1e-6)
        }
        let logits = try source.routerLogits(pooling: .last, texts: Self.texts).matrix
        let raw = try Recipe(kind: .rw, layers: [2, 1], normalize: .logits).embeddings(from: source, texts: Self.texts).matrix
        let expected = Array(logits.row(2))
        #expect(Array(raw.row(2)) == Array(expected[2...3]) + Array(expected[0...1]))
        let message = TaskLoadingTests.error { _ = try Recipe(kind: .rw, layers: [0]).embeddings(from: source, texts: Self.texts) }
        #expect(message.contains("layer 0 has no router"))
    }

    /// `normalize=router` applies the model's own scoring to the raw logits: the softmax over all experts (the same
    /// as the default), each sigmoid (DeepSeek-V3), or the softmax over the top-k with the others 0 (gpt-oss).
    @Test func routerNormalizationIsTheRoutersOwnScoring() throws {
        let base = Self.source()
        let logits = try base.routerLogits(pooling: .last, texts: Self.texts).matrix
        func rw(_ scoring: RouterScoring) throws -> EmbeddingMatrix {
            let source = InMemoryTensorSource(texts: Self.texts, pooled: base.pooled, routerLayers: [1, 2], experts: 2, scoring: scoring)
            return try Recipe(kind: .rw, normalize: .router).embeddings(from: source, texts: Self.texts).matrix
        }
        #expect(try rw(.softmax).values == Recipe.rw.embeddings(from: base, texts: Self.texts).matrix.values)
        let sigmoid = try rw(.sigmoid)
        for (value, logit) in zip(sigmoid.values, logits.values) {
            #expect(abs(Double(value) - 1 / (1 + exp(-Double(logit)))) < 1e-7)
        }
        // Top-1 of each layer's two experts: 1 for the larger logit (the lower expert on a tie), 0 for the other.
        let top1 = try rw(.softmaxOverTopK(1))
        for row in 0..<4 {
            let l = Array(logits.row(row)), v = Array(top1.row(row))
            for layer in 0..<2 {
                let first = l[2 * layer] >= l[2 * layer + 1]
                #expect(v[2 * layer] == (first ? 1 : 0) && v[2 * layer + 1] == (first ? 0 : 1))
            }
        }
        // Top-2 of two experts is the ordinary softmax over both.
        let top2 = try rw(.softmaxOverTopK(2)).values, softmax = try rw(.softmax).values
        #expect(zip(top2, softmax).allSatisfy { abs($0 - $1) < 1e-7 })
    }

    /// The recipe's name and JSON spell the normalisation; the older `"softmax": true|false` still reads.
    @Test func normalizationNamesAndTheOlderSoftmaxKey() throws {
        let router = Recipe(kind: .moeeSum, normalize: .router, alpha: 0.5)
        #expect(router.name == "moee-sum(normalize=router,alpha=0.5)")
        #expect(try Recipe(name: router.name) == router)
        #expect(try Recipe(name: "rw(logits)").normalize == .logits && (try Recipe(name: "rw(softmax)")).normalize == .softmax)
        let json = try JSONEncoder().encode(router)
        #expect(String(decoding: json, as: UTF8.self).contains("\"normalize\":\"router\""))
        #expect(try JSONDecoder().decode(Recipe.self, from: json) == router)
        let older = try JSONDecoder().decode(Recipe.self, from: Data(#"{"kind": "rw", "softmax": false}"#.utf8))
        #expect(older.normalize == .logits && older.name == "rw(logits)")
    }

    @Test func standardisationUsesPopulationStdAndZeroesConstantColumns() {
        let m = EmbeddingMatrix(rows: 4, dimension: 2, values: [1, 5, 2, 5, 3, 5, 4, 5])
        let z = Standardization.zScores(m)
        let column = (0..<4).map { Double(z.values[$0 * 2]) }
        let mean = column.reduce(0, +) / 4
        let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
        #expect(abs(mean) < 1e-6 && abs(variance - 1) < 1e-6)
        #expect((0..<4).allSatisfy { z.values[$0 * 2 + 1] == 0 })
    }

    /// The fused vector's cosine is (cos(HS) + alpha cos(RW)) / (1 + alpha) of the standardised parts.
    @Test(arguments: [0.0, 0.5, 2.0])
    func moeeSumCosineIsTheWeightedSum(_ alpha: Double) throws {
        let source = Self.source()
        let fused = try Recipe.moeeSum(alpha: alpha).embeddings(from: source, texts: Self.texts).matrix
        let parts = try MoEESumParts(recipe: .moeeSum(alpha: alpha), source: source, texts: Self.texts)
        func cosine(_ m: EmbeddingMatrix, _ i: Int, _ j: Int) -> Double {
            let a = m.row(i).map(Double.init), b = m.row(j).map(Double.init)
            let dot = zip(a, b).map(*).reduce(0, +)
            let norms = (a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()
            return norms > 0 ? dot / norms : 0
        }
        for (i, j) in [(0, 1), (1, 3), (0, 2)] {
            let expected = (cosine(parts.hiddenState, i, j) + alpha * cosine(parts.routing, i, j)) / (1 + alpha)
            #expect(abs(cosine(fused, i, j) - expected) < 1e-5)
        }
        let concat = try Recipe.moeeConcat.embeddings(from: source, texts: Self.texts).matrix
        #expect(concat.dimension == 7)
    }

    /// A sweep shares MoEE-sum's parts across alphas and still gives exactly each recipe's own vectors.
    @Test func recipeSweepMatchesEachRecipe() throws {
        let source = Self.source()
        let sweep = RecipeSweep(source: source, texts: Self.texts)
        let recipes: [Recipe] = [.moeeSum(alpha: 0), .moeeSum(alpha: 0.5), .hs, .moeeSum(alpha: 2),
                                 Recipe(kind: .moeeSum, pooling: .last, normalize: .logits, alpha: 1), .moeeConcat]
        for recipe in recipes {
            let shared = try sweep.embeddings(recipe), own = try recipe.embeddings(from: source, texts: Self.texts)
            #expect(shared.matrix.values.map(\.bitPattern) == own.matrix.values.map(\.bitPattern), "\(recipe.name)")
            #expect(Self.texts.map { shared.row(of: $0) } == Self.texts.map { own.row(of: $0) })
        }
    }

    @Test func namesAreStableAndRoundTrip() throws {
        let recipes: [Recipe] = [.hs, Recipe(kind: .hs, layer: 12, pooling: .mean), .rw,
                                 Recipe(kind: .rw, layers: [1, 3, 5], normalize: .logits), .moeeConcat, .moeeSum(alpha: 0.5)]
        #expect(recipes.map(\.name) == ["hs", "hs(layer=12,pooling=mean)", "rw", "rw(layers=1-3-5,logits)",
                                        "moee-concat", "moee-sum(alpha=0.5)"])
        for recipe in recipes {
            #expect(try Recipe(name: recipe.name) == recipe)
            let decoded = try JSONDecoder().decode(Recipe.self, from: JSONEncoder().encode(recipe))
            #expect(decoded == recipe)
        }
        #expect(TaskLoadingTests.error { _ = try Recipe(name: "moee-sum(alpha=-1)") }.contains("alpha"))
        #expect(TaskLoadingTests.error { _ = try Recipe(name: "pca") }.contains("unknown recipe 'pca'"))
    }
}
