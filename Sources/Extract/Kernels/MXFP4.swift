import Foundation

/// MXFP4 (OCP microscaling, as gpt-oss ships its experts): 32 consecutive weights along a row share one exponent
/// byte `s` (the scale 2^(s - 127)); each weight is a 4-bit e2m1 code, two per byte, the lower nibble first. The
/// values are those of transformers' `integrations/mxfp4.py` (`FP4_VALUES`).
enum MXFP4 {
    static let groupSize = 32
    static let values: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]

    /// Decodes one row of `cols` weights (`cols / 2` code bytes, `cols / 32` scale bytes) to float32, exactly (as
    /// transformers' `ldexp(lut[code], scale - 127)`).
    static func decodeRow(codes: UnsafePointer<UInt8>, scales: UnsafePointer<UInt8>, cols: Int,
                          into destination: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { lut in
            for group in 0..<(cols / groupSize) {
                let exponent = Int32(scales[group]) - 127
                // 2^128 is not a float: the last scale code decodes value by value (OCP makes it NaN; torch's
                // ldexp gives finite halves).
                if exponent > 127 {
                    for j in 0..<groupSize {
                        let byte = codes[group * groupSize / 2 + j / 2]
                        destination[group * groupSize + j] = ldexpf(lut[Int(j % 2 == 0 ? byte & 0x0F : byte >> 4)], exponent)
                    }
                    continue
                }
                let factor = ldexpf(1, exponent)
                for j in 0..<(groupSize / 2) {
                    let byte = codes[group * groupSize / 2 + j]
                    let index = group * groupSize + 2 * j
                    destination[index] = lut[Int(byte & 0x0F)] * factor
                    destination[index + 1] = lut[Int(byte >> 4)] * factor
                }
            }
        }
    }
}

/// The MXFP4 rows of one matrix inside a stacked `_blocks` / `_scales` pair: matrix row r is source row `r * step`
/// from `codes` / `scales` (step 2: gpt-oss's gate or up rows, which alternate in `gate_up_proj`).
struct MXFP4Rows: @unchecked Sendable {
    let codes: UnsafePointer<UInt8>
    let scales: UnsafePointer<UInt8>
    let step: Int

    static func bytesPerRow(cols: Int) -> Int { cols / 2 + cols / MXFP4.groupSize }

    /// Decodes rows `start..<start + count` (of `cols` weights) to float32.
    func decode(rows start: Int, count: Int, cols: Int, into destination: UnsafeMutablePointer<Float>) {
        let groups = cols / MXFP4.groupSize
        for r in 0..<count {
            let source = (start + r) * step
            MXFP4.decodeRow(codes: codes + source * cols / 2, scales: scales + source * groups, cols: cols,
                            into: destination + r * cols)
        }
    }
}
