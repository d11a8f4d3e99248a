import Foundation

/// Progress of a long job on stderr: texts done/total, tokens/s and ETA; a redrawn bar on a terminal, a plain
/// line every few seconds otherwise (logs of batch jobs stay readable).
final class ProgressReporter: @unchecked Sendable {
    struct Snapshot: Sendable, Equatable {
        var done: Int
        var total: Int
        var tokens: Int
        var elapsed: Double
        /// The tokens of all `total` texts, when known: the ETA then follows tokens, which is what the forward pass
        /// spends its time on (texts run longest first, so a rate in texts would overestimate the rest).
        var totalTokens: Int? = nil

        var tokensPerSecond: Double { elapsed > 0 ? Double(tokens) / elapsed : 0 }
        /// Seconds left at the average rate so far; nil before the first text.
        var eta: Double? {
            guard done > 0, elapsed > 0 else { return nil }
            if let totalTokens, tokens > 0 { return Double(max(0, totalTokens - tokens)) * elapsed / Double(tokens) }
            return Double(total - done) * elapsed / Double(done)
        }
    }

    private let label: String
    private let isTerminal: Bool
    private let interval: Double
    private let write: (String) -> Void
    private let clock: () -> Double
    private let lock = NSLock()
    private let start: Double
    private var lastDraw: Double
    private var snapshot: Snapshot

    /// - Parameters:
    ///   - isTerminal: draw a bar (true when stderr is a terminal) or print plain lines.
    ///   - interval: seconds between plain lines (the bar redraws at most 10 times a second).
    init(label: String, total: Int, totalTokens: Int? = nil, isTerminal: Bool = isatty(STDERR_FILENO) != 0, interval: Double = 5,
         write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
         clock: @escaping () -> Double = { Date().timeIntervalSinceReferenceDate }) {
        self.label = label
        self.isTerminal = isTerminal
        self.interval = interval
        self.write = write
        self.clock = clock
        start = clock()
        lastDraw = start
        snapshot = Snapshot(done: 0, total: total, tokens: 0, elapsed: 0, totalTokens: totalTokens)
    }

    /// Records `texts` more texts done, holding `tokens` tokens; redraws when it is time.
    func advance(texts: Int, tokens: Int) {
        lock.withLock {
            let now = clock()
            snapshot.done += texts
            snapshot.tokens += tokens
            snapshot.elapsed = now - start
            let due = isTerminal ? now - lastDraw >= 0.1 : now - lastDraw >= interval
            if due {
                lastDraw = now
                draw()
            }
        }
    }

    /// Draws the final state and ends the line.
    func finish() {
        lock.withLock {
            snapshot.elapsed = clock() - start
            draw()
            if isTerminal { write("\n") }
        }
    }

    var current: Snapshot { lock.withLock { snapshot } }

    private func draw() {
        if isTerminal {
            write("\r\u{1B}[K" + ProgressReporter.bar(label: label, snapshot))
        } else {
            write(ProgressReporter.line(label: label, snapshot) + "\n")
        }
    }

    // MARK: Formats

    /// `extract: 120/537 texts (22.3%), 1450 tokens/s, elapsed 0:00:04, ETA 0:00:14`
    static func line(label: String, _ s: Snapshot) -> String {
        let share = s.total > 0 ? Double(s.done) / Double(s.total) * 100 : 100
        return "\(label): \(s.done)/\(s.total) texts (\(String(format: "%.1f", share))%), "
            + "\(Int(s.tokensPerSecond.rounded())) tokens/s, elapsed \(duration(s.elapsed)), ETA \(s.eta.map(duration) ?? "?")"
    }

    /// `extract [#########...........]  120/537  1450 tok/s  ETA 0:00:14`
    static func bar(label: String, _ s: Snapshot, width: Int = 30) -> String {
        let fraction = s.total > 0 ? min(1, Double(s.done) / Double(s.total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] \(s.done)/\(s.total)  \(Int(s.tokensPerSecond.rounded())) tok/s  ETA \(s.eta.map(duration) ?? "?")"
    }

    /// `h:mm:ss`
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}
