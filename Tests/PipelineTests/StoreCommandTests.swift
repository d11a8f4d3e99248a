import Foundation
import Testing
import TestSupport
@testable import Store

/// The `pipeline store ...` commands, end to end.
@Suite struct StoreCommandTests {
    static let generator = SyntheticRecords(hiddenLayers: 3, hiddenSize: 16, routerLayers: [0, 1], experts: 4, seed: 2)

    static func makeStore(_ path: String, records: Range<Int>) throws {
        let store = try EmbeddingStore(path: path)
        let model = try store.register(generator.model), prompt = try store.register(generator.prompt)
        try store.put(records.map(generator.record), model: model, prompt: prompt)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func statsAndVerifyOnAGoodStore() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("a.sqlite").path
        try Self.makeStore(path, records: 0..<7)
        let stats = try PipelineProcess.run(["store", "stats", path])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("7 records"))
        #expect(stats.stdout.contains("router_logits | F32+shuffle+LZ4 | 14 | 112 | 448"))
        let verify = try PipelineProcess.run(["store", "verify", path])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("ok: 7 records, 56 blobs decoded"))
    }

    @Test func verifyExitsOneListingTheDamagedKey() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("a.sqlite").path
        try Self.makeStore(path, records: 0..<4)
        let db = try SQLiteDatabase(path: path, readOnly: false, create: false)
        // Truncate one blob: the kind of damage a bad copy does.
        try db.execute("UPDATE router_logits SET tensor = substr(tensor, 1, length(tensor) - 9) WHERE text_id = 2 AND pooling = 'last'")
        let verify = try PipelineProcess.run(["store", "verify", path])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains(Self.generator.text(1)))
        #expect(verify.stdout.contains("router_logits last: blob truncated"))
        #expect(verify.stderr.contains("1 problems in 4 records"))
    }

    @Test func badInputExitsOneNamingTheFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let notSQLite = directory.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notSQLite))
        for command in [["store", "stats", notSQLite], ["store", "verify", notSQLite]] {
            let result = try PipelineProcess.run(command)
            #expect(result.status == 1)
            #expect(result.stderr.contains("\(notSQLite): not a SQLite database"))
        }
        let absent = directory.appendingPathComponent("absent.sqlite").path
        #expect(try PipelineProcess.run(["store", "verify", absent]).stderr.contains("\(absent): no such store"))
        #expect(try PipelineProcess.run(["store", "verify"]).status == 2)
        #expect(try PipelineProcess.run(["store", "merge", absent]).status == 2)
    }

    @Test func mergeCommandIsIdempotent() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = directory.appendingPathComponent("a.sqlite").path, b = directory.appendingPathComponent("b.sqlite").path
        let out = directory.appendingPathComponent("out.sqlite").path
        try Self.makeStore(a, records: 0..<5)
        try Self.makeStore(b, records: 3..<9)
        for _ in 0..<2 {
            let merge = try PipelineProcess.run(["store", "merge", out, a, b])
            #expect(merge.status == 0)
            #expect(merge.stdout.contains("9 records"))
        }
        #expect(try PipelineProcess.run(["store", "verify", out]).status == 0)
    }
}

/// Kills the writer with SIGKILL at random moments; after each kill the store must be sound, every committed
/// record intact, and writing must resume.
@Suite struct StoreCrashTests {
    /// The shape `pipeline store _write-loop` writes by default.
    static let generator = SyntheticRecords(hiddenLayers: 5, hiddenSize: 64, routerLayers: [0, 1, 2, 3], experts: 8, seed: 1)

    @Test func killedWritersNeverCorruptTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moee-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("crash.sqlite").path
        var random = SystemRandomNumberGenerator()
        var counts: [Int] = []
        for round in 0..<6 {
            let writer = Process()
            writer.executableURL = PipelineProcess.executable
            writer.arguments = ["store", "_write-loop", path, "--batch", "8"]
            writer.standardOutput = FileHandle.nullDevice
            writer.standardError = FileHandle.nullDevice
            try writer.run()
            // The first round must get past creating the store (polled: sanitizer builds start slowly); later
            // ones die at any moment.
            if round == 0 {
                var polls = 0
                while polls < 600, ((try? EmbeddingStore(path: path, readOnly: true).recordCount()) ?? 0) == 0 {
                    usleep(50_000)
                    polls += 1
                }
            } else {
                usleep(UInt32.random(in: 50_000...500_000, using: &random))
            }
            kill(writer.processIdentifier, SIGKILL)
            writer.waitUntilExit()
            #expect(writer.terminationReason == .uncaughtSignal, "the writer ended before it was killed (round \(round))")
            counts.append(try checkStore(path))
        }
        // Writing resumed after every kill: the store grew, and a final run completes the next records.
        #expect(counts.last ?? 0 > counts.first ?? 0, "records after each kill: \(counts)")
        let target = (counts.last ?? 0) + 20
        let finish = try PipelineProcess.run(["store", "_write-loop", path, "--count", "\(target)"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(try checkStore(path) == target)
    }

    /// integrity_check, `store verify`, and every stored record equal to the generator's; returns the count.
    private func checkStore(_ path: String) throws -> Int {
        let db = try SQLiteDatabase(path: path, readOnly: true, create: false)
        #expect(try db.scalarText("PRAGMA integrity_check") == "ok")
        let verify = try PipelineProcess.run(["store", "verify", path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        let store = try EmbeddingStore(path: path, readOnly: true)
        let count = try store.recordCount()
        let model = try store.register(Self.generator.model), prompt = try store.register(Self.generator.prompt)
        // Batches commit in order, so the stored records are exactly 0..<count.
        let expectedTexts = (0..<count).map(Self.generator.text)
        #expect(try store.missingTexts(model: model, prompt: prompt, texts: expectedTexts).isEmpty)
        for index in 0..<count {
            let written = Self.generator.record(index)
            guard let read = try store.record(model: model, prompt: prompt, text: written.text) else {
                Issue.record("record \(index) is missing")
                continue
            }
            var expected = written
            // Hidden states are stored as F16: what was written is the F16 rounding of the generator's values.
            for pooling in Pooling.allCases {
                expected.hiddenStates[pooling] = written.hiddenStates[pooling]?.map { Float(Float16($0)) }
            }
            #expect(read.hiddenStates.mapValues { $0.map(\.bitPattern) } == expected.hiddenStates.mapValues { $0.map(\.bitPattern) })
            #expect(read.routerLogits.mapValues { $0.map(\.bitPattern) } == expected.routerLogits.mapValues { $0.map(\.bitPattern) })
            #expect(read.tokenCount == written.tokenCount && read.truncated == written.truncated)
        }
        return count
    }
}
