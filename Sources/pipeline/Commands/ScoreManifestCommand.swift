import Foundation

/// `pipeline score MANIFEST`: stage two over a manifest, from the cache only (dispatched by `ScoreCommand`).
enum ScoreManifest {
    static let help = """
        Manifest mode: scores every (model, prompt, task, recipe grid point) of MANIFEST from the cache only (model
        weights are never loaded; the checkpoint folder may be absent: each model is then found in the store by
        name and quantization, and `variant` / `fingerprint` in the manifest pick one when several match). Writes one MTEB-style result JSON per cell under OUTPUT/results/,
        OUTPUT/summary.md and OUTPUT/summary.csv (the paper's Tables 3 and 4) and SVG plots under OUTPUT/plots/,
        then prints the table. If the cache lacks records, says which (model, prompt, task) and how many texts,
        and scores nothing.
        """

    static func run(manifestPath: String) throws {
        // The checkpoint folders may be absent: the store's record of each model is enough to score.
        let manifest = try Manifest.load(URL(fileURLWithPath: manifestPath), requireModelFolders: false)
        print(Demo.mainTable(try Pipeline.score(manifest, backends: RealBackends())))
    }
}
