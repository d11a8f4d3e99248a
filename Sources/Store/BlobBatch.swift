// Bulk decoding: blobs are read from SQLite on the calling thread into one buffer (SQLite's pointers die at
// the next step), then decoded by several threads, each with its own scratch space.
import Dispatch
import Foundation

/// A batch of blobs copied out of SQLite, with where each one goes.
struct BlobBatch {
    private(set) var bytes: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    /// Caller-defined tag of each blob (an output row, or an index into a key table).
    private(set) var tags: [Int] = []

    var count: Int { tags.count }
    var byteCount: Int { bytes.count }

    init(reservingBytes: Int = 0) { bytes.reserveCapacity(reservingBytes) }

    mutating func append(_ blob: UnsafeRawBufferPointer, tag: Int) {
        bytes.append(contentsOf: blob)
        offsets.append(bytes.count)
        tags.append(tag)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        offsets.append(0)
        tags.removeAll(keepingCapacity: true)
    }

    /// Decodes every blob with `threads` threads. `destination(tag)` gives the output row for a blob (nil: decode
    /// into scratch, only to check it). Returns the failures as (tag, error), sorted by tag.
    func decode(threads: Int, expectedShape: (Int) -> [Int], elementCount: Int,
                destination: (Int) -> UnsafeMutablePointer<Float>?) -> [(tag: Int, error: TensorCodecError)] {
        let workers = max(1, min(threads, count / 32))
        let failures = FailureList()
        bytes.withUnsafeBytes { all in
            let shared = UnsafeSendable(all)
            withoutActuallyEscaping(expectedShape) { expectedShape in
                withoutActuallyEscaping(destination) { destination in
                    let expected = UnsafeSendable(expectedShape), target = UnsafeSendable(destination)
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let decoder = TensorDecoder()
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(elementCount, 1))
                        defer { scratch.deallocate() }
                        var index = worker
                        while index < count {
                            let tag = tags[index]
                            let blob = UnsafeRawBufferPointer(rebasing: shared.value[offsets[index]..<offsets[index + 1]])
                            let output = target.value(tag) ?? scratch
                            do {
                                try decoder.decode(blob, expectedShape: expected.value(tag),
                                                   into: UnsafeMutableBufferPointer(start: output, count: elementCount))
                            } catch let error as TensorCodecError {
                                failures.add(tag, error)
                            } catch {
                                failures.add(tag, .badHeader("\(error)"))
                            }
                            index += workers
                        }
                    }
                }
            }
        }
        return failures.sorted
    }
}

/// Hands a value to the worker threads of one `concurrentPerform`; safe because the workers only read it
/// or write disjoint rows.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(tag: Int, error: TensorCodecError)] = []
    func add(_ tag: Int, _ error: TensorCodecError) { lock.withLock { items.append((tag, error)) } }
    var sorted: [(tag: Int, error: TensorCodecError)] { lock.withLock { items.sorted { $0.tag < $1.tag } } }
}
