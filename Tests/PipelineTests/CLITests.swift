import Foundation
import Testing
import TestSupport

@Suite struct CLITests {
    @Test func helpListsCommandsAndExitsZero() throws {
        let result = try PipelineProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Commands:"))
    }

    @Test func unknownCommandIsAUsageError() throws {
        let result = try PipelineProcess.run(["no-such-command"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown command 'no-such-command'"))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let result = try PipelineProcess.run(["version", "--bogus"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("unknown option --bogus"))
    }
}
