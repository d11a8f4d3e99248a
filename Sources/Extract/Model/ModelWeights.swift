import Foundation

/// A SiLU-gated MLP: down(silu(gate(x)) * up(x)).  // gate, up: (I, H); down: (H, I)
struct MLPWeights {
    var gate: WeightMatrix
    var up: WeightMatrix
    var down: WeightMatrix
    var intermediate: Int { gate.rows }
}

/// Biases of a gated MLP's projections (gpt-oss experts): gate, up (I) and down (H).
struct MLPBiases {
    var gate: [Float]
    var up: [Float]
    var down: [Float]
}

struct AttentionWeights {
    var projections: AttentionProjections
    var o: WeightMatrix  // (H, heads * v_head_dim)
    var qBias: [Float]?, kBias: [Float]?, vBias: [Float]?, oBias: [Float]?
    var qNorm: [Float]?, kNorm: [Float]?
    /// One sink logit per head (`AttentionSpec.sinks`).
    var sinks: [Float]? = nil

    /// Every matrix with its short name (`ModelSpec.attentionMatrices`' names and order): what quantizing, packing,
    /// byte counts and the quantized cache walk.
    var matrices: [(name: String, matrix: WeightMatrix)] {
        switch projections {
        case let .grouped(q, k, v):
            return [("q", q), ("k", k), ("v", v), ("o", o)]
        case let .latent(latent):
            let query: [(name: String, matrix: WeightMatrix)]
            switch latent.query {
            case let .direct(q): query = [("q", q)]
            case let .lowRank(a, _, b): query = [("q_a", a), ("q_b", b)]
            }
            return query + [("kv_a", latent.kvA), ("kv_b", latent.kvB), ("o", o)]
        }
    }

    /// The weights with `transform(name, matrix)` applied to every matrix of `matrices`, in that order.
    func mapMatrices(_ transform: (String, WeightMatrix) -> WeightMatrix) -> AttentionWeights {
        var result = self
        result.o = transform("o", o)
        switch projections {
        case let .grouped(q, k, v):
            result.projections = .grouped(q: transform("q", q), k: transform("k", k), v: transform("v", v))
        case var .latent(latent):
            switch latent.query {
            case let .direct(q): latent.query = .direct(transform("q", q))
            case let .lowRank(a, norm, b): latent.query = .lowRank(a: transform("q_a", a), norm: norm, b: transform("q_b", b))
            }
            latent.kvA = transform("kv_a", latent.kvA)
            latent.kvB = transform("kv_b", latent.kvB)
            result.projections = .latent(latent)
        }
        return result
    }
}

enum AttentionProjections {
    /// MHA / GQA: q (heads * head_dim, H), k and v (kv_heads * head_dim, H).
    case grouped(q: WeightMatrix, k: WeightMatrix, v: WeightMatrix)
    case latent(LatentAttentionWeights)
}

/// MLA's projections (`LatentAttentionSpec`).
struct LatentAttentionWeights {
    enum Query {
        /// q_proj (heads * qk_head_dim, H).
        case direct(WeightMatrix)
        /// q_a_proj (q_lora_rank, H), q_a_layernorm, q_b_proj (heads * qk_head_dim, q_lora_rank).
        case lowRank(a: WeightMatrix, norm: [Float], b: WeightMatrix)
    }
    var query: Query
    var kvA: WeightMatrix       // kv_a_proj_with_mqa (kv_lora_rank + rope, H)
    var kvANorm: [Float]        // kv_a_layernorm (kv_lora_rank)
    var kvB: WeightMatrix       // kv_b_proj (heads * (nope + v_head_dim), kv_lora_rank)
}

