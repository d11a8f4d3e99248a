// NumPy's legacy `np.random.RandomState(seed)` for an integer seed, for the calls mteb and scikit-learn make:
// `shuffle`, `randint`, `random_sample`/`uniform`, `choice` with `p` and `choice` without replacement.
// Recipes: numpy/random/mtrand.pyx and numpy/random/src/legacy + distributions (read, not copied).

/// A port of `np.random.RandomState(seed)` (MT19937 seeded by `init_genrand`).
public struct NumPyRandomState: Sendable {
    private var twister: MersenneTwister

    public init(seed: UInt32) { twister = MersenneTwister(seed: seed) }

    /// The next raw 32-bit word (NumPy's `next_uint32`).
    public mutating func nextUInt32() -> UInt32 { twister.next() }

    /// `random_sample()`: a double in [0, 1) with 53 random bits.
    public mutating func randomSample() -> Double { twister.nextDouble() }

    /// `random_sample(size)` / `uniform(size=size)`.
    public mutating func randomSample(count: Int) -> [Double] {
        (0..<count).map { _ in twister.nextDouble() }
    }

    /// NumPy's `random_interval(max)`: uniform in [0, max] by masking to the smallest 2^b - 1 >= max and
    /// rejecting values above `max`. Consumes nothing when `max` is 0.
    public mutating func randomInterval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4
        mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32
        if max <= 0xFFFF_FFFF {
            while true {
                let value = UInt64(twister.next()) & mask
                if value <= max { return value }
            }
        }
        while true {
            let high = UInt64(twister.next()), low = UInt64(twister.next())
            let value = ((high << 32) | low) & mask
            if value <= max { return value }
        }
    }

    /// `shuffle(x)` in place (Fisher-Yates from the end, `random_interval(i)` per position).
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, through: 1, by: -1) {
            let j = Int(randomInterval(UInt64(i)))
            values.swapAt(i, j)
        }
    }

    /// `permutation(n)`: a shuffled `arange(n)`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var values = Array(0..<n)
        shuffle(&values)
        return values
    }

    /// `randint(low, high, size)` for the default 64-bit integer dtype (masked rejection on `high - low - 1`).
    public mutating func randint(_ low: Int, _ high: Int, count: Int) -> [Int] {
        precondition(high > low, "randint: empty range [\(low), \(high))")
        let range = UInt64(high - low - 1)
        return (0..<count).map { _ in low + Int(randomInterval(range)) }
    }

    /// `choice(n, size, p=p, replace=True)`: `cdf = cumsum(p) / cdf[-1]` (float64, sequential), one
    /// `random_sample` per draw, `searchsorted(cdf, u, side="right")`.
    public mutating func choice(_ n: Int, count: Int, probabilities p: [Double]) -> [Int] {
        precondition(p.count == n && n > 0, "choice: \(p.count) probabilities for \(n) items")
        return choice(count: count, cumulative: Self.normalizedCumulative(p))
    }

    /// `choice` with a `cdf` already made by `normalizedCumulative` (for repeated draws with the same `p`).
    public mutating func choice(count: Int, cumulative cdf: [Double]) -> [Int] {
        cdf.withUnsafeBufferPointer { cdf in
            (0..<count).map { _ in
                let u = twister.nextDouble()
                return Swift.min(Self.searchSortedRight(cdf, u, guess: Int(u * Double(cdf.count))), cdf.count - 1)
            }
        }
    }

    /// `cumsum(p) / cdf[-1]` as `choice` computes it.
    public static func normalizedCumulative(_ p: [Double]) -> [Double] {
        var cdf = [Double](repeating: 0, count: p.count)
        var running = 0.0
        for i in 0..<p.count { running += p[i]; cdf[i] = running }
        if let total = cdf.last { for i in 0..<cdf.count { cdf[i] /= total } }
        return cdf
    }

    /// `choice(n, size, replace=False)` without `p`: the first `count` entries of `permutation(n)`.
    public mutating func choiceWithoutReplacement(_ n: Int, count: Int) -> [Int] {
        precondition(count <= n, "choice: cannot take \(count) of \(n) without replacement")
        return Array(permutation(n).prefix(count))
    }
}

extension NumPyRandomState {
    /// `np.searchsorted(sorted, value, side="right")`: the number of entries <= value.
    static func searchSortedRight(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// `searchSortedRight` starting from a guessed position: a few steps from the guess (k-means draws from a
    /// uniform cdf, where `u * count` is within one or two entries), else the binary search. Exact for any
    /// sorted input: the first index whose entry exceeds `value`.
    static func searchSortedRight(_ sorted: UnsafeBufferPointer<Double>, _ value: Double, guess: Int) -> Int {
        var position = Swift.max(0, Swift.min(guess, sorted.count))
        for _ in 0..<8 {
            if position < sorted.count && sorted[position] <= value {
                position += 1
            } else if position > 0 && sorted[position - 1] > value {
                position -= 1
            } else {
                return position
            }
        }
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// `np.searchsorted(sorted, value, side="left")`: the number of entries < value.
    static func searchSortedLeft(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
