import Foundation
import Testing
@testable import Score

/// Timings at OLMoE's dimension (3072), beside mteb's on the same vectors when
/// scripts/reference/bench_ml_mteb.py has written Fixtures/ml-bench-mteb.json. Run with
/// `MOEE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter EvaluatorBenchmark`.
/// Timings are printed, never asserted; the scores are compared with mteb's.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOEE_BENCH"] != nil))
struct EvaluatorBenchmark {
    static func reference() -> [String: MLFixture.Value]? {
        try? MLFixture.decode([String: MLFixture.Value].self, from: "ml-bench-mteb.json")
    }

    @Test func classificationBanking77Shape() throws {
        let result = try ClassificationEvaluator.benchmark()
        let mteb = Self.reference()?["classification"]
        let mtebSeconds = mteb?["seconds"]?.double ?? .nan
        print(String(format: "bench classification (Banking77 shape, dim 3072, 10 experiments): %.3f s, accuracy %.6f; mteb %.3f s (x%.1f), accuracy %.6f",
                     result.seconds, result.accuracy, mtebSeconds, mtebSeconds / result.seconds, mteb?["accuracy"]?.double ?? .nan))
        #expect(result.accuracy.isFinite)
        if let expected = mteb?["accuracy_per_experiment"]?.doubles {
            let deltas = zip(result.perExperiment, expected).map { abs($0 - $1) }
            print(String(format: "  max |delta accuracy| per experiment vs mteb: %.2e", deltas.max() ?? .nan))
            #expect(abs(result.accuracy - RunStatistics.mean(expected)) <= 1e-4)
        }
    }

    @Test func clusteringClusTRECShape() throws {
        let result = try ClusteringEvaluator.benchmark()
        let mteb = Self.reference()?["clustering"]
        let mtebSeconds = mteb?["seconds"]?.double ?? .nan
        print(String(format: "bench clustering (ClusTREC-Covid shape, dim 3072, 2 subsets x 10 runs): %.3f s, v_measure %.6f; mteb %.3f s (x%.1f), v_measure %.6f",
                     result.seconds, result.vMeasure, mtebSeconds, mtebSeconds / result.seconds, mteb?["v_measure"]?.double ?? .nan))
        #expect(result.vMeasure.isFinite)
        if case .list(let subsets)? = mteb?["v_measures"] {
            let deltas = zip(result.subsets, subsets).flatMap { ours, theirs in
                zip(ours.vMeasures, theirs.doubles ?? []).map { abs($0 - $1) }
            }
            print(String(format: "  max |delta v_measure| per run vs mteb: %.2e", deltas.max() ?? .nan))
            #expect(abs(result.vMeasure - (mteb?["v_measure"]?.double ?? .nan)) <= 1e-4)
        }
    }
}
