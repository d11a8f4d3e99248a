import Foundation
@testable import Extract

/// Arbitrary bytes as config.json: decoding must throw a ConfigError naming the key, or give a validated spec,
/// without allocating from a claimed size (a 1e9 num_hidden_layers once allocated 48 GB here).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = try? Architectures.spec(config: Data(UnsafeRawBufferPointer(fuzzInput: data, size)), file: "config.json")
    return 0
}
