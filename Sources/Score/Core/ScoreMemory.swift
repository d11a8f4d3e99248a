#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How the scoring commands ask glibc's allocator to keep freed memory.
///
/// Scoring allocates matrices of hundreds of MB (one row of dimension 3072 per text: fused vectors, their
/// normalised copy, gathers) and frees them after each (task, recipe) point. glibc serves every block above its
/// mmap threshold (at most 32 MiB) with a fresh `mmap` and returns it with `munmap` on `free`, so the next point
/// page-faults every page in again (zeroed by the kernel): 18 million minor faults and ~40 s of system time in
/// `pipeline bench score`'s alpha sweep. With one arena and `M_MMAP_MAX = 0` large blocks come from the heap
/// instead, and with the largest trim threshold `mallopt` takes (2 GiB) the freed pages stay mapped and are
/// reused without faults. Resident memory
/// then stays at its peak until the process exits, which suits a scoring run.
public enum ScoreMemory {
    /// Applies the policy once per process; `MOEE_MALLOC_DEFAULT=1` leaves glibc's defaults (for comparisons).
    /// Returns whether the policy is in effect.
    @discardableResult
    public static func retainFreedMemory() -> Bool {
        if ProcessInfo.processInfo.environment["MOEE_MALLOC_DEFAULT"] == "1" { return false }
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not import: look it up with its C
        // signature. Parameters from <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_MAX -4; each call returns 1 on success.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // One arena (M_ARENA_MAX -8): a thread arena serves blocks above its 64 MiB heap size with mmap whatever
        // M_MMAP_MAX says, so sweep workers would still fault their matrices in again; small blocks come from
        // each thread's tcache without the arena lock.
        let oneArena = mallopt(-8, 1)
        let noMmap = mallopt(-4, 0)
        // A trim happens only when the free top of the heap exceeds the threshold (at most 2 GiB through
        // mallopt, less than two workers' TwitterURLCorpus matrices), and then keeps M_TOP_PAD (-2) of it.
        let noTrim = mallopt(-1, Int32.max)
        let keep = mallopt(-2, Int32.max)
        return oneArena == 1 && noMmap == 1 && noTrim == 1 && keep == 1
        #endif
    }
}
