import CKernels
import Foundation

/// The AVX-512F float32 matmul (`Sources/CKernels/gemm_f32.c`): weights packed once at load into 16-column panels
/// of floats (`PackedMatrix`, element `.f32`), x read in place, products accumulated in float32 by `vfmadd231ps`.
/// It computes what sgemm computes, only summing in another order, so a model on it keeps its variant ("F32"; the
/// cache key's "f32"): unlike the BF16 kernel it rounds nothing. Used by default for unquantized F32 checkpoints on
/// CPUs with AVX-512F, where it measured ~2x OpenBLAS 0.3.21's sgemm at M = 128-512 and 4-6x at M = 8 (N = K = 2048,
/// docs/performance.md "F32 kernel"); `MOEE_F32_KERNEL=0` turns it off (sgemm on the mapped weights, as before).
public enum F32Kernel {
    /// The CPU and OS support AVX-512F.
    public static let supported = ck_cpu_has_avx512f() != 0

    /// `MOEE_F32_KERNEL=0` (or `false`/`off`/`no`) opts out.
    public static var allowedByEnvironment: Bool { kernelAllowed(byEnvironment: "MOEE_F32_KERNEL") }

    /// Whether a model with this dominant weight dtype and quantization runs on the kernel by default: unquantized
    /// F32 checkpoints (the BF16 kernel takes BF16 checkpoints and quantized models).
    public static func appliesByDefault(weightDType: String, quantization: Quantization) -> Bool {
        supported && allowedByEnvironment && weightDType == TensorDType.f32.rawValue && quantization == .none
    }
}
