import Foundation

/// Parameter counts of a model, computed from its spec (no weights needed).
/// `total` and `active` include the embeddings and the `lm_head` (as the model cards count them);
/// `active` counts the top-k routed experts, the shared experts and everything outside the experts.
public struct ParameterCount: Codable, Sendable, Equatable {
    public var total: Int
    public var active: Int
    public var embedding: Int
    public var lmHead: Int
    public var nonEmbeddingTotal: Int
    public var nonEmbeddingActive: Int

    init(spec: ModelSpec) {
        let h = spec.hiddenSize, qw = spec.qWidth, kvw = spec.kvWidth
        var attention = spec.attentionMatrices.reduce(2 * h) { $0 + $1.rows * $1.cols }  // projections, two layer norms
        if let latent = spec.attention.latent { attention += latent.kvLoraRank + (latent.qLoraRank ?? 0) }  // latent norms
        if spec.attention.qkvBias { attention += qw + kvw + spec.vWidth }
        if spec.attention.outputBias { attention += h }
        if spec.attention.sinks { attention += spec.headCount }
        switch spec.attention.qkNorm {
        case .none: break
        case .wholeProjection: attention += qw + kvw
        case .perHead: attention += 2 * spec.headDim
        }
        var total = 0, active = 0
        for layer in spec.layers {
            total += attention
            active += attention
            switch layer {
            case let .dense(intermediate):
                total += 3 * h * intermediate
                active += 3 * h * intermediate
            case let .moe(moe):
                let expert = 3 * h * moe.expertIntermediate + (moe.expertBias ? 2 * moe.expertIntermediate + h : 0)
                // The router, its selection bias, its own bias.
                var always = moe.experts * h + (moe.routing.selectionBias ? moe.experts : 0) + (moe.routerBias ? moe.experts : 0)
                if let shared = moe.shared { always += 3 * h * shared.intermediate + (shared.sigmoidGated ? h : 0) }
                total += always + moe.experts * expert
                active += always + moe.topK * expert
            }
        }
        embedding = spec.vocabSize * h
        lmHead = spec.tiedEmbeddings ? 0 : spec.vocabSize * h
        self.total = total + h + embedding + lmHead
        self.active = active + h + embedding + lmHead
        nonEmbeddingTotal = self.total - embedding - lmHead
        nonEmbeddingActive = self.active - embedding - lmHead
    }
}

/// The architecture summary `pipeline inspect-model` prints and the store records, from `config.json` alone.
public struct ModelSummary: Codable, Sendable, Equatable {
    public var modelType: String
    public var reference: String
    public var layers: Int
    public var moeLayers: [Int]
    public var denseLayers: [Int]
    public var experts: Int
    public var topK: Int
    public var renormalizeTopK: Bool
    /// The router's scoring function (`RoutingPolicy.Scoring` raw value: "softmax", "sigmoid", "softmax over
    /// chosen"), which RW's `normalize=router` applies; nil in summaries stored before it existed.
    public var routerScoring: String?
    /// The routing policy in words (`RoutingPolicy.description`); nil in summaries stored before it existed.
    public var routing: String?
    public var expertIntermediateSize: Int
    public var sharedExpertIntermediateSize: Int?
    public var sharedExpertGated: Bool?
    public var hiddenSize: Int
    public var vocabSize: Int
    public var attentionHeads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public var qkNorm: String
    public var qkvBias: Bool
    public var clipQKV: Float?
    /// YaRN in words (nil for plain RoPE, and in summaries stored before it existed).
    public var ropeScaling: String?
    /// MLA's ranks and head dims in words (nil without MLA, and in summaries stored before it existed).
    public var latentAttention: String?
    /// Sliding windows and attention sinks in words (nil without either, and in summaries stored before they existed).
    public var attentionWindows: String?
    /// The routed experts' activation and biases in words when not plain SiLU without biases (gpt-oss); nil otherwise.
    public var expertActivation: String?
    /// Granite's multipliers (nil elsewhere): embedding, residual, and the attention scale replacing 1/sqrt(head_dim).
    public var embeddingMultiplier: Float?
    public var residualMultiplier: Float?
    public var attentionScale: Float?
    public var maxPositionEmbeddings: Int
    public var ropeTheta: Double
    public var rmsNormEps: Float
    public var declaredDType: String?
    public var parameters: ParameterCount
    /// Bytes of all parameters (lm_head included) stored as F32, F16/BF16.
    public var bytesByDType: [String: Int]
    /// Bytes of the weight files as the config declares them when its experts are MXFP4 (half a byte a weight and a
    /// scale byte per 32; everything else BF16); nil otherwise, and in summaries stored before it existed.
    public var mxfp4CheckpointBytes: Int?
    /// Bytes per dtype actually present in the weight files (nil when inspected from config.json alone).
    public var weightFileBytesByDType: [String: Int]?
    /// Estimated resident weight bytes per quantization ("int8", "q4"): the quantized projections
    /// (`QuantizedSize`), the embedding in int8 under q4, routers and norms in BF16 (set by `inspect` only, nil in the store).
    public var quantizedWeightBytes: [String: Int]?
    /// Activation memory of one batch of `referenceBatchTokens` packed tokens (longest sequence 512).
    public var activationBytes: Int
    public static let referenceBatchTokens = 4096

