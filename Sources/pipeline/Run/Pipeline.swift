import Foundation

/// Opens the real stages for the commands (implemented in `Adapters.swift`; tests pass fakes).
protocol BackendFactory {
    /// The checkpoint's fingerprint without loading its weights (config, safetensors headers): what `score`
    /// checks the store's records against when the folder is there.
    func checkpointFingerprint(for model: Manifest.ModelEntry) throws -> String
    /// Tokenizer and forward pass, weights loaded: what `extract` needs.
    func encoder(for model: Manifest.ModelEntry) throws -> EncoderBackend
    /// The cache at `path`; `writable` for extract (which takes the writer lock), read-only for score.
    func cache(at path: URL, writable: Bool) throws -> CacheBackend
    /// Tasks, recipes and evaluators reading `cache`.
    func scoring(cache: CacheBackend) throws -> any ScoringBackend
}

/// The commands' work: `extract`, `score`, `run` and `demo` call these.
enum Pipeline {
    /// Stage one over a manifest. Prints one closing line per model on stderr.
    static func extract(_ manifest: Manifest, shard: Shard, backends: BackendFactory,
                        log: (String) -> Void = { stderr($0) }) throws {
        // Stage one needs every checkpoint (stage two can do without).
        if let problem = manifest.models.lazy.compactMap(\.folderProblem).first { throw problem }
        try Preflight.checkWritable(manifest.store.deletingLastPathComponent())
        let cache = try backends.cache(at: manifest.store, writable: true)
        let taskTexts = try requiredTexts(manifest, scoring: try backends.scoring(cache: cache))
        let job = ExtractJob(manifest: manifest, taskTexts: taskTexts, shard: shard)
        Interruption.install()
        for model in manifest.models {
            if model.quantization != .none {
                log("note: \(model.name): quantization \(model.quantization.rawValue) is recorded in the cache key (variant)")
            }
            let start = Date()
            let encoder = try backends.encoder(for: model)
            log("extract \(model.name): model loaded in \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
                + (shard.count > 1 ? ", shard \(shard)" : ""))
            let summary = try job.run(model: model, encoder: encoder, cache: cache, makeProgress: { label, texts, tokens in
                ProgressReporter(label: label, total: texts, totalTokens: tokens)
            }, log: log)
            let seconds = Date().timeIntervalSince(start)
            log("extract \(model.name): \(summary.texts) (prompt, text) pairs, \(summary.cached) already cached, "
                + "\(summary.extracted) extracted in \(summary.batches) batches (\(summary.tokens) tokens, "
                + "\(summary.truncated) truncated) in \(String(format: "%.1f", seconds)) s")
        }
    }

    /// Stage two over a manifest, from the cache only. Returns the Markdown summary it wrote.
    @discardableResult
    static func score(_ manifest: Manifest, backends: BackendFactory, title: String? = nil, notes: [String] = [],
                      log: (String) -> Void = { stderr($0) }) throws -> String {
        try Preflight.checkWritable(manifest.output)
        guard FileManager.default.fileExists(atPath: manifest.store.path) else {
            throw PipelineError.noStore(manifest.store.path, manifest: manifest.file.path)
        }
        let cache = try backends.cache(at: manifest.store, writable: false)
        let scoring = try backends.scoring(cache: cache)
        let models = try storedModels(manifest, cache: cache, backends: backends, log: log)
        let table = try scoreAll(manifest, scoring: scoring, cache: cache, models: models, log: log)
        let heading = title ?? "moee results: \(manifest.file.lastPathComponent)"
        let written = try ReportWriter.write(table, to: manifest.output, title: heading, notes: notes)
        log("wrote \(written.count) report files and \(table.rows.count * table.tasks.count) result JSONs under \(manifest.output.path)")
        return SummaryWriter.markdown(table, title: heading, notes: notes)
    }

    /// Each manifest model as the store recorded it (variant included); the checkpoint folder is optional here.
    static func storedModels(_ manifest: Manifest, cache: CacheBackend, backends: BackendFactory,
                             log: (String) -> Void) throws -> [ModelKey] {
        let stored = try cache.storedModels()
        return try manifest.models.enumerated().map { index, entry in
            let fingerprint = entry.folderProblem == nil ? try backends.checkpointFingerprint(for: entry) : nil
            let found = try ModelLookup.resolve(entry, index: index, stored: stored, checkpointFingerprint: fingerprint,
                                                storePath: manifest.store.path)
            if let note = found.note { log(note) }
            return found.key
        }
    }

    /// Every manifest task's required texts (the scoring backend opened from `any ScoringBackend`).
    private static func requiredTexts<Scoring: ScoringBackend>(_ manifest: Manifest, scoring: Scoring) throws
        -> [(task: Manifest.TaskEntry, texts: [String])] {
        try manifest.tasks.map { entry in
            let task = try scoring.loadTask(entry)
            return (task.entry, task.requiredTexts)
        }
    }

    /// The scoring backend with its own task type (opened from `any ScoringBackend`).
    private static func scoreAll<Scoring: ScoringBackend>(_ manifest: Manifest, scoring: Scoring, cache: CacheBackend,
                                                          models: [ModelKey], log: (String) -> Void) throws -> ResultTable {
        let tasks = try manifest.tasks.map { try scoring.loadTask($0) }
        return try ScoreJob(manifest: manifest, scoring: scoring, cache: cache, models: models).run(tasks: tasks, log: log)
    }
}

enum PipelineError: Error, CustomStringConvertible {
    case noStore(String, manifest: String)
    case demoNotFound([String])
    case notInCache(model: String, prompt: String)

    var description: String {
        switch self {
        case .noStore(let path, let manifest):
            return "no cache at \(path); run `pipeline extract \(manifest)` first"
        case .demoNotFound(let tried):
            return "cannot find the demo (manifests/demo.json and demo/) near the executable or the working directory; "
                + "looked upward from: \(tried.joined(separator: ", ")). Set MOEE_HOME to the repository folder."
        case .notInCache(let model, let prompt):
            return "the cache holds no records of model \(model) with prompt \(prompt); run `pipeline extract` first"
        }
    }
}