struct MoEWeights {
    var spec: MoESpec
    var router: WeightMatrix  // (E, H)
    var experts: [MLPWeights]
    var shared: MLPWeights?
    var sharedGate: WeightMatrix?  // (1, H)
    /// `e_score_correction_bias` (E): added to the router scores to choose experts only (`RoutingPolicy.selectionBias`).
    var selectionBias: [Float]? = nil
    /// The router linear's bias (E), `MoESpec.routerBias`.
    var routerBias: [Float]? = nil
    /// Each routed expert's projection biases, `MoESpec.expertBias`.
    var expertBiases: [MLPBiases]? = nil
}

enum FeedForwardWeights {
    case dense(MLPWeights)
    case moe(MoEWeights)
}

struct LayerWeights {
    var inputNorm: [Float]
    var postAttentionNorm: [Float]
    var attention: AttentionWeights
    var feedForward: FeedForwardWeights
}

/// Every weight of a model, by role, pointing into the memory-mapped checkpoint. `lm_head` is never loaded.
struct ModelWeights {
    var embedding: WeightMatrix  // (V, H)
    var layers: [LayerWeights]
    var finalNorm: [Float]
    /// Bytes of the checkpoint tensors the forward pass reads (lm_head excluded): what must stay resident.
    var usedBytes: Int
}

/// Looks weights up by Hugging Face name and collects every problem (missing, wrong shape, unexpected) so the
/// error lists them all at once instead of one per run.
struct WeightLoader {
    let checkpoint: Checkpoint
    let architecture: any Architecture.Type
    private(set) var consumed: Set<String> = []
    private(set) var usedBytes = 0
    private(set) var missing: [String] = []
    private(set) var wrongShape: [String] = []
    private(set) var badType: [(name: String, dtype: String)] = []

    /// Tensors a checkpoint may hold that the forward pass never reads.
    static func isIgnorable(_ name: String) -> Bool {
        name == "lm_head.weight" || name.hasSuffix("rotary_emb.inv_freq")
    }

    init(checkpoint: Checkpoint, architecture: any Architecture.Type) {
        self.checkpoint = checkpoint
        self.architecture = architecture
    }

    private mutating func lookup(_ role: TensorRole, layer: Int, shape: [Int], alsoAccepting other: [Int]? = nil) -> (SafetensorsFile, TensorInfo)? {
        guard let found = lookup(name: architecture.tensorName(role, layer: layer), shape: shape, alsoAccepting: other,
                                 accepts: \.isWeightType) else { return nil }
        usedBytes += found.1.byteRange.count
        return found
    }

    /// A tensor by name, of one of the `shape`s and a dtype `accepts` takes; records what is wrong otherwise.
    private mutating func lookup(name: String, shape: [Int], alsoAccepting other: [Int]? = nil,
                                 accepts: (TensorDType) -> Bool) -> (SafetensorsFile, TensorInfo)? {
        consumed.insert(name)
        guard let (file, info) = try? checkpoint.tensor(name) else {
            missing.append(name)
            return nil
        }
        guard info.shape == shape || info.shape == other else {
            wrongShape.append("\(name) is \(info.shape), config.json implies \(shape)")
            return nil
        }
        guard accepts(info.dtype) else {
            badType.append((name, info.dtype.rawValue))
            return nil
        }
        return (file, info)
    }

    mutating func matrix(_ role: TensorRole, layer: Int = 0, rows: Int, cols: Int) -> WeightMatrix? {
        guard let (file, info) = lookup(role, layer: layer, shape: [rows, cols]),
              let base = file.bytes(of: info).baseAddress else { return nil }
        return WeightMatrix(rows: rows, cols: cols, dtype: info.dtype, base: base, owner: file)
    }

    /// A (count) tensor; ERNIE stores its correction bias as (1, count), which reads the same.
    mutating func vector(_ role: TensorRole, layer: Int = 0, count: Int) -> [Float]? {
        guard let (file, info) = lookup(role, layer: layer, shape: [count], alsoAccepting: [1, count]) else { return nil }
        return try? DTypeConversion.floats(from: file.bytes(of: info), dtype: info.dtype, tensor: info.name)
    }

