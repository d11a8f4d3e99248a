import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes.
///
/// Weights are used straight from the mapping, so a checkpoint is never copied into RAM as a whole:
/// the kernel pages in what the forward pass touches.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let size: Int
    /// The first byte of the mapping (nil for an empty file).
    public let base: UnsafeRawPointer?

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError.unreadable(file: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError.unreadable(file: url.path, reason: String(cString: strerror(errno)))
        }
        size = Int(info.st_size)
        if size == 0 {
            base = nil
            return
        }
        let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw CheckpointError.unreadable(file: url.path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(pointer)
    }

    /// The bytes `range` of the file (bounds must have been validated by the caller).
    public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        guard let base, !range.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}
