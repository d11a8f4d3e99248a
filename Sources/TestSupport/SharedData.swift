import Foundation

/// Where the test suites find `../shared` (real MTEB data, real configs, reference fixtures) and the built tool.
///
/// A user's clone has no `../shared`: tests that need it are skipped, and the reason is printed once.
/// CI never skips: `.ci/run` fails first when `../shared` is missing.
public enum SharedData {
    /// The repository root, found from this file's location (`Sources/TestSupport/SharedData.swift`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` beside the repository.
    public static let root: URL = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// Whether `../shared` exists; prints the skip line once when it does not.
    public static let available: Bool = {
        let exists = FileManager.default.fileExists(atPath: root.appendingPathComponent("SPEC.md").path)
        if !exists { FileHandle.standardError.write(Data((skipReason + "\n").utf8)) }
        return exists
    }()

    public static let skipReason =
        "SKIP: ../shared not found beside the repository; tests that need real data and reference fixtures are skipped"

    /// A path inside `../shared`, e.g. `url("fixtures/models/olmoe-tiny")`.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// A path inside the repository, e.g. `repository("manifests/demo.json")`.
    public static func repository(_ relative: String) -> URL { repositoryRoot.appendingPathComponent(relative) }
}

/// Runs the built `pipeline` executable, for end-to-end tests of the CLI contract.
public enum PipelineProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The `pipeline` binary built beside the test bundle.
    public static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [beside, beside.deletingLastPathComponent(),
                          SharedData.repositoryRoot.appendingPathComponent(".build/debug")] {
            let candidate = directory.appendingPathComponent("pipeline")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return SharedData.repositoryRoot.appendingPathComponent(".build/debug/pipeline")
    }

    /// A child that exits before reading all its stdin must not kill the test process with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Runs `pipeline ARGUMENTS` with optional standard input and waits for it.
    public static func run(_ arguments: [String], stdin: String? = nil,
                           environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        _ = ignoreBrokenPipes
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // Feed stdin and drain both pipes on their own threads, so a chatty child never blocks on a full pipe.
        // Raw read(2)/write(2) with EINTR retries: Foundation's readDataToEndOfFile traps on EINTR.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            let fd = pipe.fileHandleForReading.fileDescriptor
            DispatchQueue.global().async(group: group) { sink.set(readAll(fd)) }
        }
        let writer = input.fileHandleForWriting
        let bytes = Array((stdin ?? "").utf8)
        DispatchQueue.global().async(group: group) {
            writeAll(writer.fileDescriptor, bytes)
            try? writer.close()  // through FileHandle, so its deinit does not close the descriptor again
        }
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData.value, as: UTF8.self),
                      stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

private func readAll(_ fd: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
        if n < 0 && errno == EINTR { continue }
        return data
    }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n > 0 { offset += n; continue }
        if n < 0 && errno == EINTR { continue }
        return  // the child closed its stdin early (EPIPE): nothing more to deliver
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data ?? Data() } }
}
