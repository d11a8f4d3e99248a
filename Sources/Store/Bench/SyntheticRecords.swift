// Deterministic, realistic-looking records for benchmarks and the crash test.
import Foundation

/// Generates record `i` the same way every time, shaped like a real model's output.
///
/// Values are not uniform noise (which no codec can compress and no model produces): every (entry, dimension)
/// has its own mean and scale, fixed per generator, and each record adds approximately Gaussian noise (the sum of
/// four uniforms) on top. Scales grow with depth, a few dimensions carry large "massive activation" offsets as in
/// real LLM residual streams, the final-norm entry is rescaled to unit-ish size, mean pooling varies less than
/// last-token pooling, and router logits have a per-expert bias. Compression ratios measured on this data are
/// therefore those of smooth float data with random low mantissa bits, like the real thing.
public struct SyntheticRecords: Sendable {
    public let hiddenLayers: Int
    public let hiddenSize: Int
    public let routerLayers: [Int]
    public let experts: Int
    public let seed: UInt64
    private let hiddenMean: [Float]
    private let hiddenScale: [Float]
    private let routerBias: [Float]

    /// OLMoE-1B-7B: 16 decoder layers (17 hidden-state entries) of 2048, 16 MoE layers of 64 experts.
    public static func olmoe(seed: UInt64 = 1) -> SyntheticRecords {
        SyntheticRecords(hiddenLayers: 17, hiddenSize: 2048, routerLayers: Array(0..<16), experts: 64, seed: seed)
    }

    public init(hiddenLayers: Int, hiddenSize: Int, routerLayers: [Int], experts: Int, seed: UInt64 = 1) {
        self.hiddenLayers = hiddenLayers
        self.hiddenSize = hiddenSize
        self.routerLayers = routerLayers
        self.experts = experts
        self.seed = seed
        var random = SplitMix64(seed: seed)
        var mean = [Float](repeating: 0, count: hiddenLayers * hiddenSize)
        var scale = [Float](repeating: 0, count: hiddenLayers * hiddenSize)
        for entry in 0..<hiddenLayers {
            let depth = Float(entry + 1) / Float(hiddenLayers)
            let finalNorm = entry == hiddenLayers - 1
            for d in 0..<hiddenSize {
                let i = entry * hiddenSize + d
                scale[i] = finalNorm ? 1.0 + random.gaussian() * 0.2 : (0.05 + depth * 1.5) * (1 + abs(random.gaussian()) * 0.5)
                mean[i] = random.gaussian() * scale[i] * 0.5
                if d % 509 == 7 && entry > 1 && !finalNorm { mean[i] += 150 * depth * (d % 2 == 0 ? 1 : -1) }
            }
        }
        hiddenMean = mean
        hiddenScale = scale
        routerBias = (0..<(routerLayers.count * experts)).map { _ in random.gaussian() * 0.8 }
    }

    /// The text of record `index`.
    public func text(_ index: Int) -> String { "synthetic text #\(index): a sentence of moderate length about embeddings." }

    /// Record `index`: the same values for the same generator and index, always.
    public func record(_ index: Int) -> PooledRecord {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        var hidden: [Pooling: [Float]] = [:], router: [Pooling: [Float]] = [:]
        for pooling in Pooling.allCases {
            let spread: Float = pooling == .last ? 1 : 0.3
            hidden[pooling] = [Float](unsafeUninitializedCapacity: hiddenMean.count) { buffer, count in
                for i in 0..<hiddenMean.count { buffer[i] = hiddenMean[i] + hiddenScale[i] * spread * random.gaussian() }
                count = hiddenMean.count
            }
            router[pooling] = routerBias.map { $0 + spread * 1.5 * random.gaussian() }
        }
        return PooledRecord(text: text(index), tokenCount: 8 + index % 120, truncated: index % 97 == 0,
                            hiddenStates: hidden, routerLogits: router, hiddenLayers: hiddenLayers,
                            hiddenSize: hiddenSize, routerLayers: routerLayers, experts: experts)
    }

    /// The model and prompt identities the synthetic records are stored under.
    public var model: ModelIdentity {
        ModelIdentity(name: "synthetic-moe", variant: "f32", fingerprint: "synthetic-\(seed)-\(hiddenLayers)x\(hiddenSize)",
                      architectureJSON: "{\"hidden_entries\":\(hiddenLayers),\"hidden_size\":\(hiddenSize),"
                          + "\"moe_layers\":\(routerLayers.count),\"experts\":\(experts)}")
    }

    public var prompt: PromptIdentity { PromptIdentity(name: "none", specification: "{\"template\":\"\\\"{text}\\\"\"}") }

    /// Raw float32 bytes of one record (both poolings, hidden states and router logits).
    public var float32BytesPerRecord: Int { Pooling.allCases.count * (hiddenLayers * hiddenSize + routerLayers.count * experts) * 4 }
}

/// SplitMix64: tiny, fast, and the same on every platform.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Approximately standard normal: the sum of four 16-bit uniforms, centred and scaled to unit variance.
    mutating func gaussian() -> Float {
        let bits = next()
        let sum = Float(bits & 0xFFFF) + Float((bits >> 16) & 0xFFFF) + Float((bits >> 32) & 0xFFFF) + Float(bits >> 48)
        return (sum / 65536 - 2) * 1.7320508
    }
}

extension EmbeddingStore {
    /// The crash test's writer: stores records `0, 1, 2, ...` of `generator` in batches of `batch` (one transaction
    /// each), skipping those already stored, until `count` records exist (forever when nil).
    public static func writeLoop(path: String, generator: SyntheticRecords, batch: Int, count: Int?,
                                 options: StoreOptions = .init()) throws {
        let store = try EmbeddingStore(path: path, options: options)
        let model = try store.register(generator.model)
        let prompt = try store.register(generator.prompt)
        var next = 0
        while count.map({ next < $0 }) ?? true {
            let end = count.map { min(next + batch, $0) } ?? next + batch
            let indices = Array(next..<end)
            let missing = Set(try store.missingTexts(model: model, prompt: prompt, texts: indices.map(generator.text)))
            let records = indices.map(generator.text).enumerated().filter { missing.contains($0.element) }
                .map { generator.record(indices[$0.offset]) }
            try store.put(records, model: model, prompt: prompt)
            next = end
        }
    }
}
