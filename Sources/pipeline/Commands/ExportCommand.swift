import Foundation

/// `pipeline export MANIFEST [--task NAMES] [--recipe NAMES] [--format npy|safetensors|both] [--out DIR]`
struct ExportCommand: Command {
    static let path = ["export"]
    static let abstract = "write a recipe's embeddings from the cache to .npy / safetensors for other tools"
    static let help = """
        Usage: pipeline export MANIFEST [--task NAME,...] [--recipe NAME,...] [--format npy|safetensors|both] [--out DIR]

        Writes, from the cache only (like `score`; the checkpoint folder may be absent), the vectors of every
        (model, prompt, recipe grid point, task) of MANIFEST, or of the chosen tasks and grid points, for the
        texts each task embeds, under DIR/<model>/<prompt>/<recipe>/:
          <task>.npy           float32 (rows, dimension), C order (numpy.load)
          <task>.safetensors   tensor "embeddings" with the recipe, model, prompt, task and alpha in its metadata
          <task>.texts.jsonl   one {"text": ...} per row, in row order (pandas.read_json(F, lines=True))
        `pipeline score --embeddings <task>.npy --task TASK_DIR` scores them again (the same main score).

        Options:
          --task NAME,...     only these tasks (manifest task names)
          --recipe NAME,...   only these grid points, by stable name (hs, moee-sum(alpha=0.5), moee-sum(alpha=label-free))
                              or result-file identifier
          --format F          npy, safetensors or both (default both)
          --out DIR           the folder (default OUTPUT/embeddings, OUTPUT the manifest's "output")
        """

    let manifest: String
    let tasks: Set<String>?
    let recipes: Set<String>?
    let format: Export.Format
    let out: String?

    init(arguments: inout Arguments) throws {
        func list(_ option: String) throws -> Set<String>? {
            try arguments.option(option).map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        }
        tasks = try list("--task")
        recipes = try list("--recipe")
        let formatName = try arguments.option("--format") ?? "both"
        guard let format = Export.Format(rawValue: formatName) else {
            throw UsageError("--format must be npy, safetensors or both, not '\(formatName)'")
        }
        self.format = format
        out = try arguments.option("--out")
        manifest = try arguments.requiredPositional("MANIFEST")
        try arguments.finish()
    }

    func run() throws {
        let manifest = try Manifest.load(URL(fileURLWithPath: self.manifest), requireModelFolders: false)
        let folder = out.map { URL(fileURLWithPath: $0) } ?? manifest.output.appendingPathComponent("embeddings")
        try Export.run(manifest, selection: .init(tasks: tasks, recipes: recipes), format: format, folder: folder,
                       backends: RealBackends())
    }
}
