import Foundation
@testable import Store

/// Arbitrary bytes as a stored tensor blob. A 64-bit checksum guards the payload, which a fuzzer cannot
/// guess, so when the header parses the harness writes the right checksum into a copy and decodes that too:
/// both the checksum check and the LZ4/shuffle/dtype paths behind it get exercised. Decoding must throw a
/// TensorCodecError or give the header's element count.
nonisolated(unsafe) let fuzzDecoder = TensorDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlobDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var blob = [UInt8](UnsafeRawBufferPointer(fuzzInput: data, size))
    _ = try? fuzzDecoder.decode(blob)
    guard let header = blob.withUnsafeBytes({ try? TensorHeader.parse($0) }) else { return 0 }
    let checksum = blob.withUnsafeBytes { TensorHeader.computeChecksum($0, headerLength: header.headerLength) }
    withUnsafeBytes(of: checksum.littleEndian) { bytes in
        for (offset, byte) in bytes.enumerated() { blob[header.headerLength - 8 + offset] = byte }
    }
    if let values = try? fuzzDecoder.decode(blob) {
        precondition(values.count == header.elementCount, "decoded count")
    }
    return 0
}
