import Foundation
import Score

/// `pipeline score --embeddings FILE --task DIR [--json]`: scores externally computed embeddings (JSONL, .npy,
/// .safetensors).
/// `pipeline score MANIFEST`, the cache-driven form, is `ScoreManifest` (ScoreManifestCommand.swift).
struct ScoreCommand: Command {
    static let path = ["score"]
    static let abstract = "stage two: score a manifest from the cache, or embeddings on a task"
    static let help = """
        Usage: pipeline score --embeddings FILE --task TASK_DIR [--texts T.jsonl] [--json] [--result OUT.json]
               pipeline score MANIFEST

        Scores the embeddings in FILE on the task folder TASK_DIR (task.json + JSONL splits), reproducing mteb
        2.26.24's evaluator for the task's type. FILE is JSONL (one line per text: {"text": "...", "embedding":
        [floats]}), or what `pipeline export` writes: .npy (float32/float64, rows x dimension) or .safetensors
        (tensor "embeddings"), whose rows' texts are in T (default: FILE's stem + .texts.jsonl, one {"text": ...}
        per row). Every text the task needs must be in FILE.

        Options:
          --embeddings FILE   the embeddings: .jsonl, .npy or .safetensors
          --texts T.jsonl     the texts of a .npy / .safetensors file's rows
          --task DIR          the task folder
          --json              print {"task_name", "main_score", "main_score_name", "metrics"} as JSON
          --result OUT.json   also write mteb's result-file JSON (TaskResult format) to OUT.json

        """ + ScoreManifest.help

    let embeddings: String
    let task: String
    let json: Bool
    let resultPath: String?
    let texts: String?
    /// Manifest mode: the manifest's path.
    let manifest: String?

    init(arguments: inout Arguments) throws {
        let embeddings = try arguments.option("--embeddings")
        let task = try arguments.option("--task")
        json = arguments.flag("--json")
        resultPath = try arguments.option("--result")
        texts = try arguments.option("--texts")
        manifest = arguments.positional()
        try arguments.finish()
        if manifest != nil {
            guard embeddings == nil, task == nil, !json, resultPath == nil, texts == nil else {
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
        let start = Date()
        // The file's table lives only inside this closure: scoring then holds the task's rows and their
        // normalised copy, not the whole file as well (peak memory about twice the vectors, not three times).
        let rows = try { () throws -> EmbeddingMatrix in
            let table = try Export.readEmbeddings(URL(fileURLWithPath: embeddings), texts: texts.map { URL(fileURLWithPath: $0) })
            return try taskRows(of: task, in: table)
        }()
        let result = try evaluate(task: task, taskRows: rows, since: start)
        if let resultPath { try result.write(to: URL(fileURLWithPath: resultPath)) }
        if json {
            FileHandle.standardOutput.write(try result.summaryJSON())
            print()
        } else {
            print(result.readableSummary())
        }
    }
}
