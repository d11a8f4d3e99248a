import Foundation

/// Scores `task` with the vectors of `embeddings`, as mteb 2.26.24 would for the same vectors.
///
/// Every text of `task.requiredTexts` must have a finite vector; otherwise this throws (never a silent score).
public func evaluate(task: ScoreTask, embeddings: some EmbeddingLookup) throws -> TaskResult {
    let start = Date()
    try embeddings.validate(task.requiredTexts, task: task.name)
    let subsets = try subsetScores(task: task, embeddings: embeddings)
    return TaskResult(taskName: task.name, datasetRevision: task.datasetRevision,
                      evaluationTime: Date().timeIntervalSince(start),
                      subsets: zip(task.hfSubsets, subsets).map {
                          TaskResult.Subset(hfSubset: $0, languages: task.languages, scores: $1)
                      })
}

/// One `Scores` per hf_subset, in `task.hfSubsets` order.
private func subsetScores(task: ScoreTask, embeddings: some EmbeddingLookup) throws -> [Scores] {
    switch task.data {
    case let .sts(pairs):
        return [STSEvaluator.evaluate(first: embeddings.gather(pairs.map(\.sentence1)),
                                      second: embeddings.gather(pairs.map(\.sentence2)),
                                      gold: pairs.map(\.score), mainScore: task.mainScore)]
    case let .summarization(records):
        let articles = records.map {
            SummarizationEvaluator.Article(human: embeddings.gather($0.humanSummaries),
                                           machine: embeddings.gather($0.machineSummaries), relevance: $0.relevance)
        }
        return [SummarizationEvaluator.evaluate(articles: articles, legacyPValueBug: task.name == "SummEval",
                                                mainScore: task.mainScore)]
    case let .pairClassification(pairs):
        return [try PairClassificationEvaluator.evaluate(first: embeddings.gather(pairs.map(\.sentence1)),
                                                         second: embeddings.gather(pairs.map(\.sentence2)),
                                                         labels: pairs.map(\.label), mainScore: task.mainScore)]
    case let .reranking(records):
        let queries = RerankingEvaluator.queries(from: records)
        guard !queries.isEmpty else {
            throw ScoreError.emptyTask(task: task.name, detail: "no query has both a positive and a negative candidate")
        }
        return [try RerankingEvaluator.evaluate(queries: queries, queryEmbeddings: embeddings.gather(queries.map(\.text)),
                                                candidateEmbeddings: queries.map { embeddings.gather($0.candidates) },
                                                mainScore: task.mainScore)]
    case let .classification(train, test):
        guard let plan = task.classificationPlan else { return [] }
        let scores = try ClassificationEvaluator.evaluate(
            plan: plan, trainEmbeddings: embeddings.gather(plan.neededTrainIndices.map { train[$0].text }),
            trainLabels: train.map(\.label), test: embeddings.gather(test.map(\.text)), testLabels: test.map(\.label))
        return [scores]
    case let .clustering(sets):
        guard let plan = task.clusteringPlan else { return [] }
        // The plan is drawn once over all subsets (mteb's random stream continues across them); each subset
        // is then scored on its own part of the plan.
        return try zip(sets, plan.subsets).map { set, subset in
            try ClusteringEvaluator.evaluate(plan: ClusteringPlan(subsets: [subset]), labels: [set.labels],
                                             embeddings: [embeddings.gather(subset.pickedIndices.map { set.sentences[$0] })],
                                             parameters: task.clusteringParameters)
        }
    }
}
