import Foundation

/// A score computed on a split other than test, for choosing grid points (alpha, layer) without touching test
/// labels. Only classification tasks have such a split in the shared task folders (train); the others have test
/// only and get none.
///
/// The train rows a classification task embeds anyway (the union of mteb's ten undersampled experiments,
/// `ClassificationPlan.neededTrainIndices`) are split per label in their order, alternately, into a fitting half and
/// a held-out half; the logistic regression mteb uses is fitted on the first and its accuracy measured on the
/// second. No test row and no test label is read.
public enum TrainSplitScore {
    public static let split = "train"

    /// Held-out accuracy on the train split, or nil when the task has no train split (or too few rows per label).
    public static func accuracy(task: ScoreTask, embeddings: some EmbeddingLookup) throws -> Double? {
        guard case let .classification(train, _) = task.data, let plan = task.classificationPlan else { return nil }
        var seen: [String: Int] = [:]
        var fit: [Int] = [], heldOut: [Int] = []
        for index in plan.neededTrainIndices {
            let label = train[index].label
            let position = seen[label, default: 0]
            seen[label] = position + 1
            if position % 2 == 0 { fit.append(index) } else { heldOut.append(index) }
        }
        // Logistic regression needs two classes to fit, and every class should be seen when fitting.
        guard Set(fit.map { train[$0].label }).count >= 2, !heldOut.isEmpty else { return nil }
        let texts = (fit + heldOut).map { train[$0].text }
        try embeddings.validate(texts, task: task.name)
        let matrix = embeddings.gather(texts)
        let fitRows = matrix.selecting(rows: Array(0..<fit.count))
        let heldOutRows = matrix.selecting(rows: Array(fit.count..<texts.count))
        let scores = try ClassificationEvaluator.evaluate(
            plan: ClassificationPlan(experiments: [fit]), trainEmbeddings: fitRows, trainLabels: train.map(\.label),
            test: heldOutRows, testLabels: heldOut.map { train[$0].label })
        return scores.metrics["accuracy"]
    }
}
