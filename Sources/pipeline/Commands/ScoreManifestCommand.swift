import Foundation

/// `pipeline score MANIFEST`: stage two over a manifest, from the cache only.
///
/// (`pipeline score --embeddings FILE --task DIR` is the Score module's command; once both are on main, that
/// command hands a positional MANIFEST to `ScoreManifestCommand.run`.)
struct ScoreManifestCommand: Command {
    static let path = ["score"]
    static let abstract = "stage two: score every recipe and grid point from the cache"
    static let help = """
        Usage: pipeline score MANIFEST

        Scores every (model, prompt, task, recipe grid point) of MANIFEST from the cache only (model weights are
        never loaded). Writes one MTEB-style result JSON per cell under OUTPUT/results/, OUTPUT/summary.md and
        OUTPUT/summary.csv (the paper's Tables 3 and 4) and SVG plots under OUTPUT/plots/, then prints the table.
        If the cache lacks records, says which (model, prompt, task) and how many texts, and scores nothing.
        """

    let manifest: String

    init(arguments: inout Arguments) throws {
        manifest = try arguments.requiredPositional("MANIFEST")
        try arguments.finish()
    }

    func run() throws { try Self.run(manifestPath: manifest) }

    static func run(manifestPath: String) throws {
        let manifest = try Manifest.load(URL(fileURLWithPath: manifestPath))
        print(Demo.mainTable(try Pipeline.score(manifest, backends: RealBackends())))
    }
}
