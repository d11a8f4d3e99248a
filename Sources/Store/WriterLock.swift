// One writer process per store: an exclusive `flock` on `DB.lock`, released by the kernel when the process
// ends in any way (also SIGKILL), so a crashed writer never leaves a stale lock behind.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Held while a store is open with `exclusiveWriter`. A second writer fails at once (it does not wait): two
/// extract jobs on one store would only duplicate work, and the message tells the user which process holds it.
final class WriterLock {
    let lockPath: String
    private let descriptor: Int32

    init(storePath: String) throws {
        lockPath = storePath + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.notWritable(path: storePath, reason: "cannot create lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            throw StoreError.writerLocked(path: storePath, lockFile: lockPath, pid: pid)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
