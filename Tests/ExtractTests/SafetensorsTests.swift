import Foundation
import Testing
@testable import Extract

/// The safetensors reader refuses every malformed header with a typed error naming the file (and tensor).
@Suite struct SafetensorsTests {
    /// A file from a raw header string and data size.
    private func file(header: String, data: Int = 16, length: UInt64? = nil, truncate: Int? = nil) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-st-\(UUID().uuidString).safetensors")
        var bytes = Data()
        withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data(header.utf8))
        bytes.append(Data(repeating: 0, count: data))
        if let truncate { bytes = bytes.prefix(truncate) }
        try bytes.write(to: url)
        return url
    }

    private func error(_ url: URL) -> CheckpointError? {
        defer { try? FileManager.default.removeItem(at: url) }
        do { _ = try SafetensorsFile(url: url); return nil } catch { return error as? CheckpointError }
    }

    @Test func writerRoundTrips() throws {
        var writer = SafetensorsWriter(metadata: ["k": "v"])
        writer.add(.init(name: "b", floats: [1, -2.5, 3], shape: [3]))
        writer.add(.init(name: "a", int64s: [7, -8], shape: [2]))
        writer.add(.init(name: "h", floats: [1.5, -0.25], shape: [1, 2], as: .bf16))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-rt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        let file = try SafetensorsFile(url: url)
        #expect(try file.floats("b") == [1, -2.5, 3])
        #expect(try file.integers("a") == [7, -8])
        #expect(try file.floats("h") == [1.5, -0.25])
        #expect(file.metadata == ["k": "v"])
        #expect((8 + file.headerLength) % 8 == 0)
    }

    @Test func truncatedFileIsRefused() throws {
        let tooShort = try file(header: "{}", truncate: 5)
        guard case .badHeader? = error(tooShort) else { Issue.record("expected badHeader"); return }
        let cut = try file(header: #"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8)
        guard case let .badTensor(_, tensor, reason)? = error(cut) else { Issue.record("expected badTensor"); return }
        #expect(tensor == "t" && reason.contains("outside"))
    }

    @Test func hugeHeaderLengthIsRefused() throws {
        let huge = try file(header: "{}", length: UInt64(1) << 60)
        guard case let .badHeader(_, reason)? = error(huge) else { Issue.record("expected badHeader"); return }
        #expect(reason.contains("limit"))
        let pastEnd = try file(header: "{}", length: 10_000)
        guard case let .badHeader(_, reason2)? = error(pastEnd) else { Issue.record("expected badHeader"); return }
        #expect(reason2.contains("past the end"))
    }

    @Test func invalidJSONIsRefused() throws {
        guard case let .badHeader(_, reason)? = error(try file(header: "{not json")) else { Issue.record("expected badHeader"); return }
        #expect(reason.contains("JSON"))
        guard case .badHeader? = error(try file(header: "[1,2]")) else { Issue.record("expected badHeader"); return }
    }

    @Test func offsetsOutsideTheFileAreRefused() throws {
        let url = try file(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}}"#)
        guard case let .badTensor(_, tensor, _)? = error(url) else { Issue.record("expected badTensor"); return }
        #expect(tensor == "t")
        let reversed = try file(header: #"{"t":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#)
        guard case .badTensor? = error(reversed) else { Issue.record("expected badTensor"); return }
    }

    @Test func overlappingTensorsAreRefused() throws {
        let url = try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#)
        guard case let .overlappingTensors(_, first, second)? = error(url) else { Issue.record("expected overlap"); return }
        #expect(Set([first, second]) == ["a", "b"])
    }

    @Test func byteSizeMustMatchShapeTimesDType() throws {
        let url = try file(header: #"{"t":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,16]}}"#)
        guard case let .badTensor(_, tensor, reason)? = error(url) else { Issue.record("expected badTensor"); return }
        #expect(tensor == "t" && reason.contains("needs 12"))
        let unknown = try file(header: #"{"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}"#)
        guard case let .badTensor(_, _, reason2)? = error(unknown) else { Issue.record("expected badTensor"); return }
        #expect(reason2.contains("unknown dtype"))
    }

    @Test func errorsNameTheFile() throws {
        let url = try file(header: "{bad")
        let path = url.path
        let message = error(url)?.description ?? ""
        #expect(message.contains(path))
    }
}
