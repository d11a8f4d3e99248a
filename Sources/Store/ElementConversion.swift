// Float32 <-> F16 / BF16 conversion (round to nearest, ties to even) fused with the byte shuffle, and the
// 64-bit checksum of the blobs. Written with raw pointers: these loops run over every stored value.

/// Converts between `Float` arrays and the stored element bytes.
///
/// Shuffled layout: for an element size of `s` bytes and `n` elements, byte plane `b` (the `b`-th byte of every
/// element, little endian) occupies bytes `b*n ..< (b+1)*n`. Grouping the slowly varying sign/exponent bytes
/// together is what lets LZ4 find repeats in floating-point data.
enum ElementConversion {
    /// Writes `values` as `dtype` into `target` (`values.count * dtype.size` bytes). Returns the index of the first
    /// finite value that overflows F16, nil when all fit.
    static func store(_ values: UnsafeBufferPointer<Float>, as dtype: TensorDType, shuffled: Bool,
                      into target: UnsafeMutableRawPointer) -> Int? {
        let n = values.count
        guard let source = values.baseAddress, n > 0 else { return nil }
        switch dtype {
        case .f32:
            if shuffled {
                let planes = target.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n {
                    let bits = source[i].bitPattern
                    planes[i] = UInt8(truncatingIfNeeded: bits)
                    planes[n + i] = UInt8(truncatingIfNeeded: bits >> 8)
                    planes[2 * n + i] = UInt8(truncatingIfNeeded: bits >> 16)
                    planes[3 * n + i] = UInt8(truncatingIfNeeded: bits >> 24)
                }
            } else {
                let out = target.assumingMemoryBound(to: UInt32.self)
                for i in 0..<n { out[i] = source[i].bitPattern.littleEndian }
            }
            return nil
        case .f16:
            var overflow = false
            if shuffled {
                let planes = target.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n {
                    let half = floatToHalf(source[i])
                    overflow = overflow || halfOverflowed(half, source[i])
                    planes[i] = UInt8(truncatingIfNeeded: half)
                    planes[n + i] = UInt8(truncatingIfNeeded: half >> 8)
                }
            } else {
                let out = target.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n {
                    let half = floatToHalf(source[i])
                    overflow = overflow || halfOverflowed(half, source[i])
                    out[i] = half.littleEndian
                }
            }
            return overflow ? (0..<n).first { halfOverflowed(floatToHalf(source[$0]), source[$0]) } : nil
        case .bf16:
            if shuffled {
                let planes = target.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n {
                    let brain = floatToBFloat(source[i])
                    planes[i] = UInt8(truncatingIfNeeded: brain)
                    planes[n + i] = UInt8(truncatingIfNeeded: brain >> 8)
                }
            } else {
                let out = target.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n { out[i] = floatToBFloat(source[i]).littleEndian }
            }
            return nil
        }
    }

    /// Reads `count` elements of `dtype` from `source` into `output` as `Float`.
    static func load(_ source: UnsafeRawPointer, as dtype: TensorDType, shuffled: Bool, count n: Int,
                     into output: UnsafeMutablePointer<Float>) {
        let bytes = source.assumingMemoryBound(to: UInt8.self)
        switch dtype {
        case .f32:
            if shuffled {
                for i in 0..<n {
                    let bits = UInt32(bytes[i]) | UInt32(bytes[n + i]) << 8
                        | UInt32(bytes[2 * n + i]) << 16 | UInt32(bytes[3 * n + i]) << 24
                    output[i] = Float(bitPattern: bits)
                }
            } else {
                UnsafeMutableRawPointer(output).copyMemory(from: source, byteCount: n * 4)
            }
        case .f16:
            halfTable.withUnsafeBufferPointer { table in
                if shuffled {
                    for i in 0..<n { output[i] = Float(bitPattern: table[Int(bytes[i]) | Int(bytes[n + i]) << 8]) }
                } else {
                    for i in 0..<n {
                        output[i] = Float(bitPattern: table[Int(bytes[2 * i]) | Int(bytes[2 * i + 1]) << 8])
                    }
                }
            }
        case .bf16:
            if shuffled {
                for i in 0..<n { output[i] = Float(bitPattern: UInt32(bytes[i]) << 16 | UInt32(bytes[n + i]) << 24) }
            } else {
                for i in 0..<n { output[i] = Float(bitPattern: UInt32(bytes[2 * i]) << 16 | UInt32(bytes[2 * i + 1]) << 24) }
            }
        }
    }

    /// IEEE binary16 bits of `value`, rounded to nearest, ties to even; NaN stays a (quiet) NaN.
    @inline(__always)
    static func floatToHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {                      // infinity or NaN
            return sign | (magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00)
        }
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 } // >= 65520 rounds to infinity
        if magnitude < 0x3880_0000 {                       // below 2^-14: subnormal half (or zero)
            // Adding 0.5 lines the half's subnormal step (2^-24) up with the float's last mantissa bit,
            // so the FPU does the round-to-nearest-even for us.
            let shifted = (Float(bitPattern: magnitude) + 0.5).bitPattern &- 0x3F00_0000
            return sign | UInt16(truncatingIfNeeded: shifted)
        }
        let rebased = magnitude &- 0x3800_0000             // exponent bias 127 -> 15
        let rounded = (rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)) >> 13
        return sign | UInt16(truncatingIfNeeded: rounded)
    }

    /// Float bits of the binary16 `half` (exact).
    static func halfToFloatBits(_ half: UInt16) -> UInt32 {
        let sign = UInt32(half & 0x8000) << 16
        let magnitude = UInt32(half & 0x7FFF)
        if magnitude >= 0x7C00 { return sign | 0x7F80_0000 | (magnitude & 0x03FF) << 13 }  // infinity or NaN
        if magnitude >= 0x0400 { return sign | ((magnitude << 13) &+ 0x3800_0000) }        // normal
        return sign | (Float(magnitude) * 0x1p-24).bitPattern                               // subnormal or zero
    }

    /// The Float bits of every binary16 value, indexed by its bits: decoding is one table load per element.
    static let halfTable: [UInt32] = (0...0xFFFF).map { halfToFloatBits(UInt16($0)) }

    /// A finite input that became infinity.
    @inline(__always)
    static func halfOverflowed(_ half: UInt16, _ value: Float) -> Bool {
        (half & 0x7FFF) == 0x7C00 && value.isFinite
    }

    /// bfloat16 bits of `value`, rounded to nearest, ties to even; NaN stays a (quiet) NaN.
    @inline(__always)
    static func floatToBFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}

/// A fast 64-bit checksum over 8-byte words in four independent lanes (multiply-xor, a bijection per step, so
/// any change of a single word always changes the result), with the length and tail bytes folded in.
enum Checksum64 {
    private static let prime1: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    @inline(__always)
    private static func round(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (lane ^ word) &* prime1
        return (mixed << 31) | (mixed >> 33)
    }

    @inline(__always)
    private static func finish(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h = h &* prime2
        h ^= h >> 29
        return h
    }

    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = bytes.count
        guard let base = bytes.baseAddress else { return finish(seed ^ prime2) }
        var a = seed ^ prime1, b = seed ^ prime2, c = seed &+ 1, d = seed &- prime1
        var i = 0
        while i + 32 <= n {
            a = round(a, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            b = round(b, base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            c = round(c, base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
            d = round(d, base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
            i += 32
        }
        var h = round(round(round(round(UInt64(n), a), b), c), d)
        while i + 8 <= n {
            h = round(h, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0, shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        return finish(round(h, tail))
    }
}
