/// What mteb embeds for each task (and nothing more), computed before anything is embedded.
extension ScoreTask {
    /// The classification experiments (mteb's undersampling of the train split).
    public var classificationPlan: ClassificationPlan? {
        guard case let .classification(train, _) = data else { return nil }
        return ClassificationEvaluator.plan(trainLabels: train.map(\.label), samplesPerLabel: samplesPerLabel)
    }

    /// The clustering sampling plan (documents to embed, bootstrap draws), in evaluation order of the subsets.
    public var clusteringPlan: ClusteringPlan? {
        guard case let .clustering(sets) = data else { return nil }
        return ClusteringEvaluator.plan(subsetSizes: sets.map(\.sentences.count), parameters: clusteringParameters)
    }

    /// Every text mteb would encode for this task, each once, in first-use order:
    /// STS and PairClassification both columns; Summarization the human and machine summaries (never the
    /// article); Reranking the queries as they are and the stripped candidates; Classification the undersampled
    /// train rows of all experiments plus every test text; Clustering the sampled documents.
    public var requiredTexts: [String] {
        var seen = Set<String>(), texts: [String] = []
        func add(_ text: String) { if seen.insert(text).inserted { texts.append(text) } }
        switch data {
        case let .sts(pairs):
            pairs.forEach { add($0.sentence1) }; pairs.forEach { add($0.sentence2) }
        case let .summarization(records):
            records.forEach { $0.humanSummaries.forEach(add) }; records.forEach { $0.machineSummaries.forEach(add) }
        case let .pairClassification(pairs):
            pairs.forEach { add($0.sentence1) }; pairs.forEach { add($0.sentence2) }
        case let .reranking(records):
            let queries = RerankingEvaluator.queries(from: records)
            queries.forEach { add($0.text) }; queries.forEach { $0.candidates.forEach(add) }
        case let .classification(train, test):
            classificationPlan?.neededTrainIndices.forEach { add(train[$0].text) }
            test.forEach { add($0.text) }
        case let .clustering(sets):
            for (set, subset) in zip(sets, clusteringPlan?.subsets ?? []) {
                subset.pickedIndices.forEach { add(set.sentences[$0]) }
            }
        }
        return texts
    }
}
