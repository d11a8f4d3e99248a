// MT19937, the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998) with the standard tempering: the generator
// behind both NumPy's legacy `RandomState` and CPython's `random.Random`, which differ only in how they seed it
// and how they turn its words into numbers (see NumPyRandomState.swift and PythonRandom.swift).

/// The raw MT19937 word stream.
public struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private var state = [UInt32](repeating: 0, count: 624)
    private var position = 624

    /// `init_genrand(seed)`: the linear-congruential fill used by NumPy for an integer seed.
    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<Self.n {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
        position = Self.n
    }

    /// `init_by_array(key)` on top of `init_genrand(19650218)`: how CPython seeds from an integer.
    public init(key: [UInt32]) {
        self.init(seed: 19_650_218)
        let n = Self.n
        var i = 1, j = 0
        for _ in 0..<max(n, key.count) {
            let previous = state[i - 1]
            state[i] = (state[i] ^ ((previous ^ (previous >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= n { state[0] = state[n - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(n - 1) {
            let previous = state[i - 1]
            state[i] = (state[i] ^ ((previous ^ (previous >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= n { state[0] = state[n - 1]; i = 1 }
        }
        state[0] = 0x8000_0000
        position = n
    }

    /// The next tempered 32-bit word.
    public mutating func next() -> UInt32 {
        if position >= Self.n { twist() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) from two words (53 random bits): NumPy's `random_sample` and CPython's `random()`.
    public mutating func nextDouble() -> Double {
        let a = Double(next() >> 5), b = Double(next() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    private mutating func twist() {
        let n = Self.n, m = Self.m
        state.withUnsafeMutableBufferPointer { mt in
            for k in 0..<n {
                let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % n] & 0x7FFF_FFFF)
                mt[k] = mt[(k + m) % n] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_B0DF)
            }
        }
        position = 0
    }
}