    /// A (rows, cols) tensor as floats, row-major (stacked expert biases).
    mutating func table(_ role: TensorRole, layer: Int, rows: Int, cols: Int) -> [Float]? {
        guard let (file, info) = lookup(role, layer: layer, shape: [rows, cols]) else { return nil }
        return try? DTypeConversion.floats(from: file.bytes(of: info), dtype: info.dtype, tensor: info.name)
    }

    /// The routed experts' projection biases (`MoESpec.expertBias`), stored stacked: gate/up as the weights lay out
    /// their rows (`ExpertTensors`: alternating, or gate then up), down per expert.
    mutating func expertBiases(layer: Int, count: Int, hidden: Int, intermediate: Int) -> [MLPBiases]? {
        let gateUp = table(.stackedExpertBias(.gate), layer: layer, rows: count, cols: 2 * intermediate)
        let down = table(.stackedExpertBias(.down), layer: layer, rows: count, cols: hidden)
        guard let gateUp, let down else { return nil }
        let alternating = architecture.expertTensors == .interleavedGateUp
        return (0..<count).map { e in
            let row = Array(gateUp[(e * 2 * intermediate)..<((e + 1) * 2 * intermediate)])
            let gate = alternating ? stride(from: 0, to: row.count, by: 2).map { row[$0] } : Array(row.prefix(intermediate))
            let up = alternating ? stride(from: 1, to: row.count, by: 2).map { row[$0] } : Array(row.suffix(intermediate))
            return MLPBiases(gate: gate, up: up, down: Array(down[(e * hidden)..<((e + 1) * hidden)]))
        }
    }

    /// The routed experts of a MoE layer, as the architecture stores them (`ExpertTensors`); nil if any is missing.
    mutating func experts(layer: Int, count: Int, hidden: Int, intermediate: Int) -> [MLPWeights]? {
        switch architecture.expertTensors {
        case .perExpert:
            let experts = (0..<count).compactMap { e in mlp({ .expert(e, $0) }, layer: layer, hidden: hidden, intermediate: intermediate) }
            return experts.count == count ? experts : nil
        case .stackedGateUp:
            let gateUp = stacked(.stackedExperts(.gate), layer: layer, count: count, rows: 2 * intermediate, cols: hidden)
            let down = stacked(.stackedExperts(.down), layer: layer, count: count, rows: hidden, cols: intermediate)
            guard let gateUp, let down else { return nil }
            return (0..<count).map { e in
                MLPWeights(gate: gateUp[e].rows(0, count: intermediate), up: gateUp[e].rows(intermediate, count: intermediate), down: down[e])
            }
        case .interleavedGateUp:
            let gateUp = alternatingParts(.stackedExperts(.gate), layer: layer, count: count, outputs: 2 * intermediate,
                                          inputs: hidden, parts: 2)
            let down = alternatingParts(.stackedExperts(.down), layer: layer, count: count, outputs: hidden, inputs: intermediate, parts: 1)
            guard let gateUp, let down else { return nil }
            return (0..<count).map { MLPWeights(gate: gateUp[$0][0], up: gateUp[$0][1], down: down[$0][0]) }
        }
    }

