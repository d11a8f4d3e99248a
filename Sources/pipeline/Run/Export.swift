import Extract
import Foundation
import Score

/// `pipeline export`: the vectors of recipe grid points for tasks' texts, from the cache, as files other tools read:
/// `.npy` (float32, rows in the order of `<task>.texts.jsonl`) and `.safetensors` (tensor "embeddings", the recipe,
/// model, prompt, task and alpha in its metadata). `score --embeddings` reads both back.
enum Export {
    enum Format: String, CaseIterable { case npy, safetensors, both }

    struct Selection {
        /// Task names to export (nil: every manifest task).
        var tasks: Set<String>?
        /// Recipe grid points by stable name (`moee-sum(alpha=0.5)`) or file identifier (nil: every point).
        var recipes: Set<String>?
    }

    enum ExportError: Error, CustomStringConvertible {
        case unknown(what: String, names: [String], known: [String])
        var description: String {
            switch self {
            case .unknown(let what, let names, let known):
                return "unknown \(what) \(names.joined(separator: ", ")) (the manifest has: \(known.joined(separator: ", ")))"
            }
        }
    }

    /// Writes every selected (model, prompt, grid point, task) under `folder`; returns the files written.
    @discardableResult
    static func run(_ manifest: Manifest, selection: Selection, format: Format, folder: URL, backends: BackendFactory,
                    log: (String) -> Void = { stderr($0) }) throws -> [URL] {
        guard FileManager.default.fileExists(atPath: manifest.store.path) else {
            throw PipelineError.noStore(manifest.store.path, manifest: manifest.file.path)
        }
        let entries = manifest.tasks.filter { selection.tasks?.contains($0.name) ?? true }
        if let names = selection.tasks, entries.count != names.count {
            throw ExportError.unknown(what: "task", names: names.subtracting(entries.map(\.name)).sorted(),
                                      known: manifest.tasks.map(\.name))
        }
        let allPoints = manifest.recipes.flatMap(\.points)
        let points = allPoints.filter { point in selection.recipes.map { $0.contains(point.name) || $0.contains(point.identifier) } ?? true }
        if let names = selection.recipes {
            let matched = Set(points.flatMap { [$0.name, $0.identifier] })
            let unknown = names.subtracting(matched)
            if !unknown.isEmpty { throw ExportError.unknown(what: "recipe", names: unknown.sorted(), known: allPoints.map(\.name)) }
        }
        try Preflight.checkWritable(folder)
        let cache = try backends.cache(at: manifest.store, writable: false)
        let models = try Pipeline.storedModels(manifest, cache: cache, backends: backends, log: log)
        return try write(manifest, tasks: entries, points: points, models: models, format: format, folder: folder,
                         scoring: try backends.scoring(cache: cache), cache: cache, log: log)
    }

    private static func write<Scoring: ScoringBackend>(
        _ manifest: Manifest, tasks entries: [Manifest.TaskEntry], points: [Recipe], models: [ModelKey], format: Format,
        folder: URL, scoring: Scoring, cache: CacheBackend, log: (String) -> Void) throws -> [URL] {
        let tasks = try entries.map { try scoring.loadTask($0) }
        var selected = manifest
        selected.tasks = entries
        try ScoreJob(manifest: selected, scoring: scoring, cache: cache, models: models).checkComplete(tasks)
        let cells = models.count * manifest.prompts.count * tasks.count * points.count
        let progress = ProgressReporter(label: "export", total: cells)
        defer { progress.finish() }
        var written: [URL] = []
        for (entry, model) in zip(manifest.models, models) {
            for prompt in manifest.prompts {
                for task in tasks {
                    let key = prompt.key(task: task.entry.name, maxLength: entry.maxLength)
                    try scoring.vectors(task: task, model: model, prompt: key, points: points) { recipe, table, choices in
                        let directory = folder.appendingPathComponent(ReportWriter.fileName(entry.name))
                            .appendingPathComponent(ReportWriter.fileName(prompt.name))
                            .appendingPathComponent(ReportWriter.fileName(recipe.identifier))
                        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                        let stem = directory.appendingPathComponent(ReportWriter.fileName(task.entry.name))
                        let texts = NumpyFile.textsFile(for: stem.appendingPathExtension("npy"))
                        try NumpyFile.writeTexts(task.requiredTexts, to: texts)
                        written.append(texts)
                        if format != .safetensors {
                            let file = stem.appendingPathExtension("npy")
                            try NumpyFile.write(table.matrix, to: file)
                            written.append(file)
                        }
                        if format != .npy {
                            var metadata = ["recipe": recipe.name, "model": model.name, "model_variant": model.variant,
                                            "model_fingerprint": model.fingerprint, "prompt": prompt.name,
                                            "prompt_specification": key.specification, "task": task.entry.name,
                                            "texts": texts.lastPathComponent]
                            if let alpha = choices.alpha { metadata["alpha"] = "\(alpha)" }
                            if let layer = choices.layer { metadata["layer"] = "\(layer)" }
                            var writer = SafetensorsWriter(metadata: metadata)
                            writer.entries.append(.init(name: "embeddings", floats: table.matrix.values,
                                                        shape: [table.matrix.rows, table.matrix.dimension]))
                            let file = stem.appendingPathExtension("safetensors")
                            try writer.write(to: file)
                            written.append(file)
                        }
                        progress.advance(texts: 1, tokens: 0)
                    }
                }
            }
        }
        log("export: \(cells) (model, prompt, task, recipe) cells, \(written.count) files under \(folder.path)")
        return written
    }

    /// Reads embeddings for `score --embeddings`: JSONL, `.npy` or `.safetensors` (tensor "embeddings"), the
    /// latter two with their texts file (`texts`, default `<stem>.texts.jsonl`).
    static func readEmbeddings(_ url: URL, texts: URL?) throws -> EmbeddingTable {
        switch url.pathExtension {
        case "npy":
            let textsFile = texts ?? NumpyFile.textsFile(for: url)
            return try NumpyFile.table(texts: try NumpyFile.readTexts(textsFile), matrix: try NumpyFile.read(url),
                                       file: url, textsFile: textsFile)
        case "safetensors":
            let textsFile = texts ?? NumpyFile.textsFile(for: url)
            let file = try SafetensorsFile(url: url)
            let info = try file.info("embeddings")
            guard info.shape.count == 2 else {
                throw ScoreError.invalidInput("\(url.path): tensor \"embeddings\" has shape \(info.shape), not (rows, dimension)")
            }
            let matrix = EmbeddingMatrix(rows: info.shape[0], dimension: info.shape[1], values: try file.floats("embeddings"))
            return try NumpyFile.table(texts: try NumpyFile.readTexts(textsFile), matrix: matrix, file: url, textsFile: textsFile)
        default:
            return try EmbeddingsFile.read(url)
        }
    }
}
