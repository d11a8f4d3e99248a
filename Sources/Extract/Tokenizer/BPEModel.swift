import Foundation

/// The model stage: byte-pair encoding of one pre-tokenized piece into ids.
///
/// A piece starts as one symbol per character (for byte-level tokenizers, per byte-alphabet character); characters
/// missing from the vocabulary become `<0xXX>` byte tokens (`byte_fallback`) or the unknown token. Then the
/// adjacent pair with the lowest merge rank is merged, again and again, with a min-heap of candidate pairs, until
/// no pair has a merge. Results are cached per piece, since the same words recur.
final class BPEModel: Sendable {
    /// Merge table: key `left << 32 | right` (ids), value `rank << 32 | merged id`.
    private let merges: [UInt64: UInt64]
    /// Ids of single-character tokens: a table for U+0000..U+03FF (the whole byte-level alphabet), a dictionary above.
    private let lowScalarIDs: [Int32]
    private let highScalarIDs: [UInt32: Int32]
    /// Ids of `<0x00>`..`<0xFF>` when `byte_fallback` is on and the vocabulary has them.
    private let byteFallbackIDs: [Int32]?
    private let unknownID: Int32?
    private let fuseUnknown: Bool
    private let ignoreMerges: Bool
    /// Whole-token lookup (UTF-8 bytes as the key, so canonically equivalent strings stay distinct).
    let vocabulary: [[UInt8]: Int32]
    let idToToken: [Int32: String]

    /// Results per piece, in shards with their own locks so that threads encoding at once rarely wait.
    private let cacheShards: [CacheShard] = (0..<16).map { _ in CacheShard() }
    private static let cacheLimitPerShard = 8_192
    private static let cachedPieceLength = 128

