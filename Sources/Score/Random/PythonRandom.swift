// CPython 3.11's `random.Random(seed)` for a non-negative integer seed, for the calls mteb makes: `random()`,
// `getrandbits`, `_randbelow`, `sample(range(n), k)` and `choices(range(n), k=k)`.
// Recipes: CPython Modules/_randommodule.c and Lib/random.py (read, not copied).
import Foundation

/// A port of `random.Random(seed)` (MT19937 seeded by `init_by_array` of the seed's 32-bit words).
public struct PythonRandom: Sendable {
    private var twister: MersenneTwister

    public init(seed: UInt64) {
        // The seed's absolute value as 32-bit words, least significant first; 0 gives the key [0].
        var key: [UInt32] = []
        var rest = seed
        repeat { key.append(UInt32(truncatingIfNeeded: rest)); rest >>= 32 } while rest != 0
        twister = MersenneTwister(key: key)
    }

    /// `random()`: a double in [0, 1) with 53 random bits.
    public mutating func random() -> Double { twister.nextDouble() }

    /// `getrandbits(k)` for 0 < k <= 64: 32-bit words filled from the least significant end, the last one
    /// keeping its top bits.
    public mutating func getrandbits(_ k: Int) -> UInt64 {
        precondition(k > 0 && k <= 64, "getrandbits: k = \(k) outside 1...64")
        if k <= 32 { return UInt64(twister.next() >> UInt32(32 - k)) }
        let low = UInt64(twister.next())
        let high = UInt64(twister.next() >> UInt32(64 - k))
        return (high << 32) | low
    }

    /// `_randbelow(n)`: `getrandbits(n.bit_length())` redrawn until below n.
    public mutating func randbelow(_ n: Int) -> Int {
        precondition(n > 0, "randbelow: n = \(n)")
        let bits = Int.bitWidth - n.leadingZeroBitCount
        while true {
            let r = getrandbits(bits)
            if r < UInt64(n) { return Int(r) }
        }
    }

    /// `sample(range(n), k)`: the pool method when n is small against k, else the set method (CPython's rule).
    public mutating func sample(rangeCount n: Int, k: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "sample: k = \(k) for a population of \(n)")
        var setSize = 21
        if k > 5 {
            let exponent = Int((Foundation.log(Double(k * 3)) / Foundation.log(4.0)).rounded(.up))
            setSize += 1 << (2 * exponent)
        }
        var result = [Int](repeating: 0, count: k)
        if n <= setSize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = randbelow(n - i)
                result[i] = pool[j]
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for i in 0..<k {
                var j = randbelow(n)
                while selected.contains(j) { j = randbelow(n) }
                selected.insert(j)
                result[i] = j
            }
        }
        return result
    }

    /// `choices(range(n), k=k)` without weights: `floor(random() * n)` per draw.
    public mutating func choices(rangeCount n: Int, k: Int) -> [Int] {
        (0..<k).map { _ in Int((random() * Double(n)).rounded(.down)) }
    }
}
