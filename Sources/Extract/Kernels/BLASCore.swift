import CBLAS
import CKernels
import Foundation

/// Which OpenBLAS kernel set runs, and whether a faster one should be forced.
///
/// OpenBLAS (DYNAMIC_ARCH) picks its kernels once, when the library loads, from `OPENBLAS_CORETYPE` or its own
/// CPU table. Debian's 0.3.21 does not know Zen 5 and falls back to AVX2 kernels although the CPU has AVX-512
/// (sgemm 1.74x slower at M=512 on the development machine). Since the choice is made before `main`, the fix is
/// to set the variable and re-execute the process (see `pipeline`'s `main.swift`).
public enum BLASCore {
    /// The kernel set OpenBLAS chose (e.g. "Haswell", "SkylakeX", "Zen").
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The kernel set forced on AVX-512 CPUs. Debian's 0.3.21 names Zen 5 "Cooperlake" yet its sgemm runs the
    /// AVX2 speed there; "SkylakeX" measured 1.74x faster (issue 6), and is a valid choice on any AVX-512F CPU.
    static let avx512Core = "SkylakeX"

    /// The `OPENBLAS_CORETYPE` to force, or nil when nothing would be gained: the CPU (and OS) has no AVX-512F,
    /// OpenBLAS already runs AVX-512 kernels, or the user chose a core type.
    public static func avx512Upgrade(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, ck_cpu_has_avx512f() == 1 else { return nil }
        guard current.lowercased() != avx512Core.lowercased() else { return nil }
        return avx512Core
    }
}
