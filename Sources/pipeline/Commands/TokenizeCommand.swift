import Extract
import Foundation

/// `pipeline tokenize --model DIR [--no-special]` (SPEC.md §3): JSON strings in on stdin, one per line; the token
/// ids of each out on stdout as a JSON array, one per line, in the same order.
struct TokenizeCommand: Command {
    static let path = ["tokenize"]
    static let abstract = "token ids of JSON-string lines read on stdin"
    static let help = """
        Usage: pipeline tokenize --model DIR [--no-special]

        Reads texts from standard input, one JSON string per line (e.g. "Hello\\nworld"), and writes the token
        ids of each as a JSON array on its own line of standard output, in input order.

        Options:
          --model DIR     a model folder with tokenizer.json (and tokenizer_config.json,
                          special_tokens_map.json when present)
          --no-special    do not add the special tokens the tokenizer adds (BOS/EOS); special-token
                          text inside a text is still matched as that token

        Exit status: 0 success; 1 a missing or invalid tokenizer, or a line that is not a JSON string
        (the message names the line; the lines before it are written); 2 a usage error.
        """

    let model: URL
    let addSpecialTokens: Bool

    init(arguments: inout Arguments) throws {
        model = URL(fileURLWithPath: try arguments.requiredOption("--model"))
        addSpecialTokens = !arguments.flag("--no-special")
        try arguments.finish()
    }

    func run() throws {
        let tokenizer = try Tokenizer(directory: model)
        let output = FileHandle.standardOutput
        var batch: [String] = []
        // Texts are encoded in batches spread over the cores; output order is input order.
        func flush() {
            guard !batch.isEmpty else { return }
            let lines = tokenizer.encode(batch: batch, addSpecialTokens: addSpecialTokens).map(JSONLinesIO.jsonArray)
            output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            batch.removeAll(keepingCapacity: true)
        }
        do {
            try JSONLinesIO.forEachLine(of: FileHandle.standardInput) { line, number in
                batch.append(try JSONLinesIO.text(ofJSONLine: line, number: number))
                if batch.count == 256 { flush() }
            }
        } catch let error as JSONLinesIO.LineError {
            flush()
            throw ExitStatus(code: 1, description: "error: stdin \(error)")
        }
        flush()
    }
}