    init(vocabulary tokens: [(token: String, id: Int)], merges mergePairs: [(left: String, right: String, keyPath: String)],
         unknownToken: String?, fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, file: String) throws {
        var vocabulary: [[UInt8]: Int32] = [:]
        var idToToken: [Int32: String] = [:]
        var low = [Int32](repeating: -1, count: 0x400)
        var high: [UInt32: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (token, id) in tokens {
            let id32 = Int32(truncatingIfNeeded: id)
            vocabulary[Array(token.utf8)] = id32
            idToToken[id32] = token
            var scalars = token.unicodeScalars.makeIterator()
            if let only = scalars.next(), scalars.next() == nil {
                if only.value < 0x400 { low[Int(only.value)] = id32 } else { high[only.value] = id32 }
            }
        }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(mergePairs.count)
        for (rank, pair) in mergePairs.enumerated() {
            guard let left = vocabulary[Array(pair.left.utf8)] else {
                throw TokenizerError.mergeOutOfVocabulary(file: file, keyPath: pair.keyPath, token: pair.left)
            }
            guard let right = vocabulary[Array(pair.right.utf8)] else {
                throw TokenizerError.mergeOutOfVocabulary(file: file, keyPath: pair.keyPath, token: pair.right)
            }
            guard let merged = vocabulary[Array((pair.left + pair.right).utf8)] else {
                throw TokenizerError.mergeOutOfVocabulary(file: file, keyPath: pair.keyPath, token: pair.left + pair.right)
            }
            table[Self.pairKey(left, right)] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        }
        if byteFallback {
            var bytes: [Int32] = []
            for byte in 0..<256 {
                let name = "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
                bytes.append(vocabulary[Array(name.utf8)] ?? -1)
            }
            byteFallbackIDs = bytes
        } else {
            byteFallbackIDs = nil
        }
        if let unknownToken {
            guard let id = vocabulary[Array(unknownToken.utf8)] else {
                throw TokenizerError.invalidValue(file: file, keyPath: "model.unk_token",
                                                  expected: "a token of model.vocab (\"\(unknownToken)\" is not)")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        self.merges = table
        self.lowScalarIDs = low
        self.highScalarIDs = high
        self.vocabulary = vocabulary
        self.idToToken = idToToken
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
    }

    @inline(__always) private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the ids of one piece to `output`.
    func encode(_ piece: [Unicode.Scalar], into output: inout [Int]) {
        guard piece.count <= Self.cachedPieceLength, let last = piece.last else {
            for id in encodeUncached(piece) { output.append(Int(id)) }
            return
        }
        let shard = cacheShards[Int((last.value &+ UInt32(piece.count) &* 7) & 15)]
        if let hit = shard.ids(of: piece) {
            for id in hit { output.append(Int(id)) }
            return
        }
        let ids = encodeUncached(piece)
        shard.store(ids, for: piece, limit: Self.cacheLimitPerShard)
        for id in ids { output.append(Int(id)) }
    }

    private func encodeUncached(_ piece: [Unicode.Scalar]) -> [Int32] {
        if ignoreMerges, let whole = vocabulary[Array(String(String.UnicodeScalarView(piece)).utf8)] { return [whole] }
        var symbols = initialSymbols(piece)
        guard symbols.count > 1 else { return symbols }
        mergeAll(&symbols)
        return symbols
    }

    /// One id per character; byte tokens or the unknown token for characters outside the vocabulary.
    private func initialSymbols(_ piece: [Unicode.Scalar]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        var previousWasUnknown = false
        for scalar in piece {
            let id = scalar.value < 0x400 ? lowScalarIDs[Int(scalar.value)] : (highScalarIDs[scalar.value] ?? -1)
            if id >= 0 {
                symbols.append(id)
                previousWasUnknown = false
                continue
            }
            if let byteIDs = byteFallbackIDs {
                var bytes: [Int32] = []
                UTF8.encode(scalar) { bytes.append(byteIDs[Int($0)]) }
                if !bytes.contains(-1) {
                    symbols.append(contentsOf: bytes)
                    previousWasUnknown = false
                    continue
                }
            }
            // No unknown token: `tokenizers` drops the character.
            guard let unknownID else { continue }
            if !(fuseUnknown && previousWasUnknown) { symbols.append(unknownID) }
            previousWasUnknown = true
        }
        return symbols
    }

    /// Merges pairs in rank order (lowest first, leftmost on ties) until none applies.
    private func mergeAll(_ symbols: inout [Int32]) {
        let count = symbols.count
        // A doubly linked list over the symbol positions; merged-away positions get id -1.
        var next = [Int](1...count)
        var previous = [Int](-1..<(count - 1))
        next[count - 1] = -1
        // Heap entries: rank << 32 | position, so the smallest entry is the lowest rank, then the leftmost.
        var heap = MinHeap()
        for position in 0..<(count - 1) {
            if let merge = merges[Self.pairKey(symbols[position], symbols[position + 1])] {
                heap.push((merge & 0xFFFF_FFFF_0000_0000) | UInt64(position))
            }
        }
        while let top = heap.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            let right = next[position]
            guard symbols[position] >= 0, right >= 0,
                  let merge = merges[Self.pairKey(symbols[position], symbols[right])], merge >> 32 == rank else { continue }
            // Merge `right` into `position`.
            symbols[position] = Int32(truncatingIfNeeded: merge & 0xFFFF_FFFF)
            symbols[right] = -1
            let after = next[right]
            next[position] = after
            if after >= 0 { previous[after] = position }
            let before = previous[position]
            if before >= 0, let merge = merges[Self.pairKey(symbols[before], symbols[position])] {
                heap.push((merge & 0xFFFF_FFFF_0000_0000) | UInt64(before))
            }
            if after >= 0, let merge = merges[Self.pairKey(symbols[position], symbols[after])] {
                heap.push((merge & 0xFFFF_FFFF_0000_0000) | UInt64(position))
            }
        }
        symbols.removeAll { $0 < 0 }
    }
}

/// One shard of the piece cache. Guarded by NSLock (a pthread mutex) rather than Synchronization's `Mutex`:
/// ThreadSanitizer reported the accesses inside `Mutex.withLock` as races in `pipeline tokenize` (its futex-based
/// lock is not among the primitives TSan intercepts), and a sanitizer run with false reports hides real ones.
private final class CacheShard: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[Unicode.Scalar]: [Int32]] = [:]

    func ids(of piece: [Unicode.Scalar]) -> [Int32]? { lock.withLock { entries[piece] } }

    /// Stores `ids`, first emptying the shard once it holds `limit` pieces.
    func store(_ ids: [Int32], for piece: [Unicode.Scalar], limit: Int) {
        lock.withLock {
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[piece] = ids
        }
    }
}

/// A binary min-heap of `UInt64`.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right] < items[left] ? right : left
            guard items[smaller] < items[parent] else { break }
            items.swapAt(smaller, parent)
            parent = smaller
        }
        return top
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