    /// gpt-oss's stacked experts (`ExpertTensors.interleavedGateUp`) as `[expert][part]` (outputs / parts, inputs)
    /// matrices, part p holding output rows p, p + parts, ... (gate and up alternate: 2 parts). From the
    /// (count, inputs, outputs) tensor, copied transposed in its dtype; or, when the checkpoint has only its MXFP4
    /// `_blocks` and `_scales`, views of those (decoded a tile at a time, `MXFP4Rows`).
    private mutating func alternatingParts(_ role: TensorRole, layer: Int, count: Int, outputs: Int, inputs: Int,
                                           parts: Int) -> [[WeightMatrix]]? {
        let name = architecture.tensorName(role, layer: layer), rows = outputs / parts
        func exists(_ name: String) -> Bool { (try? checkpoint.tensor(name)).map { _ in true } ?? false }
        guard !exists(name) && exists(name + "_blocks") else {
            guard let (file, info) = lookup(role, layer: layer, shape: [count, inputs, outputs]),
                  let source = file.bytes(of: info).baseAddress else { return nil }
            let size = info.dtype.byteSize, matrixBytes = rows * inputs * size
            let storage = FloatBuffer(count: (count * outputs * inputs * size + 3) / 4)
            func target(_ e: Int, _ p: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer) + (e * parts + p) * matrixBytes }
            for e in 0..<count {
                let from = source + e * outputs * inputs * size
                for p in 0..<parts {
                    for r in 0..<rows {
                        let column = r * parts + p, to = target(e, p) + r * inputs * size
                        for c in 0..<inputs {
                            (to + c * size).copyMemory(from: from + (c * outputs + column) * size, byteCount: size)
                        }
                    }
                }
            }
            return (0..<count).map { e in
                (0..<parts).map { WeightMatrix(rows: rows, cols: inputs, dtype: info.dtype, base: target(e, $0), owner: storage) }
            }
        }
        guard inputs % MXFP4.groupSize == 0 else {
            wrongShape.append("\(name)_blocks: MXFP4 needs the input width \(inputs) to be a multiple of \(MXFP4.groupSize)")
            return nil
        }
        let groups = inputs / MXFP4.groupSize, codeBytes = MXFP4.groupSize / 2
        let blocks = lookup(name: name + "_blocks", shape: [count, outputs, groups, codeBytes]) { $0 == .u8 }
        let scales = lookup(name: name + "_scales", shape: [count, outputs, groups]) { $0 == .u8 }
        guard let (blockFile, blockInfo) = blocks, let (scaleFile, scaleInfo) = scales,
              let codes = blockFile.bytes(of: blockInfo).baseAddress?.assumingMemoryBound(to: UInt8.self),
              let exponents = scaleFile.bytes(of: scaleInfo).baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        usedBytes += blockInfo.byteRange.count + scaleInfo.byteRange.count
        // The views read both tensors: their owner keeps both files mapped (two shards, or one file twice).
        let owner: AnyObject = blockFile === scaleFile ? blockFile : MappedFilePair(blockFile, scaleFile)
        return (0..<count).map { e in
            (0..<parts).map { p in
                let first = e * outputs + p
                let view = MXFP4Rows(codes: codes + first * groups * codeBytes, scales: exponents + first * groups, step: parts)
                return WeightMatrix(rows: rows, cols: inputs, mxfp4: view, owner: owner)
            }
        }
    }

    /// The `count` (rows, cols) matrices of one stacked (count, rows, cols) tensor: views into the mapped file.
    private mutating func stacked(_ role: TensorRole, layer: Int, count: Int, rows: Int, cols: Int) -> [WeightMatrix]? {
        guard let (file, info) = lookup(role, layer: layer, shape: [count, rows, cols]),
              let base = file.bytes(of: info).baseAddress else { return nil }
        let bytes = rows * cols * info.dtype.byteSize
        return (0..<count).map { WeightMatrix(rows: rows, cols: cols, dtype: info.dtype, base: base + $0 * bytes, owner: file) }
    }

    mutating func mlp(_ role: (Projection) -> TensorRole, layer: Int, hidden: Int, intermediate: Int) -> MLPWeights? {
        let gate = matrix(role(.gate), layer: layer, rows: intermediate, cols: hidden)
        let up = matrix(role(.up), layer: layer, rows: intermediate, cols: hidden)
        let down = matrix(role(.down), layer: layer, rows: hidden, cols: intermediate)
        guard let gate, let up, let down else { return nil }
        return MLPWeights(gate: gate, up: up, down: down)
    }

    /// Throws one error listing every missing, misshapen and unexpected tensor; the tensors of `skippedLayers`
    /// (`ModelSpec.unusedTrailingLayers`) are expected and left unread.
    func finish(skippedLayers: Range<Int> = 0..<0) throws {
        let skipped = skippedLayers.map { "model.layers.\($0)." }
        let unexpected = checkpoint.tensorNames.filter { name in
            !consumed.contains(name) && !Self.isIgnorable(name) && !skipped.contains { name.hasPrefix($0) }
        }
        if !missing.isEmpty || !wrongShape.isEmpty || !unexpected.isEmpty {
            throw CheckpointError.tensorSet(missing: missing, unexpected: unexpected, wrongShape: wrongShape)
        }
        if let first = badType.first {
            throw CheckpointError.unsupportedWeightType(tensor: first.name, dtype: first.dtype)
        }
    }
}

