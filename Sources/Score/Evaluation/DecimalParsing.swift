#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON numbers to float32, exactly as Python gets them (`numpy.float32(json.loads(...))`): the decimal rounded
/// to the nearest float64, then that rounded to the nearest float32; `-0` is the integer 0, so +0.
///
/// The fast path never calls `strtod`: with at most 19 significant digits and a power of ten up to 10^22 (exact
/// in a Double), `Double(m) / 10^k` is within about one float64 ulp of the decimal, and float32's rounding points
/// (the midpoints between neighbouring floats) are 2^29 float64 ulps apart. So unless the approximation lies within
/// a few float64 ulps of such a midpoint, both it and the correctly rounded float64 round to the same float32.
/// Everything else (more digits, huge exponents, near-midpoints, subnormals) goes to `strtod`.
enum DecimalParsing {
    /// Powers of ten that are exact in a Double.
    private static let powers: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// Parses the JSON number `bytes[start..<end]` (grammar checked here) into a Float; nil when the bytes are not a
    /// JSON number.
    static func float(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
        var i = start
        let negative = i < end && bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0          // significant digits taken into `mantissa`
        var dropped = false     // a nonzero digit beyond 19 significant ones
        var scale = 0           // value = mantissa * 10^scale (before the exponent part)
        let integerStart = i
        while i < end, bytes[i] &- 48 < 10 {
            let digit = UInt64(bytes[i] &- 48)
            if digits < 19 {
                if mantissa != 0 || digit != 0 { mantissa = mantissa &* 10 &+ digit; if mantissa != 0 { digits += 1 } }
            } else {
                scale += 1
                if digit != 0 { dropped = true }
            }
            i += 1
        }
        let integerDigits = i - integerStart
        // JSON: at least one integer digit, and no leading zero before another digit.
        guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else { return nil }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < end, bytes[i] &- 48 < 10 {
                // Eight significant digits at a time once the leading zeros are behind (most of a 17-digit repr).
                if mantissa != 0, digits <= 11, i + 8 <= end, let eight = eightDigits(bytes + i) {
                    mantissa = mantissa &* 100_000_000 &+ eight
                    digits += 8
                    scale -= 8
                    i += 8
                    continue
                }
                let digit = UInt64(bytes[i] &- 48)
                if digits < 19 {
                    if mantissa != 0 || digit != 0 { mantissa = mantissa &* 10 &+ digit; if mantissa != 0 { digits += 1 } }
                    scale -= 1
                } else if digit != 0 {
                    dropped = true
                }
                i += 1
            }
            guard i > fractionStart else { return nil }
        }
        var exponent = 0
        if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let exponentStart = i
            while i < end, bytes[i] &- 48 < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] &- 48) }
                i += 1
            }
            guard i > exponentStart else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard i == end else { return nil }
        if mantissa == 0 && !dropped {
            // Python reads "-0" as the integer 0 (+0.0) but "-0.0" and "-0e0" as the float -0.0.
            let isInteger = end - start == integerDigits + (negative ? 1 : 0)
            return negative && !isInteger ? -0.0 : 0.0
        }
        let power = scale + exponent
        if !dropped, abs(power) <= 22 {
            let approximate = power < 0 ? Double(mantissa) / powers[-power] : Double(mantissa) * powers[power]
            if let value = roundedUnambiguously(approximate) { return negative ? -value : value }
        }
        return slowFloat(bytes, start, end)
    }

    /// The value of eight ASCII digits at `p`, or nil if any byte is not a digit (SWAR, as in simdjson's
    /// `parse_eight_digits_unrolled`: pairs, then quads, then the eight combined with two multiplies).
    @inline(__always)
    private static func eightDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let word = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)  // little-endian: p[0] in the low byte
        // Every byte in 0x30...0x39: the high nibble is 3, and adding 6 does not carry into it.
        guard word & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030,
              (word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030 else { return nil }
        var v = word &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)  // each 16-bit lane's low byte: the two-digit number of its pair
        let pairs = v & 0x0000_00FF_0000_00FF, next = (v >> 16) & 0x0000_00FF_0000_00FF
        return ((pairs &* (100 &+ (1_000_000 << 32))) &+ (next &* (1 &+ (10_000 << 32)))) >> 32
    }

    /// `Float(x)` when every Double within 8 ulps of `x` rounds to the same float32 (normal range only).
    private static func roundedUnambiguously(_ x: Double) -> Float? {
        guard x >= 1e-37, x <= 1e37 else { return nil }
        let rounded = Float(x)
        let wide = Double(rounded)
        let half = Double(rounded.ulp) / 2
        // The midpoint on x's side of the chosen float; at a power of two the lower neighbour is half as far.
        let midpoint = x >= wide ? wide + half : wide - (rounded.significandBitPattern == 0 ? half / 2 : half)
        return abs(x - midpoint) > 8 * x.ulp ? rounded : nil
    }

    /// `strtod` on a NUL-terminated copy, then float32: correct for every input.
    private static func slowFloat(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
        let count = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Float? in
            guard let base = buffer.baseAddress else { return nil }
            for k in 0..<count { base[k] = CChar(bitPattern: bytes[start + k]) }
            base[count] = 0
            var stop: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &stop)
            // Not all consumed, or beyond float64's range: the caller's slow path decides.
            guard let stop, stop - base == count, value.isFinite else { return nil }
            return Float(value)
        }
    }
}
