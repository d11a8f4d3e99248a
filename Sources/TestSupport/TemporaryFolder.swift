import Foundation

/// A fresh folder under the system's temporary directory, deleted with its contents when the value holding it
/// goes away. Swift Testing makes one suite value per test, so a suite that keeps one of these in a stored
/// property gets a clean folder per test and leaves nothing behind in /tmp.
public final class TemporaryFolder: Sendable {
    public let url: URL

    public init(prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}