/// Keeps two mapped weight files alive for matrices that read both (MXFP4 codes and scales in different shards).
private final class MappedFilePair {
    let first: SafetensorsFile, second: SafetensorsFile
    init(_ first: SafetensorsFile, _ second: SafetensorsFile) { self.first = first; self.second = second }
}

extension ModelWeights {
    /// Loads every tensor the spec needs from the checkpoint, by the architecture's names.
    static func load(spec: ModelSpec, architecture: any Architecture.Type, checkpoint: Checkpoint) throws -> ModelWeights {
        var loader = WeightLoader(checkpoint: checkpoint, architecture: architecture)
        let h = spec.hiddenSize
        let embedding = loader.matrix(.embedding, rows: spec.vocabSize, cols: h)
        var layers: [LayerWeights] = []
        for (l, ffnSpec) in spec.layers.enumerated() {
            let inputNorm = loader.vector(.inputNorm, layer: l, count: h)
            let postNorm = loader.vector(.postAttentionNorm, layer: l, count: h)
            let attention = loadAttention(&loader, spec: spec, layer: l)
            let feedForward: FeedForwardWeights?
            switch ffnSpec {
            case let .dense(intermediate):
                feedForward = loader.mlp({ .dense($0) }, layer: l, hidden: h, intermediate: intermediate).map { .dense($0) }
            case let .moe(moe):
                let router = loader.matrix(.router, layer: l, rows: moe.experts, cols: h)
                let experts = loader.experts(layer: l, count: moe.experts, hidden: h, intermediate: moe.expertIntermediate) ?? []
                let shared = moe.shared.flatMap { loader.mlp({ .shared($0) }, layer: l, hidden: h, intermediate: $0.intermediate) }
                let sharedGate = moe.shared?.sigmoidGated == true ? loader.matrix(.sharedExpertGate, layer: l, rows: 1, cols: h) : nil
                let bias = moe.routing.selectionBias ? loader.vector(.routerSelectionBias, layer: l, count: moe.experts) : nil
                let routerBias = moe.routerBias ? loader.vector(.routerBias, layer: l, count: moe.experts) : nil
                let expertBiases = moe.expertBias
                    ? loader.expertBiases(layer: l, count: moe.experts, hidden: h, intermediate: moe.expertIntermediate) : nil
                if let router, experts.count == moe.experts, bias != nil || !moe.routing.selectionBias,
                   routerBias != nil || !moe.routerBias, expertBiases != nil || !moe.expertBias {
                    feedForward = .moe(MoEWeights(spec: moe, router: router, experts: experts, shared: shared,
                                                  sharedGate: sharedGate, selectionBias: bias, routerBias: routerBias,
                                                  expertBiases: expertBiases))
                } else {
                    feedForward = nil
                }
            }
            if let inputNorm, let postNorm, let attention, let feedForward {
                layers.append(LayerWeights(inputNorm: inputNorm, postAttentionNorm: postNorm, attention: attention, feedForward: feedForward))
            }
        }
        let finalNorm = loader.vector(.finalNorm, count: h)
        try loader.finish(skippedLayers: spec.layerCount..<(spec.layerCount + spec.unusedTrailingLayers))
        guard let embedding, let finalNorm, layers.count == spec.layerCount else {
            throw CheckpointError.tensorSet(missing: ["(incomplete layer set)"], unexpected: [], wrongShape: [])
        }
        return ModelWeights(embedding: embedding, layers: layers, finalNorm: finalNorm, usedBytes: loader.usedBytes)
    }

