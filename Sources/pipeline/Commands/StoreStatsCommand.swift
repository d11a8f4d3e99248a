import Store

/// `pipeline store stats DB`: counts, and bytes raw vs stored per tensor kind.
struct StoreStatsCommand: Command {
    static let path = ["store", "stats"]
    static let abstract = "records per model/prompt, bytes raw vs stored, compression ratio"
    static let help = """
        Usage: pipeline store stats DB

        Prints the models, prompts, texts and records of the store DB, the records per (model, prompt), and per
        tensor kind (hidden_states, router_logits) the codec, the number of blobs and values, the bytes the values
        take as float32, the bytes stored and their ratio. Opens DB read-only.
        """

    let database: String

    init(arguments: inout Arguments) throws {
        database = try arguments.requiredPositional("DB")
        try arguments.finish()
    }

    func run() throws {
        print(try EmbeddingStore(path: database, readOnly: true).stats().table)
    }
}
