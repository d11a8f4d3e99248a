/// Deterministic stand-in embeddings derived from the text alone, identical in Swift and in the Python
/// reference generator (`scripts/reference/make_parity.py`): for parity fixtures and benchmarks.
///
/// `vector(text)` = for i in 0..<d: `(mix(fnv1a64(utf8(text)) + (i + 1) * 0x9E3779B97F4A7C15) >> 40) / 2^24 - 0.5`
/// with splitmix64's finaliser as `mix`; every value is exact in float32. `bagOfWords(text)` sums, in float32
/// and in UTF-8 byte order of the tokens, the vectors of the text's space-separated tokens: texts sharing words
/// get similar vectors, texts with the same words in any order get identical ones (ties), an empty text zero.
public enum HashedEmbeddings {
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return hash
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Appends the random vector of `text` to `out`.
    public static func appendVector(of text: String, dimension: Int, to out: inout [Float]) {
        let seed = fnv1a64(text)
        for i in 0..<dimension {
            let z = mix(seed &+ UInt64(i + 1) &* 0x9E3779B97F4A7C15)
            out.append(Float(z >> 40) / 16_777_216 - 0.5)
        }
    }

    /// One random row per text.
    public static func random(_ texts: [String], dimension: Int) -> EmbeddingTable {
        var values: [Float] = []
        values.reserveCapacity(texts.count * dimension)
        for text in texts { appendVector(of: text, dimension: dimension, to: &values) }
        return EmbeddingTable(texts: texts, matrix: EmbeddingMatrix(rows: texts.count, dimension: dimension, values: values))
    }

    /// Bag-of-words rows. With `scaled`, each row is multiplied by `1 + fnv1a64(sorted tokens joined by " ") % 7`
    /// (norms vary widely: cosine, dot and euclidean disagree); with `zeros`, rows of texts with
    /// `fnv1a64(text) % 37 == 0` are zero.
    public static func bagOfWords(_ texts: [String], dimension: Int, scaled: Bool = false, zeros: Bool = false) -> EmbeddingTable {
        var cache: [Substring: [Float]] = [:]
        var values: [Float] = []
        values.reserveCapacity(texts.count * dimension)
        for text in texts {
            var sum = [Float](repeating: 0, count: dimension)
            // Tokens in UTF-8 byte order: texts with the same words in any order get bit-identical vectors
            // (true ties), never vectors one rounding apart whose order would be float32 noise.
            let tokens = text.split(separator: " ", omittingEmptySubsequences: true)
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for token in tokens {
                let vector: [Float]
                if let cached = cache[token] { vector = cached } else {
                    var fresh: [Float] = []
                    appendVector(of: String(token), dimension: dimension, to: &fresh)
                    cache[token] = fresh
                    vector = fresh
                }
                for i in 0..<dimension { sum[i] += vector[i] }
            }
            // Scaled by the bag (not the text), so that equal bags stay bit-identical.
            if scaled {
                let scale = Float(1 + fnv1a64(tokens.joined(separator: " ")) % 7)
                for i in 0..<dimension { sum[i] *= scale }
            }
            if zeros && fnv1a64(text) % 37 == 0 { sum = [Float](repeating: 0, count: dimension) }
            values.append(contentsOf: sum)
        }
        return EmbeddingTable(texts: texts, matrix: EmbeddingMatrix(rows: texts.count, dimension: dimension, values: values))
    }
}
