import Foundation

/// `pipeline demo`: the committed demo (manifests/demo.json, demo/model, demo/tasks) from any working directory of
/// a clone, with no ../shared and no download.
enum Demo {
    static let randomWeightsNotice = "The demo model has RANDOM weights (a tiny OLMoE-shaped checkpoint made by "
        + "scripts/demo/make_demo_model.py) and the tasks are small slices of real MTEB tasks: the scores show that the "
        + "pipeline runs end to end, not how good MoEE is. See README.md to run a real model."

    /// The repository holding the demo: `$MOEE_HOME`, else the first folder upward from the executable (e.g.
    /// `.build/release/pipeline`) or from the working directory that has `manifests/demo.json` and `demo/model`.
    static func locateRepository(executable: URL, workingDirectory: URL,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        var starts: [URL] = []
        if let home = environment["MOEE_HOME"] { starts.append(URL(fileURLWithPath: home)) }
        starts.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        starts.append(workingDirectory)
        for start in starts {
            var folder = start.standardizedFileURL
            while true {
                if isRepository(folder) { return folder }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw PipelineError.demoNotFound(starts.map(\.path))
    }

    static func isRepository(_ folder: URL) -> Bool {
        let files = FileManager.default
        return files.fileExists(atPath: folder.appendingPathComponent("manifests/demo.json").path)
            && files.fileExists(atPath: folder.appendingPathComponent("demo/model/config.json").path)
    }

    /// The demo manifest with its store and output moved to `out/demo` in the repository (or `$MOEE_DEMO_OUT`, or
    /// a temporary folder when neither is writable). The store starts empty on every run, so the demo always
    /// extracts.
    static func manifest(repository: URL, freshStore: Bool = true,
                         environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Manifest {
        var manifest = try Manifest.load(repository.appendingPathComponent("manifests/demo.json"))
        var output = environment["MOEE_DEMO_OUT"].map { URL(fileURLWithPath: $0) }
            ?? repository.appendingPathComponent("out/demo")
        if (try? Preflight.checkWritable(output)) == nil {
            output = FileManager.default.temporaryDirectory.appendingPathComponent("moee-demo")
            try Preflight.checkWritable(output)
        }
        manifest.output = output
        manifest.store = output.appendingPathComponent("cache.sqlite")
        if freshStore {
            for suffix in ["", "-wal", "-shm", ".lock"] {
                try? FileManager.default.removeItem(atPath: manifest.store.path + suffix)
            }
        }
        return manifest
    }

    /// Extract + score, then the summary table on stdout.
    static func run(backends: BackendFactory, executable: URL, freshStore: Bool = true) throws {
        let start = Date()
        let repository = try locateRepository(executable: executable,
                                              workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let manifest = try self.manifest(repository: repository, freshStore: freshStore)
        stderr("demo: \(repository.path)/manifests/demo.json, writing to \(manifest.output.path)")
        try Pipeline.extract(manifest, shard: .whole, backends: backends)
        let summary = try Pipeline.score(manifest, backends: backends, title: "moee demo (random weights)",
                                         notes: [randomWeightsNotice], log: { _ in })
        print(mainTable(summary))
        print("")
        print(randomWeightsNotice)
        print("Full results: \(manifest.output.path)/summary.md, summary.csv, plots/*.svg, results/ "
              + "(\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }

    /// The summary up to the per-task section: the part worth printing on a terminal.
    static func mainTable(_ markdown: String) -> String {
        let cut = markdown.range(of: "\n## Per task")?.lowerBound ?? markdown.endIndex
        return String(markdown[..<cut]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
