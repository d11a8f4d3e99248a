import Foundation
import Testing
import TestSupport
@testable import Score

/// The parallel alpha sweep must give the same bits as the sequential one: each (task, alpha) point runs the
/// same code on its own, whichever worker takes it.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct ScoreBenchmarkTests {
    @Test func parallelSweepIsBitIdenticalToSequential() throws {
        let root = SharedData.url("data/mteb")
        let tasks = try ScoreBenchmark.taskFolders(in: root, only: ["BIOSSES", "EmotionClassification", "SIB200ClusteringS2S"])
            .map { try ScoreTask.load(from: $0) }
        #expect(tasks.count == 3)
        let alphas = [0, 0.5, 2]
        func sweep(workers: Int) throws -> ScoreBenchmark.SweepTiming {
            try ScoreBenchmark.alphaSweep(tasks, alphas: alphas, hsDimension: 48, layers: 2, experts: 8, workers: workers)
        }
        let sequential = try sweep(workers: 1), parallel = try sweep(workers: 2)
        #expect(sequential.mainScores.count == 3)
        for (task, scores) in sequential.mainScores {
            #expect(scores.count == alphas.count)
            #expect(scores.allSatisfy { $0.isFinite }, "\(task): \(scores)")
            #expect(parallel.mainScores[task]?.map(\.bitPattern) == scores.map(\.bitPattern), "\(task)")
        }
        #expect(parallel.fingerprint == sequential.fingerprint)
        // A point scored on its own gives the same bits as inside the sweep.
        let task = tasks[0], texts = task.requiredTexts
        let hs = HashedEmbeddings.random(texts, dimension: 48).matrix
        let logits = HashedEmbeddings.random(texts.map { "router:" + $0 }, dimension: 16).matrix
        let source = InMemoryTensorSource(texts: texts, pooled: [.last: .init(hiddenStates: [hs], routerLogits: logits)],
                                          routerLayers: [0, 1], experts: 8)
        let parts = try MoEESumParts(recipe: .moeeSum(alpha: 1), source: source, texts: texts)
        let alone = try evaluate(task: task, embeddings: EmbeddingTable(texts: texts, matrix: parts.vectors(alpha: 0.5)))
        #expect(alone.mainScore.bitPattern == parallel.mainScores[task.name]?[1].bitPattern)
    }
}
