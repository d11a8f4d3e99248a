import Foundation
import Testing
@testable import Score

/// Choosing on the train split (issue 13, item 2): a held-out score from train rows only.
@Suite struct TrainSplitScoreTests {
    /// Two separable classes on the train split; test rows whose embeddings are deliberately absent.
    static func task(testLabels: [String]) -> ScoreTask {
        let train = (0..<40).map { LabelledText(text: "train \($0)", label: $0 % 2 == 0 ? "0" : "1") }
        let test = testLabels.enumerated().map { LabelledText(text: "test \($0.offset)", label: $0.element) }
        return ScoreTask(name: "TinyClassification", type: .classification, data: .classification(train: train, test: test),
                         samplesPerLabel: 8)
    }

    static func embeddings(_ task: ScoreTask) -> EmbeddingTable {
        guard case let .classification(train, _) = task.data else { return EmbeddingTable(texts: [], matrix: .init(rows: 0, dimension: 2, values: [])) }
        let values = train.enumerated().flatMap { index, row -> [Float] in
            let side: Float = row.label == "0" ? 1 : -1
            return [side + Float(index % 5) * 0.01, Float(index % 3) * 0.1]
        }
        return EmbeddingTable(texts: train.map(\.text), matrix: EmbeddingMatrix(rows: train.count, dimension: 2, values: values))
    }

    @Test func readsNoTestRowAndNoTestLabel() throws {
        let labels = (0..<20).map { $0 % 2 == 0 ? "0" : "1" }
        let task = Self.task(testLabels: labels), shuffled = Self.task(testLabels: labels.reversed().map { $0 == "0" ? "1" : "0" })
        // The table has no test text at all: reading one would throw.
        let a = try #require(try TrainSplitScore.accuracy(task: task, embeddings: Self.embeddings(task)))
        let b = try #require(try TrainSplitScore.accuracy(task: shuffled, embeddings: Self.embeddings(shuffled)))
        #expect(a == b)
        #expect(a == 1)  // separable classes: every held-out train row right
    }

    @Test func tasksWithoutATrainSplitHaveNone() throws {
        let sts = ScoreTask(name: "Tiny", type: .sts, data: .sts([STSPair(sentence1: "a", sentence2: "b", score: 1)]))
        let table = EmbeddingTable(texts: ["a", "b"], matrix: EmbeddingMatrix(rows: 2, dimension: 1, values: [1, 2]))
        #expect(try TrainSplitScore.accuracy(task: sts, embeddings: table) == nil)
    }
}
