import Foundation
import Testing
@testable import Store

/// Inputs found by scripts/fuzz.sh (BlobDecoder) and hostile blobs (issue 7): each is refused with a
/// TensorCodecError, without trapping and without allocating from the claimed shape.
@Suite struct RegressionFuzzTests {
    /// Rank 3, shape [0xff000012, 0xffffffff, 0x0011ffff]: the element count overflowed Int (a trap) before
    /// the store bounded it.
    @Test func shapeWhoseElementCountOverflowsIsRefused() {
        let blob: [UInt8] = [
            0x4d, 0x54, 0x01, 0x01, 0x00, 0x03, 0x08, 0x00, 0x12, 0x00, 0x00, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40,
        ]
        #expect(throws: TensorCodecError.self) { _ = try TensorDecoder().decode(blob) }
    }

    /// A 10-byte LZ4 payload claiming 2^28 F32 values (1 GB): refused from the header alone.
    @Test func compressedPayloadClaimingAHugeShapeIsRefusedBeforeAllocating() {
        var blob: [UInt8] = [0x4d, 0x54, 0x01, 0x01, 0x02, 0x01, 0x00, 0x00]
        blob += withUnsafeBytes(of: UInt32(1 << 28).littleEndian, Array.init)
        blob += withUnsafeBytes(of: UInt32(10).littleEndian, Array.init)
        blob += [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0, count: 10)
        do {
            _ = try TensorHeader.parse(blob.withUnsafeBytes { UnsafeRawBufferPointer($0) })
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("cannot hold"), "\(error)")
        }
    }

    /// The bound never refuses what the encoder writes: a million zeros compress about 255x and still decode.
    @Test func highlyCompressibleTensorsStillDecode() throws {
        let values = [Float](repeating: 0, count: 1 << 20)
        for codec in [TensorCodec(dtype: .f32, shuffle: false), TensorCodec(dtype: .f32), TensorCodec(dtype: .bf16)] {
            let blob = try TensorEncoder(codec).encode(values, shape: [1 << 20])
            #expect(try TensorDecoder().decode(blob) == values)
        }
    }
}
