import CKernels
import Foundation

/// One product's x quantized for the q4 x int8 kernel (`Sources/CKernels/gemm_q4_q8.c`): per row, blocks of 256
/// values with a float32 scale (max|x| / 127) and codes in [-127, 127]. Built once per
/// fused product (gate and up share it) in the caller's scratch; rows are quantized on their own, so a token's
/// codes never depend on its batch.
///
/// Opt-in (`MoEModel.Options.int8Activations`, `MOEE_INT8_ACTIVATIONS=1`): on AVX2 hosts q4 MLP weights then skip
/// dequantizing to float32 panels, and a model so computed keeps its own store variant ("q4k+act8"), since
/// rounding activations to int8 changes its tensors.
struct Int8Activations {
    let codes: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let rows: Int
    let cols: Int

    /// `MOEE_INT8_ACTIVATIONS=1` (or true/on/yes) turns the path on for models loaded without saying.
    static let askedForByEnvironment = ["1", "true", "on", "yes"].contains(ProcessInfo.processInfo.environment["MOEE_INT8_ACTIVATIONS"]?.lowercased() ?? "")
    /// `MOEE_INT8_KERNEL_ISA=portable` runs the portable loop (how tests compare it with the AVX2 path).
    static let portableOnly = ProcessInfo.processInfo.environment["MOEE_INT8_KERNEL_ISA"]?.lowercased() == "portable"
    /// The AVX2 path runs (else the portable loop, the same bits).
    static var usesAVX2: Bool { !portableOnly && F32Kernel.ISA.avx2.supported }

    init(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, cols: Int, scratch: FloatBuffer) {
        let groups = (cols + Int(CK_GROUP) - 1) / Int(CK_GROUP), blocks = (groups + Int(CK_Q4_SUPER) - 1) / Int(CK_Q4_SUPER)
        // scales (floats), then codes (int8).
        let codeFloats = (rows * groups * Int(CK_GROUP) + 3) / 4
        scratch.reserve(rows * blocks + codeFloats)
        let base = scratch.pointer
        let codes = UnsafeMutableRawPointer(base + rows * blocks).assumingMemoryBound(to: Int8.self)
        ck_quantize_rows_act8(x, ldx, rows, cols, codes, base)
        (self.codes, self.scales) = (UnsafePointer(codes), UnsafePointer(base))
        (self.rows, self.cols) = (rows, cols)
    }

    /// `y[t][r] = x_t · w_r` for the weight rows `range` of a q4 matrix; `scratch` holds `CK_ACT8_ROWS` unpacked rows
    /// (CK_ACT8_ROWS * ceil(cols/32) * 64 bytes, 32-byte aligned).
    func multiply(_ matrix: QuantizedMatrix, rows range: Range<Int>, y: UnsafeMutablePointer<Float>, ldy: Int,
                  scratch: UnsafeMutablePointer<Int8>) {
        precondition(matrix.format == .q4 && matrix.cols == cols, "int8 activations multiply q4 weights of their width")
        guard !range.isEmpty else { return }
        let weights = matrix.codes.assumingMemoryBound(to: UInt8.self)
        if Self.usesAVX2 {
            ck_gemm_q4_act8_avx2(codes, scales, rows, cols, weights, matrix.scales, range.lowerBound, range.upperBound, y, ldy, scratch)
        } else {
            ck_gemm_q4_act8_scalar(codes, scales, rows, cols, weights, matrix.scales, range.lowerBound, range.upperBound, y, ldy)
        }
    }
}
