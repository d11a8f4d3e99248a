import Extract
import Foundation

/// Selects OpenBLAS's AVX-512 kernels on CPUs its table does not know (see `BLASCore`).
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` when it loads, before `main`, so the only sound way to change it is to set it
/// and re-execute this same binary (`/proc/self/exe`) with the same arguments. The file descriptors (stdin, pipes)
/// and the rest of the environment carry over, so callers see one process with one exit status. `MOEE_REEXECED`
/// guards against a loop; `MOEE_NO_REEXEC=1` turns the whole thing off; `MOEE_BLAS_VERBOSE=1` reports the choice on
/// standard error. If exec fails the process simply continues with the kernels it has.
enum BLASReexec {
    static let guardVariable = "MOEE_REEXECED"

    static func selectFastKernels(arguments: [String]) {
        let environment = ProcessInfo.processInfo.environment
        let verbose = environment["MOEE_BLAS_VERBOSE"] == "1"
        defer { if verbose { stderr("pipeline: OpenBLAS core \(BLASCore.current)") } }
        guard environment["MOEE_NO_REEXEC"] != "1", environment[guardVariable] == nil,
              let core = BLASCore.avx512Upgrade(environment: environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(guardVariable, "1", 1)
        if verbose { stderr("pipeline: OpenBLAS chose \(BLASCore.current); re-executing with OPENBLAS_CORETYPE=\(core)") }
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv("/proc/self/exe", cArguments)
        // Only reached when exec failed: keep going with the current kernels, and leave the environment as found.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(guardVariable)
        for pointer in cArguments { free(pointer) }
    }
}
