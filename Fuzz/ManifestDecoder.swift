import Foundation
@testable import pipeline

/// Arbitrary bytes as a manifest (seeds: the real manifests with absolute demo paths, so models and tasks
/// resolve): must throw an error naming the key path, or give a manifest.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifestDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let url = FuzzScratch.write(UnsafeRawBufferPointer(fuzzInput: data, size), name: "manifest.json")
    _ = try? Manifest.load(url)
    return 0
}
