import Foundation
import Testing
@testable import Score

/// Label-free alpha (issue 13): the rules as docs/score.md defines them, computed from texts and vectors only.
@Suite struct LabelFreeAlphaTests {
    /// A source of `n` texts with seeded hidden states (4 wide) and router logits (2 layers x 3 experts).
    static func source(_ n: Int, seed: UInt64 = 3) -> InMemoryTensorSource {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 1000) / 500
        }
        let texts = (0..<n).map { "text \($0)" }
        let hidden = EmbeddingMatrix(rows: n, dimension: 4, values: (0..<n * 4).map { _ in next() })
        let logits = EmbeddingMatrix(rows: n, dimension: 6, values: (0..<n * 6).map { _ in next() })
        let pooled = InMemoryTensorSource.Pooled(hiddenStates: [hidden], routerLogits: logits)
        return InMemoryTensorSource(texts: texts, pooled: [.last: pooled], routerLayers: [0, 1], experts: 3)
    }

    /// Spearman's rho written out (average ranks for ties, then Pearson), independent of `Correlation`.
    static func rho(_ x: [Double], _ y: [Double]) -> Double {
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var result = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                for k in i...j { result[order[k]] = Double(i + j) / 2 + 1 }
                i = j + 1
            }
            return result
        }
        let (a, b) = (ranks(x), ranks(y))
        let (ma, mb) = (a.reduce(0, +) / Double(a.count), b.reduce(0, +) / Double(b.count))
        let cov = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) }
        let va = a.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }, vb = b.reduce(0) { $0 + ($1 - mb) * ($1 - mb) }
        return cov / (va * vb).squareRoot()
    }

    @Test func theSpearmanRuleMaximisesTheSumOfBothCorrelationsOverItsGrid() throws {
        let source = Self.source(60)
        let parts = try MoEESumParts(recipe: Recipe(kind: .moeeSum), source: source, texts: source.texts)
        let (hs, rw) = LabelFreeAlpha.similarities(parts)
        #expect(hs.count == 60 * 59 / 2)  // every pair below maxPairs
        func objective(_ alpha: Double) -> Double {
            let sum = zip(hs, rw).map { $0 + alpha * $1 }
            return Self.rho(sum, hs) + Self.rho(sum, rw)
        }
        let chosen = LabelFreeAlpha.choose(.spearman, parts: parts)
        #expect(LabelFreeAlpha.grid.contains(chosen))
        let best = LabelFreeAlpha.grid.map(objective).max() ?? .nan
        #expect(abs(objective(chosen) - best) < 1e-9)
        #expect(chosen > 0)  // with two informative parts neither extreme wins
    }

    @Test func theVarianceRuleEqualisesTheSpreads() throws {
        let source = Self.source(40)
        let parts = try MoEESumParts(recipe: Recipe(kind: .moeeSum), source: source, texts: source.texts)
        let (hs, rw) = LabelFreeAlpha.similarities(parts)
        let alpha = LabelFreeAlpha.choose(.variance, parts: parts)
        func std(_ x: [Double]) -> Double {
            let m = x.reduce(0, +) / Double(x.count)
            return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count)).squareRoot()
        }
        #expect(abs(std(rw.map { alpha * $0 }) - std(hs)) < 1e-9 * std(hs))
    }

    @Test func largeTasksUseAFixedSeededSampleOfPairs() {
        let pairs = LabelFreeAlpha.pairs(count: 500)
        #expect(pairs.count == LabelFreeAlpha.maxPairs)
        #expect(pairs.allSatisfy { $0.0 < $0.1 && $0.1 < 500 })
        let again = LabelFreeAlpha.pairs(count: 500)
        #expect(zip(pairs, again).allSatisfy { $0 == $1 })
    }

    /// No label enters: an STS task with its gold scores shuffled and a clustering task with its labels shuffled
    /// embed the same texts and get the same alpha, while their main scores differ.
    @Test func shufflingLabelsLeavesTheAlphaUnchanged() throws {
        let source = Self.source(40)
        let texts = source.texts
        let pairs = (0..<20).map { STSPair(sentence1: texts[$0], sentence2: texts[39 - $0], score: Double($0 % 5)) }
        var shuffled = pairs
        let scores = pairs.map(\.score).reversed()
        for (i, score) in scores.enumerated() { shuffled[i].score = score }
        let sts = ScoreTask(name: "Tiny", type: .sts, data: .sts(pairs))
        let stsShuffled = ScoreTask(name: "Tiny", type: .sts, data: .sts(shuffled))
        let labels = texts.map { "c\($0.count % 3)" }
        let clusters = ScoreTask(name: "TinyClustering", type: .clustering,
                                 data: .clustering([ClusteringSet(sentences: texts, labels: labels)]))
        let clustersShuffled = ScoreTask(name: "TinyClustering", type: .clustering,
                                         data: .clustering([ClusteringSet(sentences: texts, labels: labels.reversed())]))
        for rule in LabelFreeAlpha.Rule.allCases {
            let recipe = Recipe(kind: .moeeSum, alphaRule: rule)
            for (task, other) in [(sts, stsShuffled), (clusters, clustersShuffled)] {
                #expect(task.requiredTexts == other.requiredTexts)
                let a = try RecipeSweep(source: source, texts: task.requiredTexts).alpha(for: recipe)
                let b = try RecipeSweep(source: source, texts: other.requiredTexts).alpha(for: recipe)
                #expect(a == b, "\(task.name) \(rule)")
            }
            // The scores do see the labels (so the shuffle was real).
            let sweep = RecipeSweep(source: source, texts: sts.requiredTexts)
            let one = try evaluate(task: sts, embeddings: try sweep.embeddings(recipe)).mainScore
            let two = try evaluate(task: stsShuffled, embeddings: try sweep.embeddings(recipe)).mainScore
            #expect(one != two)
        }
    }

    @Test func recipeNamesAndJSONCarryTheRule() throws {
        let recipe = try Recipe(name: "moee-sum(alpha=label-free)")
        #expect(recipe.alphaRule == .spearman && recipe.name == "moee-sum(alpha=label-free)")
        let data = try JSONEncoder().encode(Recipe(kind: .moeeSum, alphaRule: .variance))
        #expect(String(decoding: data, as: UTF8.self).contains("\"alpha\":\"label-free-variance\""))
        #expect(try JSONDecoder().decode(Recipe.self, from: data).alphaRule == .variance)
        // A label-free recipe and its sweep form build the same vectors.
        let source = Self.source(30)
        let direct = try Recipe(kind: .moeeSum, alphaRule: .spearman).embeddings(from: source, texts: source.texts)
        let swept = try RecipeSweep(source: source, texts: source.texts).embeddings(Recipe(kind: .moeeSum, alphaRule: .spearman))
        #expect(direct.matrix == swept.matrix)
    }
}
