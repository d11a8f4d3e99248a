import Testing
@testable import Score

/// Bad input is refused with a typed error naming the document; zero vectors are clustered; metric identities.
struct ClusteringInputTests {
    static func parameters() -> ClusteringParameters {
        var parameters = ClusteringParameters()
        parameters.maxFractionOfDocumentsToEmbed = nil
        parameters.maxDocumentsToEmbed = 40
        parameters.maxDocumentsPerCluster = 600
        parameters.bootstrapRuns = 2
        return parameters
    }

    static let labels = [(0..<40).map { "t\($0 % 4)" }]

    static func embeddings(_ plan: ClusteringPlan, value: (Int, Int) -> Float) -> [EmbeddingMatrix] {
        plan.subsets.map { subset in
            EmbeddingMatrix(rows: subset.pickedIndices.count, dimension: 4,
                            values: subset.pickedIndices.flatMap { doc in (0..<4).map { value(doc, $0) } })
        }
    }

    @Test func nanNamesTheDocument() throws {
        let plan = ClusteringEvaluator.plan(subsetSizes: [40], parameters: Self.parameters())
        var embeddings = Self.embeddings(plan) { doc, c in Float(doc % 4 == c ? 5 : 0) }
        embeddings[0].values[3 * 4 + 1] = .nan
        let document = plan.subsets[0].pickedIndices[3]
        #expect(throws: ClusteringEvaluationError.nonFiniteValue(subset: 0, row: 3, document: document)) {
            try ClusteringEvaluator.evaluate(plan: plan, labels: Self.labels, embeddings: embeddings, parameters: Self.parameters())
        }
    }

    @Test func mismatchedShapesAreRefused() throws {
        let plan = ClusteringEvaluator.plan(subsetSizes: [40], parameters: Self.parameters())
        let embeddings = Self.embeddings(plan) { _, _ in 1 }
        #expect(throws: ClusteringEvaluationError.subsetCountMismatch(plan: 1, labels: 2, embeddings: 1)) {
            try ClusteringEvaluator.evaluate(plan: plan, labels: Self.labels + Self.labels, embeddings: embeddings,
                                             parameters: Self.parameters())
        }
        let short = [EmbeddingMatrix(rows: 2, dimension: 4, values: [Float](repeating: 0, count: 8))]
        #expect(throws: ClusteringEvaluationError.rowCountMismatch(subset: 0, expected: 40, found: 2)) {
            try ClusteringEvaluator.evaluate(plan: plan, labels: Self.labels, embeddings: short, parameters: Self.parameters())
        }
    }

    @Test func separatedClustersScoreOneAndZeroVectorsScoreZero() throws {
        let plan = ClusteringEvaluator.plan(subsetSizes: [40], parameters: Self.parameters())
        let separated = Self.embeddings(plan) { doc, c in Float(doc % 4 == c ? 10 : 0) }
        let good = try ClusteringEvaluator.evaluate(plan: plan, labels: Self.labels, embeddings: separated, parameters: Self.parameters())
        #expect(abs(good.mainScore - 1) < 1e-12)
        #expect(abs((good.metrics["ami"] ?? 0) - 1) < 1e-12)
        // All-zero vectors: every row lands in the first centre, so the clustering carries no information.
        let zero = try ClusteringEvaluator.evaluate(plan: plan, labels: Self.labels,
                                                    embeddings: Self.embeddings(plan) { _, _ in 0 }, parameters: Self.parameters())
        #expect(zero.mainScore == 0)
    }

    @Test func planSamplesThenBootstrapsPerSubset() {
        var parameters = ClusteringParameters()
        parameters.maxDocumentsPerCluster = 50
        let plan = ClusteringEvaluator.plan(subsetSizes: [2284, 2284], parameters: parameters)
        #expect(plan.subsets.map(\.pickedIndices.count) == [91, 91])
        // The second subset's sample comes after the first subset's bootstrap draws on one stream.
        var stream = PythonRandom(seed: 42)
        #expect(stream.sample(rangeCount: 2284, k: 91) == plan.subsets[0].pickedIndices)
        for draw in plan.subsets[0].bootstrapDraws { #expect(stream.choices(rangeCount: 91, k: 50) == draw) }
        #expect(stream.sample(rangeCount: 2284, k: 91) == plan.subsets[1].pickedIndices)
        var whole = ClusteringParameters()
        whole.maxFractionOfDocumentsToEmbed = nil
        #expect(ClusteringEvaluator.plan(subsetSizes: [5], parameters: whole).subsets[0].pickedIndices == [0, 1, 2, 3, 4])
    }

    @Test func metricIdentities() {
        let truth = [0, 0, 1, 1, 2, 2, 2]
        #expect(abs(ClusteringMetrics.vMeasure(truth: truth, predicted: [5, 5, 3, 3, 9, 9, 9]) - 1) < 1e-12)
        #expect(abs(ClusteringMetrics.adjustedMutualInformation(truth: truth, predicted: [1, 1, 0, 0, 2, 2, 2]) - 1) < 1e-12)
        #expect(ClusteringMetrics.vMeasure(truth: truth, predicted: [0, 0, 0, 0, 0, 0, 0]) == 0)
        #expect(ClusteringMetrics.adjustedMutualInformation(truth: truth, predicted: [0, 0, 0, 0, 0, 0, 0]) == 0)
        #expect(ClusteringMetrics.adjustedMutualInformation(truth: [1, 1], predicted: [0, 0]) == 1)
    }
}

extension ClusteringInputTests {
    @Test func emptySubsetAndTinyRunsAreRefused() throws {
        var parameters = Self.parameters()
        let empty = ClusteringEvaluator.plan(subsetSizes: [0], parameters: parameters)
        #expect(throws: ClusteringEvaluationError.emptySubset(subset: 0)) {
            try ClusteringEvaluator.evaluate(plan: empty, labels: [[]],
                                             embeddings: [EmbeddingMatrix(rows: 0, dimension: 4, values: [])], parameters: parameters)
        }
        parameters.maxDocumentsPerCluster = 3
        let tiny = ClusteringEvaluator.plan(subsetSizes: [40], parameters: parameters)
        #expect(throws: ClusteringEvaluationError.tooFewDocumentsPerRun(subset: 0, clusters: 4, documentsPerRun: 3)) {
            try ClusteringEvaluator.evaluate(plan: tiny, labels: Self.labels,
                                             embeddings: Self.embeddings(tiny) { _, _ in 1 }, parameters: parameters)
        }
    }
}
