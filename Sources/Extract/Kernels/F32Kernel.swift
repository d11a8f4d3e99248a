import CKernels
import Foundation

/// The float32 matmul (`Sources/CKernels/gemm_f32.c`): weights packed once at load into 16-column panels of floats
/// (`PackedMatrix`, element `.f32`), x read in place, products accumulated in float32 by fused multiply-adds, on
/// AVX-512F (`vfmadd231ps` on zmm) or AVX2 + FMA (ymm halves of each panel). Every output is one FMA chain over k in
/// order on both, so they give the same bits (`F32KernelTests`): where the kernel runs, the instruction set does not
/// change a stored tensor. It computes what sgemm computes, only summing in another order, so a model on it keeps
/// its variant ("F32"; the cache key's "f32"): unlike the BF16 kernel it rounds nothing. Used by default for
/// unquantized F32 checkpoints (and BF16 ones on AVX2-only hosts: `appliesByDefault`); on AVX-512 it measured ~2x
/// OpenBLAS 0.3.21's sgemm at M = 128-512 and 4-6x at M = 8 (N = K = 2048, docs/performance.md "F32 kernel"). `MOEE_F32_KERNEL=0` turns it off (sgemm on the mapped
/// weights); `MOEE_F32_KERNEL_ISA=avx2` takes the AVX2 path (on an AVX-512 host: how that path is tested there).
public enum F32Kernel {
    /// The instruction set the kernel runs on.
    public enum ISA: String, Sendable, CaseIterable {
        case avx512 = "AVX-512F"
        case avx2 = "AVX2/FMA"
        /// Whether this CPU (and OS) can run it.
        public var supported: Bool {
            switch self {
            case .avx512: ck_cpu_has_avx512f() != 0
            case .avx2: ck_cpu_has_avx2_fma() != 0
            }
        }
    }

    /// `MOEE_F32_KERNEL_ISA=avx2`: the AVX2 path also on AVX-512 hosts.
    public static let askedForAVX2 = ProcessInfo.processInfo.environment["MOEE_F32_KERNEL_ISA"]?.lowercased() == "avx2"

    /// The widest instruction set the host runs, unless `MOEE_F32_KERNEL_ISA=avx2` asks for AVX2; nil: neither.
    public static let isa: ISA? = {
        if !askedForAVX2, ISA.avx512.supported { return .avx512 }
        return ISA.avx2.supported ? .avx2 : nil
    }()

    /// The CPU and OS support AVX-512F or AVX2 + FMA.
    public static var supported: Bool { isa != nil }

    /// `MOEE_F32_KERNEL=0` (or `false`/`off`/`no`) opts out.
    public static var allowedByEnvironment: Bool { kernelAllowed(byEnvironment: "MOEE_F32_KERNEL") }

    /// Whether a model with this dominant weight dtype and quantization runs on the kernel by default: unquantized
    /// F32 checkpoints wherever it runs, and on the AVX2 path (AVX2-only hosts, or MOEE_F32_KERNEL_ISA=avx2) also
    /// what the BF16 kernel would take there: unquantized BF16 checkpoints, their weights kept as BF16 and widened in
    /// registers (`weightElement`), and quantized models, each panel of codes dequantized into an L2-sized scratch
    /// just before the kernel reads it (`QuantizedMatrix.packF32Panel`). There it is as fast as OpenBLAS's Haswell
    /// sgemm at M >= 128 and faster below, without sgemm's float32 copy of the weights (docs/performance.md "F32
    /// kernel on AVX2"). AVX-512 hosts without AVX-512 BF16 keep sgemm for those: AVX-512 sgemm can be twice the
    /// AVX2 code there, and that pairing was never measured.
    public static func appliesByDefault(weightDType: String, quantization: Quantization) -> Bool {
        guard let isa, allowedByEnvironment else { return false }
        if weightDType == TensorDType.f32.rawValue && quantization == .none { return true }
        guard isa == .avx2, !BF16Kernel.appliesByDefault(weightDType: weightDType, quantization: quantization) else { return false }
        return quantization != .none || weightDType == TensorDType.bf16.rawValue
    }

    /// How a checkpoint of this dominant dtype is packed for the kernel: BF16 stays BF16 (widened in registers),
    /// everything else is widened to float32 at load.
    static func weightElement(weightDType: String) -> PackedMatrix.Element {
        weightDType == TensorDType.bf16.rawValue ? .bf16Widened : .f32
    }

    /// `y[:, 16 * panelBegin ..< min(n, 16 * panelEnd)] = x · Wᵀ` on `isa` (ck_gemm_f32's contract); the portable
    /// loop when nil.
    static func multiply(on isa: ISA?, _ x: UnsafePointer<Float>, ldx: Int, rows m: Int, cols k: Int,
                         panels: UnsafePointer<Float>, outputs n: Int, panelBegin: Int, panelEnd: Int,
                         y: UnsafeMutablePointer<Float>, ldy: Int) {
        switch isa {
        case .avx512: ck_gemm_f32(x, ldx, m, k, panels, n, panelBegin, panelEnd, y, ldy)
        case .avx2: ck_gemm_f32_avx2(x, ldx, m, k, panels, n, panelBegin, panelEnd, y, ldy)
        case nil: ck_gemm_f32_scalar(x, ldx, m, k, panels, n, panelBegin, panelEnd, y, ldy)
        }
    }

    /// The same product with BF16 panels (`.bf16Widened`), widened in registers: the bits of `multiply` on the
    /// widened weights. AVX-512 hosts without AVX-512 BF16 take the AVX2 path (there is no AVX-512 one).
    static func multiplyWidening(on isa: ISA?, _ x: UnsafePointer<Float>, ldx: Int, rows m: Int, cols k: Int,
                                 panels: UnsafePointer<UInt16>, outputs n: Int, panelBegin: Int, panelEnd: Int,
                                 y: UnsafeMutablePointer<Float>, ldy: Int) {
        if isa != nil, ISA.avx2.supported {
            ck_gemm_f32_bf16w_avx2(x, ldx, m, k, panels, n, panelBegin, panelEnd, y, ldy)
        } else {
            ck_gemm_f32_bf16w_scalar(x, ldx, m, k, panels, n, panelBegin, panelEnd, y, ldy)
        }
    }
}
