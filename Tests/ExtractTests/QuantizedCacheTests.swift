import Foundation
import Testing
import TestSupport
@testable import Extract

/// The on-disk cache of quantized weights: written once, mapped after, identical outputs; unusable files rebuilt.
@Suite
struct QuantizedCacheTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-qcache-\(UUID().uuidString)")
    }

    func run(_ name: String, _ format: Quantization, cache: URL?) throws -> (ForwardOutput, MoEModel) {
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let model = try MoEModel.load(directory: Fixtures.url(name), options: .init(quantize: format, quantizedCache: cache))
        let output = try model.forward(inputIDs: try Fixtures.matrix(expected, "input_ids"),
                                       attentionMask: try Fixtures.matrix(expected, "attention_mask"))
        return (output, model)
    }

    @Test(arguments: [("deepseekmoe-tiny", Quantization.q4), ("olmoe-tiny", .int8)])
    func writtenOnceThenMappedWithIdenticalOutputs(_ name: String, _ format: Quantization) throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let (plain, _) = try run(name, format, cache: nil)
        let (first, written) = try run(name, format, cache: folder)
        let url = QuantizedCache.url(directory: folder, fingerprint: written.fingerprint, format: format)
        #expect(written.quantizedCacheStatus == .written(url))
        let (second, mapped) = try run(name, format, cache: folder)
        #expect(mapped.quantizedCacheStatus == .loaded(url))
        #expect(mapped.weightBytes == written.weightBytes)
        #expect(first.hiddenStates == plain.hiddenStates && second.hiddenStates == plain.hiddenStates)
        #expect(second.routerLogits == plain.routerLogits)
        // The token embedding is in the file when quantized (q4: int8; since format version 2).
        let head = String(decoding: try Data(contentsOf: url).prefix(4096), as: UTF8.self)
        #expect(head.contains(#""name":"embedding""#) == (format.embeddingFormat != .none), "\(head.prefix(300))")
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [url.lastPathComponent])
    }

    @Test func unusableFilesAreRebuiltWithAReasonNamingTheFile() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let (plain, model) = try run("olmoe-tiny", .q4, cache: folder)
        let url = QuantizedCache.url(directory: folder, fingerprint: model.fingerprint, format: .q4)
        let good = try Data(contentsOf: url)
        var flipped = good
        flipped[flipped.count - 100] ^= 0x55
        var otherVersion = good, versionTwo = good
        otherVersion[8] = 99
        versionTwo[8] = 2  // written with a BF16 scale per q4 group: rebuilt
        let cases: [(Data, String)] = [
            (good.prefix(good.count / 2), "truncated"), (flipped, "checksum mismatch"), (Data("nonsense".utf8), "truncated"),
            (otherVersion, "format version 99"), (versionTwo, "format version 2, this build reads 3"), (Data(count: 64), "bad magic"),
        ]
        for (bytes, reason) in cases {
            try bytes.write(to: url)
            let (output, rebuilt) = try run("olmoe-tiny", .q4, cache: folder)
            guard case let .rebuilt(file, message) = rebuilt.quantizedCacheStatus else {
                Issue.record("\(reason): \(rebuilt.quantizedCacheStatus)")
                continue
            }
            #expect(file == url)
            #expect(message.contains(url.path) && message.contains(reason), "\(message)")
            #expect(rebuilt.quantizedCacheStatus.warning?.contains("quantized again") == true)
            #expect(output.hiddenStates == plain.hiddenStates)
            #expect(try Data(contentsOf: url) == good, "\(reason): rewritten as before")
        }
        // Another checkpoint's file under this one's name.
        let (_, other) = try run("mixtral-tiny", .q4, cache: folder)
        let otherURL = QuantizedCache.url(directory: folder, fingerprint: other.fingerprint, format: .q4)
        try FileManager.default.removeItem(at: url)
        try FileManager.default.copyItem(at: otherURL, to: url)
        let (_, mismatched) = try run("olmoe-tiny", .q4, cache: folder)
        guard case let .rebuilt(_, message) = mismatched.quantizedCacheStatus else {
            Issue.record("fingerprint: \(mismatched.quantizedCacheStatus)")
            return
        }
        #expect(message.contains("written for checkpoint \(other.fingerprint)"))
    }

    @Test func anUnwritableFolderLeavesAWorkingModel() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("a file, not a folder".utf8).write(to: folder)
        let (output, model) = try run("qwen3moe-tiny", .q4, cache: folder.appendingPathComponent("sub"))
        guard case let .notWritten(_, reason) = model.quantizedCacheStatus else {
            Issue.record("\(model.quantizedCacheStatus)")
            return
        }
        #expect(reason.contains("cannot create"))
        #expect(output.hiddenStates == (try run("qwen3moe-tiny", .q4, cache: nil)).0.hiddenStates)
    }

    @Test func staleTemporariesOfDeadWritersAreRemoved() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        let url = QuantizedCache.url(directory: folder, fingerprint: model.fingerprint, format: .q4)
        // pid_max is at most 2^22 on Linux: this pid cannot be running.
        let stale = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-99999999")
        try Data("half a file".utf8).write(to: stale)
        _ = try run("olmoe-tiny", .q4, cache: folder)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: url.path))
    }
}