    private static func loadAttention(_ loader: inout WeightLoader, spec: ModelSpec, layer l: Int) -> AttentionWeights? {
        let h = spec.hiddenSize, qw = spec.qWidth, kvw = spec.kvWidth
        let a = spec.attention
        let projections: AttentionProjections?
        if let latent = a.latent {
            projections = loadLatent(&loader, spec: spec, latent: latent, layer: l)
        } else {
            let q = loader.matrix(.q, layer: l, rows: qw, cols: h)
            let k = loader.matrix(.k, layer: l, rows: kvw, cols: h)
            let v = loader.matrix(.v, layer: l, rows: spec.vWidth, cols: h)
            if let q, let k, let v { projections = .grouped(q: q, k: k, v: v) } else { projections = nil }
        }
        let o = loader.matrix(.o, layer: l, rows: h, cols: spec.attentionOutputWidth)
        let qBias = a.qkvBias ? loader.vector(.qBias, layer: l, count: qw) : nil
        let kBias = a.qkvBias ? loader.vector(.kBias, layer: l, count: kvw) : nil
        let vBias = a.qkvBias ? loader.vector(.vBias, layer: l, count: spec.vWidth) : nil
        let oBias = a.outputBias ? loader.vector(.oBias, layer: l, count: h) : nil
        let sinks = a.sinks ? loader.vector(.sinks, layer: l, count: spec.headCount) : nil
        var qNorm: [Float]?, kNorm: [Float]?
        switch a.qkNorm {
        case .none: break
        case .wholeProjection:
            qNorm = loader.vector(.qNorm, layer: l, count: qw)
            kNorm = loader.vector(.kNorm, layer: l, count: kvw)
        case .perHead:
            qNorm = loader.vector(.qNorm, layer: l, count: spec.headDim)
            kNorm = loader.vector(.kNorm, layer: l, count: spec.headDim)
        }
        guard let projections, let o else { return nil }
        if a.qkvBias && (qBias == nil || kBias == nil || vBias == nil) { return nil }
        if a.outputBias && oBias == nil { return nil }
        if a.qkNorm != .none && (qNorm == nil || kNorm == nil) { return nil }
        if a.sinks && sinks == nil { return nil }
        return AttentionWeights(projections: projections, o: o, qBias: qBias, kBias: kBias, vBias: vBias, oBias: oBias,
                                qNorm: qNorm, kNorm: kNorm, sinks: sinks)
    }

    private static func loadLatent(_ loader: inout WeightLoader, spec: ModelSpec, latent: LatentAttentionSpec,
                                   layer l: Int) -> AttentionProjections? {
        let h = spec.hiddenSize
        let query: LatentAttentionWeights.Query?
        if let rank = latent.qLoraRank {
            let a = loader.matrix(.qA, layer: l, rows: rank, cols: h)
            let norm = loader.vector(.qANorm, layer: l, count: rank)
            let b = loader.matrix(.qB, layer: l, rows: spec.qWidth, cols: rank)
            if let a, let norm, let b { query = .lowRank(a: a, norm: norm, b: b) } else { query = nil }
        } else {
            query = loader.matrix(.q, layer: l, rows: spec.qWidth, cols: h).map { .direct($0) }
        }
        let kvA = loader.matrix(.kvA, layer: l, rows: latent.kvLoraRank + latent.qkRopeHeadDim, cols: h)
        let kvANorm = loader.vector(.kvANorm, layer: l, count: latent.kvLoraRank)
        let kvB = loader.matrix(.kvB, layer: l, rows: spec.headCount * (latent.qkNopeHeadDim + latent.vHeadDim),
                                cols: latent.kvLoraRank)
        guard let query, let kvA, let kvANorm, let kvB else { return nil }
        return .latent(LatentAttentionWeights(query: query, kvA: kvA, kvANorm: kvANorm, kvB: kvB))
    }
}

