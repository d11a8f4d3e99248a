import Extract
import Foundation

/// `pipeline inspect-model DIR`: the architecture summary from config.json alone (no weights needed).
struct InspectModelCommand: Command {
    static let path = ["inspect-model"]
    static let abstract = "print a model's architecture, parameter counts and sizes from its config.json"
    static let help = """
        Usage: pipeline inspect-model DIR|CONFIG.json [--json]

        Reads DIR/config.json, or the config file named (weights are not needed), and prints the layers (which are MoE, which dense), experts,
        top-k, shared experts, hidden size, head layout, parameter counts (total and active, with and without the
        embeddings and lm_head) and bytes per dtype. When weights are present, also their bytes per dtype.

        Options:
          --json    print the summary as one JSON object
        """

    let directory: URL
    let json: Bool

    init(arguments: inout Arguments) throws {
        json = arguments.flag("--json")
        directory = URL(fileURLWithPath: try arguments.requiredPositional("DIR"))
        try arguments.finish()
    }

    func run() throws {
        let summary = try ModelSummary.inspect(directory: directory)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(summary.text)
        }
    }
}
