import Foundation

/// Scores `task` with the vectors of `embeddings`, as mteb 2.26.24 would for the same vectors.
///
/// Every text of `task.requiredTexts` must have a finite vector; otherwise this throws (never a silent score).
public func evaluate(task: ScoreTask, embeddings: some EmbeddingLookup) throws -> TaskResult {
    let start = Date()
    return try evaluate(task: task, taskRows: try taskRows(of: task, in: embeddings), since: start)
}

/// The vectors of `task.requiredTexts`, in that order, checked (every text present and finite): what
/// `evaluate(task:taskRows:)` takes. Callers that hold a large file's table call this and drop the table
/// before scoring, so the table and the task's normalised rows are never in memory together.
public func taskRows(of task: ScoreTask, in embeddings: some EmbeddingLookup) throws -> EmbeddingMatrix {
    let texts = task.requiredTexts
    try embeddings.validate(texts, task: task.name)
    return embeddings.gather(texts)
}

/// Scores `task` with `taskRows`, one row per text of `task.requiredTexts` in that order (`taskRows(of:in:)`).
public func evaluate(task: ScoreTask, taskRows: EmbeddingMatrix, since start: Date = Date()) throws -> TaskResult {
    precondition(taskRows.rows == task.requiredTexts.count, "evaluate: \(taskRows.rows) rows for \(task.requiredTexts.count) texts")
    let cosines = task.type != .classification && task.type != .clustering
    let vectors = TaskVectors(texts: task.requiredTexts, matrix: taskRows, normalize: cosines)
    let subsets = try subsetScores(task: task, vectors: vectors)
    return TaskResult(taskName: task.name, datasetRevision: task.datasetRevision,
                      evaluationTime: Date().timeIntervalSince(start),
                      subsets: zip(task.hfSubsets, subsets).map {
                          TaskResult.Subset(hfSubset: $0, languages: task.languages, scores: $1)
                      })
}

/// One `Scores` per hf_subset, in `task.hfSubsets` order.
private func subsetScores(task: ScoreTask, vectors: TaskVectors) throws -> [Scores] {
    switch task.data {
    case let .sts(pairs):
        return [STSEvaluator.evaluate(vectors: vectors, first: vectors.rows(pairs.map(\.sentence1)),
                                      second: vectors.rows(pairs.map(\.sentence2)),
                                      gold: pairs.map(\.score), mainScore: task.mainScore)]
    case let .summarization(records):
        let articles = records.map {
            SummarizationEvaluator.Article(human: vectors.rows($0.humanSummaries),
                                           machine: vectors.rows($0.machineSummaries), relevance: $0.relevance)
        }
        return [SummarizationEvaluator.evaluate(vectors: vectors, articles: articles,
                                                legacyPValueBug: task.name == "SummEval", mainScore: task.mainScore)]
    case let .pairClassification(pairs):
        return [try PairClassificationEvaluator.evaluate(vectors: vectors, first: vectors.rows(pairs.map(\.sentence1)),
                                                         second: vectors.rows(pairs.map(\.sentence2)),
                                                         labels: pairs.map(\.label), mainScore: task.mainScore)]
    case let .reranking(records):
        let queries = RerankingEvaluator.queries(from: records)
        guard !queries.isEmpty else {
            throw ScoreError.emptyTask(task: task.name, detail: "no query has both a positive and a negative candidate")
        }
        return [try RerankingEvaluator.evaluate(vectors: vectors, queries: queries, queryRows: vectors.rows(queries.map(\.text)),
                                                candidateRows: queries.map { vectors.rows($0.candidates) },
                                                mainScore: task.mainScore)]
    case let .classification(train, test):
        guard let plan = task.classificationPlan else { return [] }
        let scores = try ClassificationEvaluator.evaluate(
            plan: plan, trainEmbeddings: vectors.matrix.selecting(rows: vectors.rows(plan.neededTrainIndices.map { train[$0].text })),
            trainLabels: train.map(\.label), test: vectors.matrix.selecting(rows: vectors.rows(test.map(\.text))),
            testLabels: test.map(\.label))
        return [scores]
    case let .clustering(sets):
        guard let plan = task.clusteringPlan else { return [] }
        // The plan is drawn once over all subsets (mteb's random stream continues across them); each subset
        // is then scored on its own part of the plan.
        return try zip(sets, plan.subsets).map { set, subset in
            try ClusteringEvaluator.evaluate(
                plan: ClusteringPlan(subsets: [subset]), labels: [set.labels],
                embeddings: [vectors.matrix.selecting(rows: vectors.rows(subset.pickedIndices.map { set.sentences[$0] }))],
                parameters: task.clusteringParameters)
        }
    }
}
