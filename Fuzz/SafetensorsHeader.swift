import Foundation
@testable import Extract

/// Arbitrary bytes as a .safetensors file: the header must be refused with an error or every tensor it
/// describes must be readable inside the mapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensorsHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let url = FuzzScratch.write(UnsafeRawBufferPointer(fuzzInput: data, size), name: "input.safetensors")
    guard let file = try? SafetensorsFile(url: url) else { return 0 }
    for name in file.names {
        guard let info = try? file.info(name) else { continue }
        let bytes = file.bytes(of: info)
        precondition(bytes.count == info.byteRange.count, "tensor \(name) bytes")
        if info.elementCount <= 1 << 16 { _ = try? file.floats(name) }
    }
    return 0
}
