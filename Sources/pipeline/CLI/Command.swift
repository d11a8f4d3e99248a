import Foundation

/// One subcommand of `pipeline`, shaped like swift-argument-parser: parse and validate in `init`, work in `run`.
///
/// `init(arguments:)` throws `UsageError` for anything wrong with the command line (exit status 2);
/// `run()` throws any other error for a failure of the work (exit status 1). Results go to stdout,
/// errors and progress to stderr.
protocol Command: Sendable {
    /// The words that select the command, e.g. `["store", "stats"]`.
    static var path: [String] { get }
    /// One line for the command list.
    static var abstract: String { get }
    /// The full `--help` text: usage line, arguments, options.
    static var help: String { get }

    init(arguments: inout Arguments) throws
    func run() throws
}

/// Raised for a malformed command line; the CLI prints it with the command's usage and exits 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A failure that carries its own exit status (e.g. 130 after Ctrl-C).
struct ExitStatus: Error, CustomStringConvertible {
    let code: Int32
    let description: String
}

/// The words after the command's path, consumed by the command's `init`.
///
/// Options are `--name value` or `--name=value`; flags are `--name`; everything else is positional.
/// `finish()` rejects whatever the command did not consume, so a typo never passes silently.
struct Arguments {
    private var words: [String]

    init(_ words: [String]) { self.words = words }

    /// Removes `--name` and reports whether it was present.
    mutating func flag(_ name: String) -> Bool {
        guard let index = words.firstIndex(of: name) else { return false }
        words.remove(at: index)
        return true
    }

    /// Removes `--name value` (or `--name=value`) and returns the value, nil when absent.
    mutating func option(_ name: String) throws -> String? {
        if let index = words.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            let value = String(words[index].dropFirst(name.count + 1))
            words.remove(at: index)
            return value
        }
        guard let index = words.firstIndex(of: name) else { return nil }
        guard index + 1 < words.count, !words[index + 1].hasPrefix("--") else {
            throw UsageError("option \(name) needs a value")
        }
        let value = words[index + 1]
        words.removeSubrange(index...(index + 1))
        return value
    }

    /// Like `option`, but required.
    mutating func requiredOption(_ name: String) throws -> String {
        guard let value = try option(name) else { throw UsageError("missing required option \(name)") }
        return value
    }

    /// An integer option, with a usage error naming the option when it is not a whole number.
    mutating func intOption(_ name: String) throws -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text) else { throw UsageError("option \(name) takes a whole number, not '\(text)'") }
        return value
    }

    /// Removes and returns the next positional argument (one not starting with `--`).
    mutating func positional() -> String? {
        guard let index = words.firstIndex(where: { !$0.hasPrefix("--") || $0 == "-" }) else { return nil }
        return words.remove(at: index)
    }

    /// Like `positional`, naming the argument in the usage error.
    mutating func requiredPositional(_ name: String) throws -> String {
        guard let value = positional() else { throw UsageError("missing argument \(name)") }
        return value
    }

    /// Every remaining positional argument.
    mutating func remainingPositionals() -> [String] {
        var all: [String] = []
        while let next = positional() { all.append(next) }
        return all
    }

    /// Fails on anything left over: an unknown option or an extra argument.
    func finish() throws {
        guard let first = words.first else { return }
        if first.hasPrefix("--") { throw UsageError("unknown option \(first)") }
        throw UsageError("unexpected argument '\(first)'")
    }
}
