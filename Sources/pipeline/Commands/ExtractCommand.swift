import Foundation

/// `pipeline extract MANIFEST [--shard i/n]`
struct ExtractCommand: Command {
    static let path = ["extract"]
    static let abstract = "stage one: run the models and cache what the manifest needs"
    static let help = """
        Usage: pipeline extract MANIFEST [--shard i/n] [--store PATH] [--quantized-cache DIR]

        Runs stage one for everything MANIFEST names that is not cached yet: the unique (model, prompt, text)
        triples over the required texts of all its tasks, batched by length under each model's token_budget and
        committed to the store batch by batch. Progress goes to stderr. Ctrl-C finishes the batch in flight and
        exits with status 130; rerunning the same command resumes.

        Options:
          --shard i/n   only the texts whose hash falls in shard i of n (0 <= i < n); each shard may write its own
                        store (set "store" per machine), merged later with `pipeline store merge OUT IN...`.
                        `--shard i` alone uses the manifest's "shards" count.
          --store PATH  write to this store instead of the manifest's "store" (e.g. one file per shard)
          --quantized-cache DIR
                        keep quantized weights (models with "quantization" int8/q4) in DIR and map them on the next
                        run instead of quantizing again; overrides the models' "quantized_cache"
        """

    let manifest: String
    let shard: String?
    let store: String?
    let quantizedCache: String?

    init(arguments: inout Arguments) throws {
        shard = try arguments.option("--shard")
        quantizedCache = try arguments.option("--quantized-cache")
        store = try arguments.option("--store")
        manifest = try arguments.requiredPositional("MANIFEST")
        try arguments.finish()
    }

    func run() throws {
        var manifest = try Manifest.load(URL(fileURLWithPath: self.manifest))
        if let store { manifest.store = URL(fileURLWithPath: store).standardizedFileURL }
        if let quantizedCache {
            for i in manifest.models.indices { manifest.models[i].quantizedCache = URL(fileURLWithPath: quantizedCache).standardizedFileURL }
        }
        let shard = try self.shard.map { try Shard(parsing: $0, defaultCount: manifest.shards) } ?? .whole
        try Pipeline.extract(manifest, shard: shard, backends: RealBackends())
    }
}
