// A timing of the clustering evaluator on synthetic vectors shaped like ClusTREC-Covid at OLMoE's dimension.
import Foundation

extension ClusteringEvaluator {
    /// Times `evaluate` on a ClusTREC-Covid-sized task (2 subsets of 2284 documents in 50 topics, 4% embedded,
    /// 10 bootstrap k-means runs of 16384 rows each) with topic-structured random vectors of `dimension`.
    /// Returns the seconds of the evaluation alone, its V-measure and the per-subset runs.
    public static func benchmark(dimension: Int = 3072, documents: Int = 2284, topics: Int = 50,
                                 subsets: Int = 2, parameters: ClusteringParameters = ClusteringParameters())
        throws -> (seconds: Double, vMeasure: Double, subsets: [ClusteringSubsetResult]) {
        var random = NumPyRandomState(seed: 11)
        let centroids = (0..<topics).map { _ in random.randomSample(count: dimension).map { Float($0 * 2 - 1) } }
        let labels = (0..<subsets).map { _ in (0..<documents).map { _ in "topic\(random.randomInterval(UInt64(topics - 1)))" } }
        let plan = plan(subsetSizes: labels.map(\.count), parameters: parameters)
        let embeddings = zip(plan.subsets, labels).map { subset, subsetLabels in
            var values = [Float]()
            values.reserveCapacity(subset.pickedIndices.count * dimension)
            for index in subset.pickedIndices {
                let topic = Int(subsetLabels[index].dropFirst(5)) ?? 0
                let noise = random.randomSample(count: dimension)
                for j in 0..<dimension { values.append(centroids[topic][j] + Float(noise[j] * 5 - 2.5)) }
            }
            return EmbeddingMatrix(rows: subset.pickedIndices.count, dimension: dimension, values: values)
        }
        let start = Date()
        let results = try evaluateSubsets(plan: plan, labels: labels, embeddings: embeddings, parameters: parameters)
        return (Date().timeIntervalSince(start), scores(results).mainScore, results)
    }
}