    init(spec: ModelSpec, reference: String) {
        modelType = spec.modelType
        self.reference = reference
        layers = spec.layerCount
        moeLayers = spec.moeLayers
        denseLayers = spec.layers.indices.filter { spec.layers[$0].moe == nil }
        let moe = spec.layers.lazy.compactMap(\.moe).first
        experts = moe?.experts ?? 0
        topK = moe?.topK ?? 0
        renormalizeTopK = moe?.routing.renormalize ?? false
        routing = moe?.routing.description
        routerScoring = moe?.routing.scoring.rawValue
        expertIntermediateSize = moe?.expertIntermediate ?? 0
        sharedExpertIntermediateSize = moe?.shared?.intermediate
        sharedExpertGated = moe?.shared?.sigmoidGated
        hiddenSize = spec.hiddenSize
        vocabSize = spec.vocabSize
        attentionHeads = spec.headCount
        keyValueHeads = spec.kvHeadCount
        headDim = spec.headDim
        qkNorm = spec.attention.qkNorm.rawValue
        qkvBias = spec.attention.qkvBias
        clipQKV = spec.attention.clipQKV
        ropeScaling = spec.yarn.map {
            "yarn x\($0.factor) from \(Int($0.originalMaxPositions)) positions, attention factor \(String(format: "%.4f", $0.attentionFactor))"
        }
        latentAttention = spec.attention.latent.map {
            "MLA: q_lora_rank \($0.qLoraRank.map(String.init) ?? "none"), kv_lora_rank \($0.kvLoraRank), qk head \($0.qkNopeHeadDim) + rope \($0.qkRopeHeadDim), v head \($0.vHeadDim)"
        }
        let windowed = spec.slidingWindow.map { window in (0..<spec.layerCount).filter { spec.window(layer: $0) == window } } ?? []
        var windowParts: [String] = []
        if let window = spec.slidingWindow, !windowed.isEmpty {
            windowParts.append("sliding window \(window) on \(windowed.count == spec.layerCount ? "every layer" : "layers \(Self.ranges(windowed)) (\(windowed.count) of \(spec.layerCount))")")
        }
        if spec.attention.sinks { windowParts.append("a learned sink logit per head") }
        attentionWindows = windowParts.isEmpty ? nil : windowParts.joined(separator: "; ")
        if let moe, moe.activation != .silu || moe.expertBias || moe.routerBias {
            var parts: [String] = []
            if case let .clampedSwiGLU(alpha, limit) = moe.activation {
                parts.append("clamped SwiGLU (gate <= \(limit), up in ±\(limit), gate·sigmoid(\(alpha)·gate)·(up + 1))")
            }
            let biased = (moe.routerBias ? ["router"] : []) + (moe.expertBias ? ["every expert projection"] : [])
            if !biased.isEmpty { parts.append("biases on the " + biased.joined(separator: " and ")) }
            expertActivation = parts.joined(separator: "; ")
        }
        embeddingMultiplier = spec.embeddingMultiplier
        residualMultiplier = spec.residualMultiplier
        attentionScale = spec.attention.scale
        maxPositionEmbeddings = spec.maxPositions
        ropeTheta = spec.ropeTheta
        rmsNormEps = spec.rmsNormEps
        declaredDType = spec.declaredDType
        parameters = ParameterCount(spec: spec)
        bytesByDType = ["F32": parameters.total * 4, "BF16": parameters.total * 2, "F16": parameters.total * 2]
        if spec.mxfp4Experts {
            let expertWeights = spec.layers.compactMap(\.moe).reduce(0) { $0 + $1.experts * 3 * spec.hiddenSize * $1.expertIntermediate }
            mxfp4CheckpointBytes = (parameters.total - expertWeights) * 2 + expertWeights / 2 + expertWeights / 32
        }
        activationBytes = MemoryRequirement(spec: spec, weightBytes: 0, tokenBudget: Self.referenceBatchTokens,
                                            longestSequence: min(512, spec.maxPositions)).activationBytes
    }

