import Foundation

/// Shared by every fuzz entry point: a scratch file per process that the loaders under test read, since they
/// take a URL (as users give them one). Writing a few kilobytes per input costs microseconds.
enum FuzzScratch {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("moee-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `bytes` to `name` inside the scratch directory and returns its URL.
    static func write(_ bytes: UnsafeRawBufferPointer, name: String) -> URL {
        let url = directory.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        return url
    }

    /// The folder named by the environment variable `key` (set by scripts/fuzz.sh), or a clear stop.
    static func folder(_ key: String) -> URL {
        guard let path = ProcessInfo.processInfo.environment[key] else {
            FileHandle.standardError.write(Data("fuzz harness: set \(key) (scripts/fuzz.sh does)\n".utf8))
            exit(2)
        }
        return URL(fileURLWithPath: path)
    }
}

extension UnsafeRawBufferPointer {
    init(fuzzInput data: UnsafePointer<UInt8>?, _ size: Int) {
        self.init(start: data.map(UnsafeRawPointer.init), count: size)
    }
}
