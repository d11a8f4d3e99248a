import Foundation
import Score

/// `pipeline score --embeddings FILE.jsonl --task DIR [--json]`: scores externally computed embeddings.
/// `pipeline score MANIFEST`, the cache-driven form, is `ScoreManifest` (ScoreManifestCommand.swift).
struct ScoreCommand: Command {
    static let path = ["score"]
    static let abstract = "stage two: score a manifest from the cache, or embeddings on a task"
    static let help = """
        Usage: pipeline score --embeddings FILE.jsonl --task TASK_DIR [--json] [--result OUT.json]
               pipeline score MANIFEST

        Scores the embeddings in FILE (one line per text: {"text": "...", "embedding": [floats]}) on the task
        folder TASK_DIR (task.json + JSONL splits), reproducing mteb 2.26.24's evaluator for the task's type.
        Every text the task needs must be in FILE.

        Options:
          --embeddings FILE   the embeddings, JSONL
          --task DIR          the task folder
          --json              print {"task_name", "main_score", "main_score_name", "metrics"} as JSON
          --result OUT.json   also write mteb's result-file JSON (TaskResult format) to OUT.json

        """ + ScoreManifest.help

    let embeddings: String
    let task: String
    let json: Bool
    let resultPath: String?
    /// Manifest mode: the manifest's path.
    let manifest: String?

    init(arguments: inout Arguments) throws {
        let embeddings = try arguments.option("--embeddings")
        let task = try arguments.option("--task")
        json = arguments.flag("--json")
        resultPath = try arguments.option("--result")
        manifest = arguments.positional()
        try arguments.finish()
        if manifest != nil {
            guard embeddings == nil, task == nil, !json, resultPath == nil else {
                throw UsageError("give either MANIFEST or --embeddings FILE --task DIR, not both")
            }
            self.embeddings = ""
            self.task = ""
            return
        }
        guard let embeddings else { throw UsageError("missing required option --embeddings (or give a MANIFEST)") }
        guard let task else { throw UsageError("missing required option --task") }
        self.embeddings = embeddings
        self.task = task
    }

    func run() throws {
        ScoreMemory.retainFreedMemory()
        if let manifest { return try ScoreManifest.run(manifestPath: manifest) }
        let task = try ScoreTask.load(from: URL(fileURLWithPath: self.task))
        let table = try EmbeddingsFile.read(URL(fileURLWithPath: embeddings))
        let result = try evaluate(task: task, embeddings: table)
        if let resultPath { try result.write(to: URL(fileURLWithPath: resultPath)) }
        if json {
            FileHandle.standardOutput.write(try result.summaryJSON())
            print()
        } else {
            print(result.readableSummary())
        }
    }
}
