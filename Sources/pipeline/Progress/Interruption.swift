import Foundation
import Synchronization

/// Ctrl-C handling for `extract`: the first SIGINT sets a flag that the batch loop checks after each committed
/// batch (so the batch in flight finishes and the command exits 130); a second SIGINT exits at once, which
/// is safe too because every batch is one SQLite transaction.
enum Interruption {
    /// The exit status of a command stopped by SIGINT (128 + 2), as shells report it.
    static let exitStatus: Int32 = 130

    static var requested: Bool { interruptCount.load(ordering: .relaxed) > 0 }

    /// Installs the handler; call once before the long loop.
    static func install() {
        interruptCount.store(0, ordering: .relaxed)
        // A launcher may have blocked SIGINT (the mask is inherited across exec): unblock it, or Ctrl-C would be
        // held until exit and never stop the loop.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if interruptCount.add(1, ordering: .relaxed).newValue >= 2 {
                _exit(Interruption.exitStatus)
            }
            let message = "\ninterrupted: finishing the batch in flight (Ctrl-C again to stop now)\n"
            message.utf8CString.withUnsafeBufferPointer { buffer in
                _ = Foundation.write(STDERR_FILENO, buffer.baseAddress, buffer.count - 1)
            }
        }
    }

    /// For tests: simulate a first Ctrl-C.
    static func simulate() { interruptCount.add(1, ordering: .relaxed) }

    static func reset() { interruptCount.store(0, ordering: .relaxed) }
}

private let interruptCount = Atomic<Int>(0)