extension ModelWeights {
    /// The weights quantized (`Quantization`): every MLP (experts, shared experts, dense layers) in `format`, the
    /// attention projections in `Quantization.attentionFormat` (int8 under both: under q4 a step more precise than
    /// the MLPs, since attention is 4% of a real MoE's weights but its q4 error reached the same layer's router input
    /// and flipped expert choices on the fixtures, docs/performance.md). Routers and the shared-expert gate stay in
    /// their dtype (their logits are what the store keeps; they are small), and so do norms and biases. The token
    /// embedding is in `Quantization.embeddingFormat` (int8 under q4, as llama.cpp quantizes token_embd; the
    /// checkpoint's dtype under int8): its rows are dequantized one per token at lookup, so under q4 hidden state 0
    /// carries the int8 error (cosine 0.99998), and the whole table counts in the resident size at about half its
    /// BF16 bytes. Experts are quantized on every core; each source tensor's mapped pages are released once its
    /// copy exists.
    func quantized(_ format: Quantization, scope: QuantizationScope = .all) -> ModelWeights {
        mapQuantized(format, scope: scope, concurrent: true) { _, matrix, format, scratch in matrix.quantized(format, scratch: scratch) }
    }

    /// Every matrix `quantized(format, scope:)` quantizes, by name ("3.expert.12.gate"), with its format.
    func quantizationPlan(_ format: Quantization, scope: QuantizationScope = .all) -> [(name: String, rows: Int, cols: Int, format: Quantization)] {
        var plan: [(name: String, rows: Int, cols: Int, format: Quantization)] = []
        _ = mapQuantized(format, scope: scope, concurrent: false) { name, matrix, format, _ in
            plan.append((name, matrix.rows, matrix.cols, format))
            return matrix
        }
        return plan
    }

    /// Whether some quantized matrix runs on `kernel` (small ones stay off the panel kernels).
    func runsQuantized(on kernel: QuantizedMatrix.Kernel) -> Bool {
        var found = false
        _ = mapQuantized(.q4, scope: [.all, .router], concurrent: false) { _, matrix, _, _ in
            found = found || matrix.quantizedKernel == kernel
            return matrix
        }
        return found
    }

    /// Every quantized matrix by name (what `QuantizedCache` writes).
    var quantizedMatrices: [(name: String, matrix: QuantizedMatrix)] {
        var result: [(name: String, matrix: QuantizedMatrix)] = []
        _ = mapQuantized(.q4, scope: [.all, .router], concurrent: false) { name, matrix, _, _ in
            if let q = matrix.quantized { result.append((name, q)) }
            return matrix
        }
        return result
    }

