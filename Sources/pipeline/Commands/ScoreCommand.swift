import Foundation
import Score

/// `pipeline score --embeddings FILE.jsonl --task DIR [--json]`: scores externally computed embeddings.
/// (`pipeline score MANIFEST`, the cache-driven form, is added by the pipeline work; see `init`.)
struct ScoreCommand: Command {
    static let path = ["score"]
    static let abstract = "score embeddings on an MTEB task (mteb 2.26.24 metrics)"
    static let help = """
        Usage: pipeline score --embeddings FILE.jsonl --task TASK_DIR [--json] [--result OUT.json]
               pipeline score MANIFEST            (manifest mode: not yet available)

        Scores the embeddings in FILE (one line per text: {"text": "...", "embedding": [floats]}) on the task
        folder TASK_DIR (task.json + JSONL splits), reproducing mteb 2.26.24's evaluator for the task's type.
        Every text the task needs must be in FILE.

        Options:
          --embeddings FILE   the embeddings, JSONL
          --task DIR          the task folder
          --json              print {"task_name", "main_score", "main_score_name", "metrics"} as JSON
          --result OUT.json   also write mteb's result-file JSON (TaskResult format) to OUT.json
        """

    let embeddings: String
    let task: String
    let json: Bool
    let resultPath: String?

    init(arguments: inout Arguments) throws {
        let embeddings = try arguments.option("--embeddings")
        let task = try arguments.option("--task")
        json = arguments.flag("--json")
        resultPath = try arguments.option("--result")
        if let manifest = arguments.positional() {
            throw UsageError("manifest mode (pipeline score \(manifest)) is not yet available; use --embeddings FILE --task DIR")
        }
        try arguments.finish()
        guard let embeddings else { throw UsageError("missing required option --embeddings") }
        guard let task else { throw UsageError("missing required option --task") }
        self.embeddings = embeddings
        self.task = task
    }

    func run() throws {
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
