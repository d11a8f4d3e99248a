// The value types of the store's public API.

/// How a sequence's token vectors were reduced to one vector: the one definition, used by the store's records,
/// Score's recipes and the manifest's `pooling` grids.
public enum Pooling: String, Codable, Sendable, CaseIterable {
    /// The last valid (non-pad) token.
    case last
    /// The mean over valid tokens.
    case mean
}

/// A model as the cache keys it: the same name and variant with another fingerprint is another model, so a
/// changed checkpoint never reuses stale records.
public struct ModelIdentity: Sendable, Hashable {
    public var name: String
    /// dtype / quantization the forward pass ran in, e.g. "f32" or "bf16".
    public var variant: String
    /// A fingerprint of config and weights.
    public var fingerprint: String
    /// A summary of the architecture (layers, hidden size, experts, ...) for people reading the store.
    public var architectureJSON: String

    public init(name: String, variant: String, fingerprint: String, architectureJSON: String) {
        self.name = name
        self.variant = variant
        self.fingerprint = fingerprint
        self.architectureJSON = architectureJSON
    }

    /// "name (variant)", for messages.
    public var displayName: String { "\(name) (\(variant))" }
}

/// A prompt as the cache keys it: everything that changes the rendered model input.
public struct PromptIdentity: Sendable, Hashable {
    public var name: String
    /// The canonical rendering spec: template, instruction, preprocessing flags, max length.
    public var specification: String

    public init(name: String, specification: String) {
        self.name = name
        self.specification = specification
    }
}

/// The row id of a registered model in one store file (ids differ between files).
public struct ModelID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { "model#\(rawValue)" }
}

/// The row id of a registered prompt in one store file.
public struct PromptID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { "prompt#\(rawValue)" }
}

/// Everything stage one keeps of one text: pooled hidden states and router logits, both poolings.
public struct PooledRecord: Sendable, Equatable {
    public var text: String
    public var tokenCount: Int
    /// The text was shortened to fit the model's or manifest's maximum length.
    public var truncated: Bool
    /// Per pooling: `hiddenLayers * hiddenSize` values, entry-major (entry 0 = embedding output, last = final norm).
    public var hiddenStates: [Pooling: [Float]]
    /// Per pooling: `routerLayers.count * experts` values, MoE layers in order, raw gate logits.
    public var routerLogits: [Pooling: [Float]]
    /// Number of hidden-state entries, L+1.
    public var hiddenLayers: Int
    public var hiddenSize: Int
    /// Decoder-layer index of each router entry.
    public var routerLayers: [Int]
    public var experts: Int

    public init(text: String, tokenCount: Int, truncated: Bool, hiddenStates: [Pooling: [Float]],
                routerLogits: [Pooling: [Float]], hiddenLayers: Int, hiddenSize: Int, routerLayers: [Int], experts: Int) {
        self.text = text
        self.tokenCount = tokenCount
        self.truncated = truncated
        self.hiddenStates = hiddenStates
        self.routerLogits = routerLogits
        self.hiddenLayers = hiddenLayers
        self.hiddenSize = hiddenSize
        self.routerLayers = routerLayers
        self.experts = experts
    }

    var shape: TensorShape {
        TensorShape(hiddenEntries: hiddenLayers, hiddenSize: hiddenSize, routerLayers: routerLayers, experts: experts)
    }
}

/// The tensor sizes every record of one model shares (recorded with the model by its first record).
public struct TensorShape: Sendable, Hashable, CustomStringConvertible {
    public var hiddenEntries: Int
    public var hiddenSize: Int
    public var routerLayers: [Int]
    public var experts: Int

    public var routerDimension: Int { routerLayers.count * experts }

    public var description: String {
        "\(hiddenEntries) x \(hiddenSize) hidden states, \(routerLayers.count) x \(experts) router logits"
    }
}

/// Options for opening a store.
public struct StoreOptions: Sendable {
    /// Codec of hidden states; nil = the store's own (new stores: F16, shuffled, LZ4).
    public var hiddenStates: TensorCodec?
    /// Codec of router logits; nil = the store's own (new stores: F32, shuffled, LZ4).
    public var routerLogits: TensorCodec?
    /// Take the store's writer lock (`DB.lock`); a second writer then fails at once naming the holder's pid.
    public var exclusiveWriter: Bool
    /// How long a statement waits for another connection's lock before failing.
    public var busyTimeoutMilliseconds: Int
    /// Threads decoding blobs in bulk reads and verify; nil = the number of cores.
    public var decodeThreads: Int?

    public static let defaultHiddenCodec = TensorCodec(dtype: .f16, shuffle: true)
    public static let defaultRouterCodec = TensorCodec(dtype: .f32, shuffle: true)

    public init(hiddenStates: TensorCodec? = nil, routerLogits: TensorCodec? = nil, exclusiveWriter: Bool = false,
                busyTimeoutMilliseconds: Int = 30_000, decodeThreads: Int? = nil) {
        self.hiddenStates = hiddenStates
        self.routerLogits = routerLogits
        self.exclusiveWriter = exclusiveWriter
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.decodeThreads = decodeThreads
    }
}

/// A model registered in a store.
public struct StoredModel: Sendable, Hashable {
    public var id: ModelID
    public var identity: ModelIdentity
    /// nil until the first record is stored.
    public var shape: TensorShape?
}

/// A prompt registered in a store.
public struct StoredPrompt: Sendable, Hashable {
    public var id: PromptID
    public var identity: PromptIdentity
}
