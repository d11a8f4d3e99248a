import Foundation
import Testing
import TestSupport
@testable import Extract

/// The fixtures vendored in Tests/Fixtures/models are what the parity tests compare against in a clone without
/// ../shared, so they must be the shared reference fixtures, byte for byte, and every one must be there.
@Suite struct VendoredFixtureTests {
    static let files = ["config.json", "model.safetensors", "expected.safetensors", "expected-unpadded.safetensors"]

    @Test(arguments: Fixtures.names) func everyFixtureIsVendoredWhole(name: String) throws {
        for file in Self.files {
            let url = FixtureModels.url(name).appendingPathComponent(file)
            #expect(FileManager.default.fileExists(atPath: url.path), "missing \(url.path)")
        }
        // Loads, so a truncated copy cannot pass for one.
        _ = try SafetensorsFile(url: FixtureModels.url(name).appendingPathComponent("expected.safetensors"))
    }

    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)), arguments: Fixtures.sharedNames)
    func vendoredCopiesEqualTheSharedFixtures(name: String) throws {
        let shared = SharedData.url("fixtures/models/\(name)")
        let sharedFiles = try FileManager.default.contentsOfDirectory(atPath: shared.path).sorted()
        let vendoredFiles = try FileManager.default.contentsOfDirectory(atPath: FixtureModels.url(name).path).sorted()
        #expect(vendoredFiles == sharedFiles, "\(name): the vendored folder lists other files than ../shared's")
        for file in sharedFiles {
            let a = try Data(contentsOf: shared.appendingPathComponent(file))
            let b = try Data(contentsOf: FixtureModels.url(name).appendingPathComponent(file))
            #expect(a == b, "\(name)/\(file) differs from ../shared/fixtures/models/\(name)/\(file): copy it again")
        }
    }
}
