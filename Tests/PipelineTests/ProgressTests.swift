import Foundation
import Testing
@testable import pipeline

@Suite struct ProgressTests {
    @Test func plainLineFormat() {
        let s = ProgressReporter.Snapshot(done: 120, total: 537, tokens: 5800, elapsed: 4)
        #expect(ProgressReporter.line(label: "extract", s)
                == "extract: 120/537 texts (22.3%), 1450 tokens/s, elapsed 0:00:04, ETA 0:00:14")
    }

    @Test func barFormat() {
        let s = ProgressReporter.Snapshot(done: 50, total: 100, tokens: 1000, elapsed: 10)
        #expect(ProgressReporter.bar(label: "extract", s, width: 10) == "extract [#####.....] 50/100  100 tok/s  ETA 0:00:10")
    }

    @Test func etaFollowsTokensWhenTheirTotalIsKnown() {
        // Half the tokens in 10 s: 10 s left, although only a quarter of the texts (the longest) are done.
        let s = ProgressReporter.Snapshot(done: 25, total: 100, tokens: 500, elapsed: 10, totalTokens: 1000)
        #expect(s.eta == 10)
    }

    @Test func etaIsUnknownBeforeTheFirstText() {
        let s = ProgressReporter.Snapshot(done: 0, total: 10, tokens: 0, elapsed: 3)
        #expect(ProgressReporter.line(label: "x", s).hasSuffix("ETA ?"))
        #expect(ProgressReporter.duration(3725) == "1:02:05")
    }

    /// A fake clock: plain lines come every `interval` seconds, not on every batch.
    @Test func plainLinesAreThrottled() {
        final class Box: @unchecked Sendable { var now = 0.0; var lines: [String] = [] }
        let box = Box()
        let progress = ProgressReporter(label: "extract", total: 100, isTerminal: false, interval: 5,
                                write: { box.lines.append($0) }, clock: { box.now })
        for _ in 0..<10 {
            box.now += 1
            progress.advance(texts: 10, tokens: 100)
        }
        progress.finish()
        #expect(box.lines.count == 3)  // at 5 s, at 10 s, and the final line
        #expect(box.lines.last == "extract: 100/100 texts (100.0%), 100 tokens/s, elapsed 0:00:10, ETA 0:00:00\n")
    }

    @Test func terminalBarRedrawsInPlace() {
        final class Box: @unchecked Sendable { var now = 0.0; var out = "" }
        let box = Box()
        let progress = ProgressReporter(label: "e", total: 2, isTerminal: true, write: { box.out += $0 }, clock: { box.now })
        box.now = 1
        progress.advance(texts: 1, tokens: 5)
        progress.finish()
        #expect(box.out.hasPrefix("\r\u{1B}[K"))
        #expect(box.out.hasSuffix("\n"))
    }
}