    /// The weights with `transform(name, matrix, format, scratch)` applied to every matrix the plan quantizes, in
    /// a fixed order (experts spread over every core when `concurrent`; `transform` must then be thread-safe).
    func mapQuantized(_ format: Quantization, scope: QuantizationScope, concurrent: Bool,
                              _ transform: (String, WeightMatrix, Quantization, FloatBuffer) -> WeightMatrix) -> ModelWeights {
        guard format != .none else { return self }
        var result = self
        let scratch = FloatBuffer(count: 1)
        let attentionFormat = scope.contains(.attentionInFormat) ? format : format.attentionFormat
        func q(_ name: String, _ m: WeightMatrix, _ f: Quantization = format) -> WeightMatrix {
            f == .none ? m : transform(name, m, f, scratch)
        }
        func mlp(_ name: String, _ w: MLPWeights) -> MLPWeights {
            MLPWeights(gate: q(name + ".gate", w.gate), up: q(name + ".up", w.up), down: q(name + ".down", w.down))
        }
        if scope.contains(.embedding) { result.embedding = q("embedding", embedding, format.embeddingFormat) }
        for l in layers.indices {
            var layer = layers[l]
            if scope.contains(.attention) {
                layer.attention = layer.attention.mapMatrices { q("\(l).attention.\($0)", $1, attentionFormat) }
            }
            switch layer.feedForward {
            case let .dense(w):
                if scope.contains(.dense) { layer.feedForward = .dense(mlp("\(l).dense", w)) }
            case var .moe(moe):
                if scope.contains(.experts) {
                    if concurrent {
                        moe.experts = ModelWeights.mapConcurrently(moe.experts) { e, w, scratch in
                            let name = "\(l).expert.\(e)"
                            return MLPWeights(gate: transform(name + ".gate", w.gate, format, scratch), up: transform(name + ".up", w.up, format, scratch),
                                              down: transform(name + ".down", w.down, format, scratch))
                        }
                    } else {
                        moe.experts = moe.experts.enumerated().map { mlp("\(l).expert.\($0)", $1) }
                    }
                }
                if scope.contains(.shared) { moe.shared = moe.shared.map { mlp("\(l).shared", $0) } }
                if scope.contains(.router) { moe.router = q("\(l).router", moe.router) }
                layer.feedForward = .moe(moe)
            }
            result.layers[l] = layer
        }
        result.usedBytes = usedBytes - byteCount + result.byteCount
        return result
    }

    /// Bytes of every matrix (norms and biases are not counted: they are the same either way).
    var byteCount: Int {
        var total = embedding.byteCount
        for layer in layers {
            total += layer.attention.matrices.reduce(0) { $0 + $1.matrix.byteCount }
            switch layer.feedForward {
            case let .dense(w): total += w.byteCount
            case let .moe(moe):
                total += moe.router.byteCount + (moe.sharedGate?.byteCount ?? 0) + (moe.shared?.byteCount ?? 0)
                total += moe.experts.reduce(0) { $0 + $1.byteCount }
            }
        }
        return total
    }

    private static func mapConcurrently(_ experts: [MLPWeights], _ transform: (Int, MLPWeights, FloatBuffer) -> MLPWeights) -> [MLPWeights] {
        final class Slots: @unchecked Sendable {
            var values: [MLPWeights?]
            let lock = NSLock()
            init(_ count: Int) { values = Array(repeating: nil, count: count) }
        }
        let slots = Slots(experts.count)
        let workers = max(1, min(experts.count, ProcessInfo.processInfo.activeProcessorCount))
        withoutActuallyEscaping(transform) { transform in
            struct Work: @unchecked Sendable { let run: (Int, MLPWeights, FloatBuffer) -> MLPWeights }
            let work = Work(run: transform)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let scratch = FloatBuffer(count: 1)
                for e in stride(from: worker, to: experts.count, by: workers) {
                    let done = work.run(e, experts[e], scratch)
                    slots.lock.withLock { slots.values[e] = done }
                }
            }
        }
        return zip(experts, slots.values).map { $1 ?? $0 }
    }
}

/// Which weights `ModelWeights.quantized` touches: everything but routers (and norms) by default; the parts apart are for
/// finding where the error of a quantized model comes from (`QuantizationDiagnosis`).
struct QuantizationScope: OptionSet, Sendable {
    let rawValue: Int
    static let attention = QuantizationScope(rawValue: 1)
    static let experts = QuantizationScope(rawValue: 2)
    static let shared = QuantizationScope(rawValue: 4)
    static let dense = QuantizationScope(rawValue: 8)
    static let router = QuantizationScope(rawValue: 16)
    /// Attention in the format itself rather than `Quantization.attentionFormat`.
    static let attentionInFormat = QuantizationScope(rawValue: 32)
    /// The token embedding, in `Quantization.embeddingFormat`.
    static let embedding = QuantizationScope(rawValue: 64)
    static let all: QuantizationScope = [.attention, .experts, .shared, .dense, .embedding]
}

extension MLPWeights {
    var byteCount: Int { gate.byteCount + up.byteCount + down.byteCount }
}
