import Foundation
import Testing
@testable import Store

@Suite struct TensorCodecTests {
    /// Values that exercise every path: signs, zeros, subnormals, huge, infinities, NaN with a payload.
    static let specialF32: [Float] = [
        0, -0.0, 1, -1, .pi, Float(bitPattern: 0x0001_2345), -Float(bitPattern: 0x0000_0007), .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity,
        Float(bitPattern: 0x7FC0_1234), 123456.789, -0.000123,
    ]

    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in random.gaussian() * 3 }
    }

    @Test(arguments: [false, true], [false, true])
    func f32RoundTripIsBitIdentical(shuffle: Bool, compress: Bool) throws {
        let values = Self.specialF32 + Self.randomValues(1000, seed: 7) + [Float](repeating: 0.5, count: 500)
        let encoder = TensorEncoder(TensorCodec(dtype: .f32, shuffle: shuffle, compress: compress))
        let blob = try encoder.encode(values, shape: [values.count])
        let decoded = try TensorDecoder().decode(blob, expectedShape: [values.count])
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
        let header = try blob.withUnsafeBytes { try TensorHeader.parse($0) }
        #expect(header.shuffled == shuffle)
        #expect(header.compressed == compress)  // the 500 repeated values always compress
        #expect(header.dtype == .f32)
    }

    @Test func shuffleChangesTheBytesButNotTheValues() throws {
        let values = Self.randomValues(256, seed: 3)
        for dtype in TensorDType.allCases {
            let plain = try TensorEncoder(TensorCodec(dtype: dtype, shuffle: false, compress: false)).encode(values, shape: [16, 16])
            let shuffled = try TensorEncoder(TensorCodec(dtype: dtype, shuffle: true, compress: false)).encode(values, shape: [16, 16])
            #expect(plain.count == shuffled.count)
            #expect(plain[40...] != shuffled[40...])
            #expect(try TensorDecoder().decode(plain).map(\.bitPattern) == TensorDecoder().decode(shuffled).map(\.bitPattern))
        }
    }

    /// Every binary16 value decodes exactly as the platform's Float16 does.
    @Test func f16DecodingIsExactForAll65536Values() {
        var mismatches = 0
        for bits in 0...0xFFFF {
            let ours = ElementConversion.halfToFloatBits(UInt16(bits))
            let reference = Float(Float16(bitPattern: UInt16(bits)))
            if reference.isNaN ? !Float(bitPattern: ours).isNaN : ours != reference.bitPattern { mismatches += 1 }
            if ElementConversion.halfTable[bits] != ours { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Round to nearest, ties to even, checked on known values (hand-computed bit patterns).
    @Test func f16RoundingKnownValues() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (0.1, 0x2E66), (65504, 0x7BFF), (65519.99, 0x7BFF), (65520, 0x7C00),
            (1 + 0x1p-11, 0x3C00),          // tie between 0x3C00 and 0x3C01: even wins
            (1 + 3 * 0x1p-11, 0x3C02),      // tie between 0x3C01 and 0x3C02: even wins
            (1 + 0x1p-11 + 0x1p-20, 0x3C01), // just above the tie
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (1.5 * 0x1p-25, 0x0001), (3 * 0x1p-25, 0x0002), // subnormal ties
            (0x1p-14, 0x0400), (-0.0, 0x8000), (.infinity, 0x7C00), (-.infinity, 0xFC00),
        ]
        for (value, expected) in cases {
            #expect(ElementConversion.floatToHalf(value) == expected, "\(value)")
        }
        #expect(ElementConversion.floatToHalf(.nan) & 0x7C00 == 0x7C00)
        #expect(ElementConversion.floatToHalf(.nan) & 0x03FF != 0)
    }

    /// Our F32 -> F16 agrees with the platform's Float16 conversion on a million spread-out values.
    @Test func f16RoundingAgreesWithFloat16() {
        var random = SplitMix64(seed: 11)
        var mismatches = 0
        for _ in 0..<1_000_000 {
            // Random bit patterns with exponents in and around the half range.
            let bits = UInt32(truncatingIfNeeded: random.next())
            let exponent = UInt32(97 + (bits >> 24) % 50) << 23  // 2^-30 ... 2^19
            let value = Float(bitPattern: (bits & 0x807F_FFFF) | exponent)
            if ElementConversion.floatToHalf(value) != Float16(value).bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func bf16RoundingKnownValues() throws {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (.pi, 0x4049), (-2, 0xC000),
            (1 + 0x1p-8, 0x3F80),            // tie: even wins
            (1 + 3 * 0x1p-8, 0x3F82),        // tie: even wins (up)
            (1 + 0x1p-8 + 0x1p-20, 0x3F81),  // above the tie
            (.infinity, 0x7F80), (-0.0, 0x8000),
        ]
        for (value, expected) in cases {
            #expect(ElementConversion.floatToBFloat(value) == expected, "\(value)")
        }
        #expect(Float(bitPattern: UInt32(ElementConversion.floatToBFloat(.nan)) << 16).isNaN)
        // Through the codec: decoded = the rounded value, for both shuffles.
        let values: [Float] = [1 + 3 * 0x1p-8, .pi, -2]
        for shuffle in [false, true] {
            let blob = try TensorEncoder(TensorCodec(dtype: .bf16, shuffle: shuffle)).encode(values, shape: [3])
            #expect(try TensorDecoder().decode(blob) == [1 + 4 * 0x1p-8, Float(bitPattern: 0x4049_0000), -2])
        }
    }

    @Test func f16CodecDecodesTheRoundedValues() throws {
        let values = Self.randomValues(777, seed: 5)
        for shuffle in [false, true] {
            let blob = try TensorEncoder(TensorCodec(dtype: .f16, shuffle: shuffle)).encode(values, shape: [777])
            #expect(try TensorDecoder().decode(blob).map(\.bitPattern) == values.map { Float(Float16($0)).bitPattern })
        }
    }

    @Test func f16OverflowIsRefusedNotStoredAsInfinity() {
        let encoder = TensorEncoder(TensorCodec(dtype: .f16))
        #expect(throws: TensorCodecError.f16Overflow(index: 2, value: 70000)) {
            try encoder.encode([1, 2, 70000, 3], shape: [4])
        }
        #expect(throws: Never.self) { try encoder.encode([1, .infinity, 65504], shape: [3]) }  // infinity is representable
    }

    @Test func everyFlippedByteIsDetected() throws {
        let values = Self.randomValues(300, seed: 9) + [Float](repeating: 1, count: 300)
        for codec in [TensorCodec(dtype: .f16, shuffle: true), TensorCodec(dtype: .f32, shuffle: false, compress: false)] {
            let blob = try TensorEncoder(codec).encode(values, shape: [2, 300])
            for position in 0..<blob.count {
                var damaged = blob
                damaged[position] ^= 0x10
                #expect(throws: TensorCodecError.self) { try TensorDecoder().decode(damaged) }
            }
            // In the payload it is the checksum that catches it.
            var damaged = blob
            damaged[blob.count - 5] ^= 0x01
            #expect { try TensorDecoder().decode(damaged) } throws: { error in
                if case TensorCodecError.checksumMismatch = error { return true }
                return false
            }
        }
    }

    @Test func unknownDTypeTagTruncationAndShapeAreReported() throws {
        let blob = try TensorEncoder(TensorCodec(dtype: .f16)).encode([1, 2, 3, 4], shape: [2, 2])
        var unknown = blob
        unknown[3] = 9
        #expect(throws: TensorCodecError.unknownDType(9)) { try TensorDecoder().decode(unknown) }
        #expect(throws: TensorCodecError.self) { try TensorDecoder().decode(Array(blob.dropLast(3))) }
        #expect(throws: TensorCodecError.self) { try TensorDecoder().decode(Array(blob.prefix(5))) }
        #expect(throws: TensorCodecError.shapeMismatch(expected: [4], found: [2, 2])) {
            try TensorDecoder().decode(blob, expectedShape: [4])
        }
        #expect(try TensorDecoder().decode(blob, expectedShape: [2, 2]) == [1, 2, 3, 4])
    }
}
