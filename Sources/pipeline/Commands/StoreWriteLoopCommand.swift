import Store

/// `pipeline store _write-loop DB`: the crash test's writer (internal).
struct StoreWriteLoopCommand: Command {
    static let path = ["store", "_write-loop"]
    static let abstract = "(internal, for the crash test) write deterministic records in a loop"
    static let help = """
        Usage: pipeline store _write-loop DB [--batch N] [--count N] [--hidden-layers N] [--hidden-size N]
                                             [--moe-layers N] [--experts N] [--seed N]

        Internal: writes the deterministic synthetic records 0, 1, 2, ... into DB, --batch per transaction
        (default 8), skipping those already stored, until --count records exist (default: forever). The crash
        test kills it with SIGKILL and checks that every committed record is intact.
        """

    let database: String
    let batch: Int
    let count: Int?
    let generator: SyntheticRecords

    init(arguments: inout Arguments) throws {
        database = try arguments.requiredPositional("DB")
        batch = try arguments.intOption("--batch") ?? 8
        count = try arguments.intOption("--count")
        let layers = try arguments.intOption("--hidden-layers") ?? 5
        let size = try arguments.intOption("--hidden-size") ?? 64
        let moe = try arguments.intOption("--moe-layers") ?? 4
        let experts = try arguments.intOption("--experts") ?? 8
        let seed = try arguments.intOption("--seed") ?? 1
        guard batch > 0, layers > 0, size > 0, moe > 0, experts > 0, seed >= 0 else {
            throw UsageError("--batch and the shape options must be positive")
        }
        generator = SyntheticRecords(hiddenLayers: layers, hiddenSize: size, routerLayers: Array(0..<moe),
                                     experts: experts, seed: UInt64(seed))
        try arguments.finish()
    }

    func run() throws {
        try EmbeddingStore.writeLoop(path: database, generator: generator, batch: batch, count: count,
                                     options: StoreOptions(exclusiveWriter: true))
    }
}
