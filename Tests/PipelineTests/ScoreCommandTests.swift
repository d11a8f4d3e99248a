import Foundation
import Testing
import TestSupport

/// `pipeline score --embeddings FILE --task DIR [--json]` end to end.
@Suite struct ScoreCommandTests {
    static func workspace(embeddings: String) throws -> (task: String, embeddings: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("score-cli-\(UUID().uuidString)")
        let task = root.appendingPathComponent("Tiny")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        try Data(#"{"name": "Tiny", "type": "STS", "main_score": "cosine_spearman"}"#.utf8)
            .write(to: task.appendingPathComponent("task.json"))
        try Data("""
            {"sentence1": "a", "sentence2": "b", "score": 1}
            {"sentence1": "c", "sentence2": "d", "score": 4}
            {"sentence1": "e", "sentence2": "f", "score": 2}
            """.utf8).write(to: task.appendingPathComponent("test.jsonl"))
        let file = root.appendingPathComponent("emb.jsonl")
        try Data(embeddings.utf8).write(to: file)
        return (task.path, file.path)
    }

    static let goodEmbeddings = """
        {"text": "a", "embedding": [1, 0]}
        {"text": "b", "embedding": [0, 1]}
        {"text": "c", "embedding": [1, 1]}
        {"text": "d", "embedding": [1, 1.1]}
        {"text": "e", "embedding": [1, 0.2]}
        {"text": "f", "embedding": [1, 0.9]}
        """

    @Test func jsonOutputHasMainScoreAndMetrics() throws {
        let paths = try Self.workspace(embeddings: Self.goodEmbeddings)
        let result = try PipelineProcess.run(["score", "--embeddings", paths.embeddings, "--task", paths.task, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["main_score_name"] as? String == "cosine_spearman")
        let metrics = try #require(object["metrics"] as? [String: Any])
        #expect(metrics["cosine_spearman"] as? Double == object["main_score"] as? Double)
        #expect(metrics.keys.contains("euclidean_pearson"))
    }

    @Test func missingTextFailsWithExitOne() throws {
        let paths = try Self.workspace(embeddings: #"{"text": "a", "embedding": [1, 0]}"#)
        let result = try PipelineProcess.run(["score", "--embeddings", paths.embeddings, "--task", paths.task])
        #expect(result.status == 1)
        #expect(result.stderr.contains("5 text(s) have no embedding"), "\(result.stderr)")
    }

    @Test func badEmbeddingLineIsNamed() throws {
        let paths = try Self.workspace(embeddings: "{\"text\": \"a\", \"embedding\": [1, 0]}\n{\"text\": \"b\", \"embedding\": \"x\"}")
        let result = try PipelineProcess.run(["score", "--embeddings", paths.embeddings, "--task", paths.task])
        #expect(result.status == 1)
        #expect(result.stderr.contains("emb.jsonl:2: key 'embedding'"), "\(result.stderr)")
    }

    /// Manifest mode (`pipeline score MANIFEST`) is tested end to end in EndToEndTests; both forms at once are refused.
    @Test func manifestAndEmbeddingsTogetherIsAUsageError() throws {
        let result = try PipelineProcess.run(["score", "manifests/demo.json", "--embeddings", "e.jsonl", "--task", "t"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("either MANIFEST or --embeddings"))
    }
}
