import Foundation
import Testing
@testable import Score

/// Timings at OLMoE's dimension (3072); run with `MOEE_BENCH=1 swift test -c release -Xswiftc -enable-testing
/// --filter EvaluatorBenchmark`. They print numbers and assert only that a score came out.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOEE_BENCH"] != nil))
struct EvaluatorBenchmark {
    @Test func classificationBanking77Shape() throws {
        let result = try ClassificationEvaluator.benchmark()
        print(String(format: "bench classification (Banking77 shape, dim 3072, 10 experiments): %.3f s, accuracy %.4f",
                     result.seconds, result.accuracy))
        #expect(result.accuracy.isFinite)
    }

    @Test func clusteringClusTRECShape() throws {
        let result = try ClusteringEvaluator.benchmark()
        print(String(format: "bench clustering (ClusTREC-Covid shape, dim 3072, 2 subsets x 10 runs): %.3f s, v_measure %.4f",
                     result.seconds, result.vMeasure))
        #expect(result.vMeasure.isFinite)
    }
}