    /// Reads and validates `DIR/config.json` only: works on folders without weights. `path` may also name a config
    /// JSON file itself (e.g. a reconstructed config kept beside the real one's place).
    public static func inspect(directory path: URL) throws -> ModelSummary {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory)
        let configURL = exists && !isDirectory.boolValue ? path : path.appendingPathComponent(Checkpoint.configName)
        let data = exists && !isDirectory.boolValue
            ? try Checkpoint.readConfigFile(configURL) : try Checkpoint.readConfig(directory: path)
        let (spec, architecture) = try Architectures.spec(config: data, file: configURL.path)
        var summary = ModelSummary(spec: spec, reference: architecture.reference)
        summary.quantizedWeightBytes = Dictionary(uniqueKeysWithValues: [Quantization.int8, .q4].map {
            ($0.rawValue, QuantizedSize(spec: spec, format: $0).residentBytes)
        })
        if isDirectory.boolValue, let checkpoint = try? Checkpoint(directory: path) {
            summary.weightFileBytesByDType = checkpoint.bytesByDType
        }
        return summary
    }

    /// Human-readable lines for `pipeline inspect-model`.
    public var text: String {
        func billions(_ n: Int) -> String { String(format: "%.2fB", Double(n) / 1e9) }
        func gib(_ n: Int) -> String { String(format: "%.2f GiB", Double(n) / 1_073_741_824) }
        var lines = [
            "model_type: \(modelType)  (\(reference))",
            "layers: \(layers)  MoE: \(Self.ranges(moeLayers))  dense: \(denseLayers.isEmpty ? "none" : Self.ranges(denseLayers))",
            "experts: \(experts) routed, top-\(topK)\(renormalizeTopK ? " renormalised" : ""), expert intermediate \(expertIntermediateSize)"
                + (routing.map { "; routing: \($0)" } ?? ""),
        ]
        if let shared = sharedExpertIntermediateSize {
            lines.append("shared experts: intermediate \(shared), \(sharedExpertGated == true ? "sigmoid-gated" : "ungated")")
        }
        lines += [
            "hidden size: \(hiddenSize)  vocab: \(vocabSize)",
            "attention: \(attentionHeads) heads, \(keyValueHeads) kv heads (\(attentionHeads == keyValueHeads ? "MHA" : "GQA")), head_dim \(headDim), q/k norm: \(qkNorm)\(qkvBias ? ", qkv bias" : "")\(clipQKV.map { ", clip_qkv \($0)" } ?? "")",
        ]
        if let latentAttention { lines.append("attention kind: \(latentAttention)") }
        if let attentionWindows { lines.append("attention windows: \(attentionWindows)") }
        if let expertActivation { lines.append("experts compute: \(expertActivation)") }
        if embeddingMultiplier != nil || residualMultiplier != nil {
            lines.append("multipliers: embedding \(embeddingMultiplier ?? 1), residual \(residualMultiplier ?? 1), attention scale \(attentionScale.map { "\($0)" } ?? "1/sqrt(head_dim)")")
        } else if let attentionScale {
            // MLA (and YaRN's mscale) set the q·k scale without Granite's multipliers.
            lines.append("attention scale: \(attentionScale)")
        }
        lines += [
            "positions: \(maxPositionEmbeddings), rope_theta \(ropeTheta)\(ropeScaling.map { " (\($0))" } ?? ""), rms_norm_eps \(rmsNormEps)",
            "parameters: \(billions(parameters.total)) total, \(billions(parameters.active)) active (with embeddings and lm_head); non-embedding \(billions(parameters.nonEmbeddingTotal)) total, \(billions(parameters.nonEmbeddingActive)) active",
            "bytes: F32 \(gib(bytesByDType["F32"] ?? 0)), BF16/F16 \(gib(bytesByDType["BF16"] ?? 0))\(declaredDType.map { "  (config dtype: \($0))" } ?? "")",
        ]
        if let files = weightFileBytesByDType {
            lines.append("weight files: " + files.keys.sorted().map { "\($0) \(gib(files[$0] ?? 0))" }.joined(separator: ", "))
        }
        let weights = weightFileBytesByDType.map { $0.values.reduce(0, +) } ?? mxfp4CheckpointBytes ?? bytesByDType["BF16"] ?? 0
        let assumed = weightFileBytesByDType != nil ? "" : mxfp4CheckpointBytes != nil ? " (MXFP4 experts, BF16 rest)" : " (as BF16)"
        lines.append("memory to run: weights \(gib(weights))\(assumed) memory-mapped"
            + " + activations \(gib(activationBytes)) per \(Self.referenceBatchTokens)-token batch"
            + " (physical: \(gib(Int(clamping: ProcessInfo.processInfo.physicalMemory))))")
        if let quantized = quantizedWeightBytes, let int8 = quantized["int8"], let q4 = quantized["q4"] {
            lines.append("quantized weights resident (embedding BF16 under int8 and int8 under q4, routers BF16): int8 \(gib(int8)), q4 \(gib(q4))"
                         + "; + activations \(gib(activationBytes)): int8 \(gib(int8 + activationBytes)), q4 \(gib(q4 + activationBytes))")
        }
        return lines.joined(separator: "\n")
    }

    private static func ranges(_ values: [Int]) -> String {
        guard let first = values.first else { return "none" }
        var parts: [String] = [], start = first, previous = first
        for value in values.dropFirst() + [Int.min] {
            if value == previous + 1 { previous = value; continue }
            parts.append(start == previous ? "\(start)" : "\(start)-\(previous)")
            start = value; previous = value
        }
        return parts.joined(separator: ",")
    }
}

extension Checkpoint {
    /// Bytes per dtype over every tensor of the weight files.
    public var bytesByDType: [String: Int] {
        var bytes: [String: Int] = [:]
        for name in tensorNames { if let info = info(name) { bytes[info.dtype.rawValue, default: 0] += info.byteRange.count } }
        return bytes
    }
}
