import Foundation
import Testing
import TestSupport
@testable import Score

/// Task folders written to a temporary directory: good and bad input, errors naming file and line.
@Suite struct TaskLoadingTests {
    static func folder(type: String, extra: String = "", files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("score-task-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data(#"{"name": "T", "type": "\#(type)"\#(extra)}"#.utf8).write(to: url.appendingPathComponent("task.json"))
        for (name, text) in files { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }
        return url
    }

    static func error(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func loadsSTSAndListsBothColumns() throws {
        let url = try Self.folder(type: "STS", files: ["test.jsonl": """
            {"sentence1": "a b", "sentence2": "c", "score": 1.5}
            {"sentence1": "c", "sentence2": "d", "score": 3}
            """])
        let task = try ScoreTask.load(from: url)
        #expect(task.type == .sts && task.mainScore == "cosine_spearman")
        #expect(task.requiredTexts == ["a b", "c", "d"])
    }

    @Test func unknownTypeIsNamed() throws {
        let url = try Self.folder(type: "Retrieval", files: [:])
        let message = Self.error { _ = try ScoreTask.load(from: url) }
        #expect(message.contains("task.json") && message.contains("unknown task type 'Retrieval'"))
    }

    @Test func missingSplitIsNamed() throws {
        let url = try Self.folder(type: "Classification", files: ["test.jsonl": #"{"text": "x", "label": 1}"#])
        let message = Self.error { _ = try ScoreTask.load(from: url) }
        #expect(message.contains("train.jsonl is missing"))
    }

    @Test func wrongFieldTypeNamesFileLineAndKey() throws {
        let url = try Self.folder(type: "STS", files: ["test.jsonl": """
            {"sentence1": "a", "sentence2": "b", "score": 1}

            {"sentence1": "a", "sentence2": 7, "score": 1}
            """])
        let message = Self.error { _ = try ScoreTask.load(from: url) }
        #expect(message.contains("test.jsonl:3: key 'sentence2' must be a string"), "\(message)")
    }

    @Test func unequalListsAreRejected() throws {
        let url = try Self.folder(type: "Summarization", files: ["test.jsonl": """
            {"text": "t", "human_summaries": ["h"], "machine_summaries": ["m1", "m2"], "relevance": [1.0]}
            """])
        let message = Self.error { _ = try ScoreTask.load(from: url) }
        #expect(message.contains("test.jsonl:1: 'relevance' has 1 entries but 'machine_summaries' has 2"), "\(message)")
    }

    @Test func summarizationNeedsOnlySummaries() throws {
        let url = try Self.folder(type: "Summarization", files: ["test.jsonl": """
            {"text": "article", "human_summaries": ["h"], "machine_summaries": ["m1", "m2"], "relevance": [1.0, 2]}
            """])
        #expect(try ScoreTask.load(from: url).requiredTexts == ["h", "m1", "m2"])
    }

    @Test func rerankingStripsCandidatesNotQueries() throws {
        let url = try Self.folder(type: "Reranking", files: ["test.jsonl": """
            {"query": " q ", "positive": [" p "], "negative": ["n"]}
            {"query": "dropped", "positive": [], "negative": ["x"]}
            """])
        #expect(try ScoreTask.load(from: url).requiredTexts == [" q ", "p", "n"])
    }

    @Test func samplesPerLabelCanBeOverridden() throws {
        let url = try Self.folder(type: "Classification", extra: #", "samples_per_label": 3"#, files: [
            "test.jsonl": #"{"text": "x", "label": 1}"#, "train.jsonl": #"{"text": "y", "label": "a"}"#])
        let task = try ScoreTask.load(from: url)
        #expect(task.samplesPerLabel == 3)
        if case let .classification(train, test) = task.data {
            #expect(train[0].label == "a" && test[0].label == "1")
        }
    }

    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func everySharedTaskLoadsWithMTEBParameters() throws {
        let root = SharedData.url("data/mteb")
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/task.json").path) }
        #expect(names.count == 16)
        for name in names {
            let task = try ScoreTask.load(from: root.appendingPathComponent(name))
            #expect(task.name == name)
            switch name {
            case "EmotionClassification": #expect(task.samplesPerLabel == 16)
            case "TweetSentimentExtractionClassification": #expect(task.samplesPerLabel == 32)
            case "SIB200ClusteringS2S":
                #expect(task.clusteringParameters.maxDocumentsToEmbed == 1004)
                #expect(task.clusteringParameters.maxFractionOfDocumentsToEmbed == nil)
                #expect(task.hfSubsets == ["eng_Latn"])
            case "ClusTREC-Covid": #expect(task.hfSubsets == ["title and abstract", "title"])
            default: break
            }
        }
    }
}

/// `evaluate`'s checks on the embeddings and the result JSON.
@Suite struct EvaluateInputTests {
    static func stsTask() -> ScoreTask {
        ScoreTask(name: "Tiny", type: .sts, data: .sts([
            STSPair(sentence1: "a", sentence2: "b", score: 1), STSPair(sentence1: "c", sentence2: "d", score: 2),
            STSPair(sentence1: "e", sentence2: "f", score: 3)]))
    }

    static func table(_ texts: [String], _ rows: [[Float]]) -> EmbeddingTable {
        EmbeddingTable(texts: texts, matrix: EmbeddingMatrix(stacking: rows, dimension: rows.first?.count ?? 0))
    }

    @Test func missingTextsAreCountedAndShown() {
        let embeddings = Self.table(["a", "b"], [[1, 0], [0, 1]])
        let message = TaskLoadingTests.error { _ = try evaluate(task: Self.stsTask(), embeddings: embeddings) }
        #expect(message.contains("4 text(s) have no embedding") && message.contains("\"c\""), "\(message)")
    }

    @Test func nonFiniteVectorNamesTheText() {
        let texts = ["a", "b", "c", "d", "e", "f"]
        var rows: [[Float]] = texts.map { _ in [1, 2] }
        rows[3] = [.nan, 1]
        let message = TaskLoadingTests.error { _ = try evaluate(task: Self.stsTask(), embeddings: Self.table(texts, rows)) }
        #expect(message.contains("\"d\"") && message.contains("NaN or Inf"), "\(message)")
    }

    @Test func embeddingsFileRejectsUnequalDimensionsNamingTheLine() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("emb-\(UUID().uuidString).jsonl")
        try Data("""
            {"text": "a", "embedding": [1, 2]}
            {"text": "b", "embedding": [1, 2, 3]}
            """.utf8).write(to: url)
        let message = TaskLoadingTests.error { _ = try EmbeddingsFile.read(url) }
        #expect(message.contains(":2: embedding has 3 values, expected 2"), "\(message)")
    }

    @Test func resultJSONHasMTEBsShape() throws {
        let texts = ["a", "b", "c", "d", "e", "f"]
        let rows: [[Float]] = [[1, 0], [1, 0.1], [0, 1], [1, 1], [1, 0], [0, 1]]
        let result = try evaluate(task: Self.stsTask(), embeddings: Self.table(texts, rows))
        let object = try #require(try JSONSerialization.jsonObject(with: result.jsonData()) as? [String: Any])
        #expect(object["task_name"] as? String == "Tiny")
        #expect(object["mteb_version"] as? String == "2.26.24")
        #expect(object["kg_co2_emissions"] is NSNull)
        let test = try #require((object["scores"] as? [String: Any])?["test"] as? [[String: Any]])
        #expect(test.first?["hf_subset"] as? String == "default")
        let written = try #require(test.first?["main_score"] as? Double)
        #expect(abs(written - result.mainScore) < 1e-12)
        #expect(test.first?["languages"] as? [String] == ["eng-Latn"])
    }
}
