import Foundation
import Testing
import TestSupport
@testable import Score

/// ClusteringEvaluator against mteb 2.26.24 run on the same fixed embeddings
/// (scripts/reference/make_ml_parity.py -> Fixtures/ml-parity.json) on the real clustering sets.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct ClusteringParityTests {
    static let tasks = ["SIB200ClusteringS2S", "ClusTREC-Covid"]

    /// V-measure per bootstrap run and its mean (main score).
    /// Tolerance 1e-4: MiniBatchKMeans is replayed call for call (RandomState order, float32 updates), but BLAS
    /// sums may round differently from numpy's OpenBLAS build and flip a near-tie assignment.
    @Test(arguments: tasks) func scoresMatchMteb(task: String) throws {
        let fixture = try MLFixture.decode([String: MLFixture.Value].self, from: "ml-parity.json")
        let reference = try #require(fixture["clustering"]?[task])
        let subsets = try SharedTaskFile.clustering(task)
        let scale = try #require(reference["scale"]?.double)
        let records = subsets.flatMap { zip($0.sentences, $0.labels).map { (text: $0, label: $1) } }
        let embeddings = SyntheticEmbeddings(records: records, scale: scale, dimension: 32)
        let parameters = ClusteringParameters.mteb(task: task)
        let plan = ClusteringEvaluator.plan(subsetSizes: subsets.map(\.sentences.count), parameters: parameters)

        // The documents mteb sampled (first 20 of each subset, from the same random.Random(42) stream).
        guard case .list(let prefixes)? = reference["picked_prefix"] else { Issue.record("no picked_prefix"); return }
        for (s, prefix) in prefixes.enumerated() {
            #expect(Array(plan.subsets[s].pickedIndices.prefix(20)) == prefix.ints)
        }

        let matrices = zip(plan.subsets, subsets).map { planned, subset in
            embeddings.matrix(planned.pickedIndices.map { subset.sentences[$0] })
        }
        let start = Date()
        let results = try ClusteringEvaluator.evaluateSubsets(plan: plan, labels: subsets.map(\.labels),
                                                              embeddings: matrices, parameters: parameters)
        let seconds = Date().timeIntervalSince(start)
        let scores = ClusteringEvaluator.scores(results)
        let expectedMain = try #require(reference["main_score"]?.double)
        guard case .object(let expectedSubsets)? = reference["subsets"] else { Issue.record("no subsets"); return }
        let names = task == "ClusTREC-Covid" ? ["title and abstract", "title"] : ["eng_Latn"]
        var runDeltas: [Double] = []
        for (s, name) in names.enumerated() {
            let expectedRuns = try #require(expectedSubsets[name]?["v_measures"]?.doubles)
            runDeltas += zip(results[s].vMeasures, expectedRuns).map { abs($0 - $1) }
            let expectedAmi = try #require(expectedSubsets[name]?["ami"]?.double)
            #expect(abs(results[s].ami - expectedAmi) <= 1e-9, "ami of \(name)")
            let expectedStd = try #require(expectedSubsets[name]?["v_measure_std"]?.double)
            #expect(abs(results[s].vMeasureStd - expectedStd) <= 1e-9, "v_measure_std of \(name)")
        }
        print(String(format: "clustering parity %@: v_measure %.6f mteb %.6f |delta| %.2e, max per-run %.2e (%.3f s)",
                     task, scores.mainScore, expectedMain, abs(scores.mainScore - expectedMain), runDeltas.max() ?? .nan, seconds))
        #expect(abs(scores.mainScore - expectedMain) <= 1e-4)
    }
}
