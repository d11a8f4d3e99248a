import CKernels
import Foundation

/// One product's x quantized for the q4 x int8 kernel (`Sources/CKernels/gemm_q4_q8.c`): per row, blocks of 256
/// values with a float32 scale (max|x| / 127) and codes in [-127, 127] (stored + 128). Built once per
/// fused product (gate and up share it) in the caller's scratch; rows are quantized on their own, so a token's
/// codes never depend on its batch.
///
/// By default for q4 models on the F32 kernel (AVX2 hosts: `F32Kernel.appliesByDefault`); `MOEE_INT8_ACTIVATIONS=0`
/// or `MoEModel.Options.int8Activations = false` keeps float32 activations on dequantized panels. On the Zen 3 host
/// it ran the experts 2.4x faster than those panels, within the q4 accuracy bars (docs/performance.md). A model so
/// computed keeps its own store variant ("q4k+act8"), since rounding activations to int8 changes its tensors.
struct Int8Activations {
    let codes: UnsafePointer<UInt8>
    let scales: UnsafePointer<Float>
    let rows: Int
    let cols: Int

    /// `MOEE_INT8_ACTIVATIONS=0` (or false/off/no) turns the path off for models loaded without saying.
    static var allowedByEnvironment: Bool { kernelAllowed(byEnvironment: "MOEE_INT8_ACTIVATIONS") }
    /// `MOEE_INT8_KERNEL_ISA=portable` runs the portable loop (how tests compare it with the AVX2 path).
    static let portableOnly = ProcessInfo.processInfo.environment["MOEE_INT8_KERNEL_ISA"]?.lowercased() == "portable"
    /// Bytes of the scratch `multiply` packs a run of weight rows into.
    static func scratchBytes(cols: Int) -> Int { ck_act8_scratch_bytes(cols) }
    /// The AVX2 path runs (else the portable loop, the same bits).
    static var usesAVX2: Bool { !portableOnly && F32Kernel.ISA.avx2.supported }

    init(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, cols: Int, scratch: FloatBuffer) {
        let groups = (cols + Int(CK_GROUP) - 1) / Int(CK_GROUP), blocks = (groups + Int(CK_Q4_SUPER) - 1) / Int(CK_Q4_SUPER)
        // scales (floats), then codes (int8).
        let codeFloats = (rows * groups * Int(CK_GROUP) + 3) / 4
        scratch.reserve(rows * blocks + codeFloats)
        let base = scratch.pointer
        let codes = UnsafeMutableRawPointer(base + rows * blocks).assumingMemoryBound(to: UInt8.self)
        if Self.usesAVX2 {
            ck_quantize_rows_act8_avx2(x, ldx, rows, cols, codes, base)
        } else {
            ck_quantize_rows_act8(x, ldx, rows, cols, codes, base)
        }
        (self.codes, self.scales) = (UnsafePointer(codes), UnsafePointer(base))
        (self.rows, self.cols) = (rows, cols)
    }

    /// `y[t][r] = x_t · w_r` for the weight rows `range` of a q4 matrix; `scratch` holds `CK_ACT8_ROWS` packed rows
    /// (`scratchBytes(cols:)`, 32-byte aligned).
    func multiply(_ matrix: QuantizedMatrix, rows range: Range<Int>, y: UnsafeMutablePointer<Float>, ldy: Int,
                  scratch: UnsafeMutablePointer<UInt8>) {
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
