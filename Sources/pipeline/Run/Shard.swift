/// `--shard i/n`: this machine's part of the texts, chosen by a hash of the raw text, so that n machines (or
/// array jobs) each fill their own store with disjoint texts and `pipeline store merge` joins them.
struct Shard: Sendable, Equatable, CustomStringConvertible {
    let index: Int
    let count: Int

    static let whole = Shard(index: 0, count: 1)

    /// Parses `i/n` (0 <= i < n), or `i` alone with `defaultCount` (the manifest's `shards`).
    init(parsing text: String, defaultCount: Int) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let index = Int(parts[0]),
              let count = parts.count == 2 ? Int(parts[1]) : defaultCount else {
            throw UsageError("--shard takes i/n (e.g. 0/4), not '\(text)'")
        }
        guard count >= 1, (0..<count).contains(index) else {
            throw UsageError("--shard \(text): need 0 <= i < n (shards are numbered from 0)")
        }
        self.init(index: index, count: count)
    }

    init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    var description: String { "\(index)/\(count)" }

    func contains(_ text: String) -> Bool {
        count == 1 || Int(Shard.hash(text) % UInt64(count)) == index
    }

    /// FNV-1a, 64-bit, over the UTF-8 bytes: stable across machines, runs and Swift versions (unlike `Hasher`).
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
