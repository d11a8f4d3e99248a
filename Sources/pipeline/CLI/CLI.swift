import Foundation

/// Dispatches `pipeline WORDS...` to the command whose path is the longest prefix of WORDS.
enum CLI {
    static func main(_ argv: [String]) -> Int32 {
        let words = Array(argv.dropFirst())
        if words.isEmpty || words == ["--help"] || words == ["-h"] || words == ["help"] {
            print(overview)
            return words.isEmpty ? 2 : 0
        }
        let candidates = allCommands
            .filter { words.starts(with: $0.path) }
            .sorted { $0.path.count > $1.path.count }
        guard let command = candidates.first else {
            // A group name alone (`pipeline store`) lists its subcommands.
            let group = allCommands.filter { $0.path.starts(with: words) }
            if !group.isEmpty {
                print(group.map { "  \($0.path.joined(separator: " ").padding(toLength: 22, withPad: " ", startingAt: 0)) \($0.abstract)" }.joined(separator: "\n"))
                return 2
            }
            FileHandle.standardError.write(Data("pipeline: unknown command '\(words.joined(separator: " "))'\n\n\(overview)\n".utf8))
            return 2
        }
        var rest = Array(words.dropFirst(command.path.count))
        if rest.contains("--help") || rest.contains("-h") {
            print(command.help)
            return 0
        }
        let name = "pipeline " + command.path.joined(separator: " ")
        do {
            var arguments = Arguments(rest)
            let instance = try command.init(arguments: &arguments)
            rest = []
            try instance.run()
            return 0
        } catch let error as UsageError {
            stderr("\(name): \(error.description)\nRun '\(name) --help' for usage.")
            return 2
        } catch let error as ExitStatus {
            stderr("\(name): \(error.description)")
            return error.code
        } catch {
            stderr("\(name): error: \(error)")
            return 1
        }
    }

    static var overview: String {
        var lines = [
            "pipeline: Mixture-of-Experts LLMs as embedding models (MoEE), as a two-stage batch pipeline.",
            "",
            "Usage: pipeline COMMAND [ARGUMENTS] (every command takes --help)",
            "",
            "Commands:",
        ]
        for command in allCommands {
            let name = command.path.joined(separator: " ")
            lines.append("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(command.abstract)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Writes one line to standard error.
func stderr(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
