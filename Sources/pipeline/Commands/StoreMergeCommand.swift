import Store

/// `pipeline store merge OUT IN...`: copies stores into one.
struct StoreMergeCommand: Command {
    static let path = ["store", "merge"]
    static let abstract = "copy the records of stores IN... into OUT (idempotent)"
    static let help = """
        Usage: pipeline store merge OUT IN...

        Copies every model, prompt, text, record and tensor of the stores IN... into OUT (created when absent).
        What OUT already holds is kept, so merging twice changes nothing. One transaction per input. Refuses,
        before copying anything, when one model name and variant has different fingerprints in two of the files.
        Takes OUT's writer lock.
        """

    let output: String
    let inputs: [String]

    init(arguments: inout Arguments) throws {
        output = try arguments.requiredPositional("OUT")
        inputs = arguments.remainingPositionals()
        guard !inputs.isEmpty else { throw UsageError("missing argument IN (at least one store to merge)") }
        try arguments.finish()
    }

    func run() throws {
        try EmbeddingStore.merge(into: output, from: inputs)
        let store = try EmbeddingStore(path: output, readOnly: true)
        print("merged \(inputs.count) stores into \(output): \(try store.recordCount()) records")
    }
}
