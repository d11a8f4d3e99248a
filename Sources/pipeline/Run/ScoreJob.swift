import Foundation

/// Stage two over a manifest: every (model, prompt, task, recipe grid point) from the cache only, one MTEB-style
/// result JSON per cell, then the summary tables and plots.
struct ScoreJob<Scoring: ScoringBackend> {
    let manifest: Manifest
    let scoring: Scoring
    let cache: CacheBackend
    /// The cache key of each manifest model, in manifest order (found without loading weights).
    let models: [ModelKey]

    /// Checks the cache for every cell before scoring any (so a gap is reported whole, and nothing is half done).
    func checkComplete(_ tasks: [Scoring.Task]) throws {
        var gaps: [MissingRecords.Gap] = []
        for (entry, model) in zip(manifest.models, models) {
            for prompt in manifest.prompts {
                for task in tasks {
                    let key = prompt.key(task: task.entry.name, maxLength: entry.maxLength)
                    let missing = try cache.missingTexts(model: model, prompt: key, texts: task.requiredTexts)
                    if !missing.isEmpty {
                        gaps.append(.init(model: entry.name, prompt: prompt.name, task: task.entry.name,
                                          missing: missing.count, needed: task.requiredTexts.count))
                    }
                }
            }
        }
        if !gaps.isEmpty { throw MissingRecords(gaps: gaps, manifest: manifest.file.path) }
    }

    /// Scores everything and writes results under the manifest's output folder; returns the table.
    func run(tasks: [Scoring.Task], log: (String) -> Void = { _ in }) throws -> ResultTable {
        try checkComplete(tasks)
        let points = manifest.recipes.flatMap(\.points)
        let results = manifest.output.appendingPathComponent("results")
        var cells: [CellScore] = []
        for (entry, model) in zip(manifest.models, models) {
            for prompt in manifest.prompts {
                for task in tasks {
                    let key = prompt.key(task: task.entry.name, maxLength: entry.maxLength)
                    let start = Date()
                    let scored = try scoring.score(task: task, model: model, prompt: key, points: points)
                    for cell in scored {
                        let folder = results.appendingPathComponent(ReportWriter.fileName(entry.name))
                            .appendingPathComponent(ReportWriter.fileName(prompt.name))
                            .appendingPathComponent(ReportWriter.fileName(cell.score.recipe.identifier))
                        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                        try cell.resultJSON.write(to: folder.appendingPathComponent(ReportWriter.fileName(task.entry.name) + ".json"),
                                                  options: .atomic)
                        cells.append(cell.score)
                    }
                    log("scored \(entry.name) / \(prompt.name) / \(task.entry.name): \(points.count) recipe points in "
                        + String(format: "%.2f s", Date().timeIntervalSince(start)))
                }
            }
        }
        return ResultTable(cells: cells)
    }
}

/// Records `score` needs and the cache lacks, per (model, prompt, task).
struct MissingRecords: Error, CustomStringConvertible {
    struct Gap: Sendable, Equatable {
        let model: String, prompt: String, task: String, missing: Int, needed: Int
    }
    let gaps: [Gap]
    let manifest: String

    var description: String {
        var lines = ["the cache lacks records that score needs (nothing was scored):"]
        for gap in gaps.prefix(20) {
            lines.append("  model \(gap.model), prompt \(gap.prompt), task \(gap.task): \(gap.missing) of \(gap.needed) texts missing")
        }
        if gaps.count > 20 { lines.append("  ... and \(gaps.count - 20) more (model, prompt, task) cells") }
        lines.append("run `pipeline extract \(manifest)` first (it only computes what is missing)")
        return lines.joined(separator: "\n")
    }
}


/// Up-front checks that fail before any long work: an output folder or store folder that cannot be written.
enum Preflight {
    struct NotWritable: Error, CustomStringConvertible {
        let path: String, reason: String
        var description: String { "cannot write to \(path): \(reason)" }
    }

    /// Creates `folder` if needed and writes and removes a probe file in it.
    static func checkWritable(_ folder: URL) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let probe = folder.appendingPathComponent(".moee-write-probe-\(getpid())")
            try Data("probe".utf8).write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            throw NotWritable(path: folder.path, reason: (error as NSError).localizedDescription)
        }
    }
}
