import Foundation

/// A Mixture-of-Experts decoder loaded from a Hugging Face folder, ready to run natively on CPU.
///
///     let model = try MoEModel.load(directory: url)
///     let out = try model.forward(inputIDs: ids, attentionMask: mask)        // per token, padded layout
///     let pooled = try model.pooledEmbeddings(sequences: ids, tokenBudget: 4096, progress: nil)  // for the store
///
/// Weights stay memory-mapped in their checkpoint dtype; activations are allocated once and reused. A model runs
/// one batch at a time (calls are serialised by a lock); OpenBLAS uses every core inside a batch.
public final class MoEModel: @unchecked Sendable {
    public let directory: URL
    public let spec: ModelSpec
    /// The architecture summary (also `Codable`, for the store).
    public let summary: ModelSummary
    /// SHA-256 over config.json, every safetensors header, file sizes and sampled weight bytes.
    public let fingerprint: String
    public var maxPositionEmbeddings: Int { spec.maxPositions }
    /// Decoder-layer index of each router-logit entry.
    public var routerLayers: [Int] { spec.moeLayers }
    /// Number of hidden-state entries (L + 1).
    public var hiddenStateCount: Int { spec.layerCount + 1 }
    /// The dtype holding most weight bytes ("BF16", "F16", "F32", "MXFP4"): the model's variant for cache keys.
    public var weightDType: String { Self.dominantDType(summary.weightFileBytesByDType ?? [:]) }

    /// The dtype holding most bytes (ties: the name first in order), "F32" when there are none. U8 weight bytes
    /// are MXFP4 codes and scales (the only U8 tensors a checkpoint may hold), so they count as "MXFP4".
    public static func dominantDType(_ bytesByDType: [String: Int]) -> String {
        let dominant = bytesByDType.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "F32"
        return dominant == TensorDType.u8.rawValue ? "MXFP4" : dominant
    }
    /// The cache-key variant: the weight dtype, plus the quantization when there is one ("BF16", "BF16+q4k"), plus
    /// "+bf16" when the BF16 kernel computes it ("BF16+bf16", "BF16+q4k+bf16": activations rounded to BF16, float32
    /// accumulation). The F32 kernel adds nothing: it computes float32 products as sgemm does (only the summation
    /// order differs, as between two BLAS builds), so an F32 model is "F32" on either.
    public var variant: String {
        let base = quantization == .none ? weightDType : "\(weightDType)+\(quantization.variantName)"
        if usesInt8Activations { return "\(base)+\(Quantization.int8ActivationSuffix)" }
        return usesBF16Kernel ? "\(base)+\(BF16Kernel.variantSuffix)" : base
    }
    public let quantization: Quantization
    /// What happened with the quantized-weight cache at load (`Options.quantizedCache`).
    public let quantizedCacheStatus: QuantizedCacheStatus
    /// Projections run on the AVX-512 BF16 kernel (`BF16Kernel`) rather than float32 sgemm.
    public let usesBF16Kernel: Bool
    /// q4 MLP weights multiply int8-rounded activations (`Int8Activations`, opt-in on the F32 kernel's hosts).
    public let usesInt8Activations: Bool
    /// Projections run on the float32 kernel (`F32Kernel`: AVX-512F or AVX2/FMA) rather than sgemm.
    public let usesF32Kernel: Bool
    /// Bytes of the weights the forward pass reads (every tensor but lm_head), memory-mapped in their dtype.
    public let weightBytes: Int
    /// The embedding's share of `weightBytes` (int8 when quantized; read row by row).
    public let embeddingBytes: Int
    private let checkMemory: Bool

    private let checkpoint: Checkpoint
    private let pass: ForwardPass
    private let state: RunState
    private let lock = NSLock()

    public struct Options: Sendable {
        /// OpenBLAS threads; nil = one per core.
        public var threads: Int?
        /// Refuse to load (and to run a batch) when weights plus activations exceed physical memory. Turning it off
        /// lets the kernel page memory-mapped weights from disk: correct, but every batch rereads them.
        public var checkMemory: Bool
        /// Weights quantized at load (`none` keeps the checkpoint's dtype).
        public var quantize: Quantization
        /// Which weights are quantized (all projections but the routers unless a test narrows it).
        var quantizeScope = QuantizationScope.all
        /// A folder for the on-disk cache of quantized weights (`QuantizedCache`): mapped when a valid file for
        /// this checkpoint and format is there, written after quantizing otherwise. nil: quantize at every load.
        public var quantizedCache: URL?
        /// Projections on the AVX-512 BF16 kernel: nil = by default for BF16 checkpoints and quantized models
        /// (`BF16Kernel.appliesByDefault`); true = also for other dtypes (weights rounded to BF16; ignored on CPUs
        /// without AVX-512 BF16); false = never.
        public var bf16Kernel: Bool?
        /// Projections on the float32 kernel (AVX-512F or AVX2/FMA) when the BF16 kernel does not take them: nil = by
        /// default (`F32Kernel.appliesByDefault`: F32 checkpoints, and on AVX2-only hosts BF16 checkpoints and
        /// quantized models); true = also for other dtypes (weights widened to float32 at load, quantized ones
        /// dequantized a panel at a time; ignored on CPUs with neither AVX-512F nor AVX2/FMA); false = never.
        public var f32Kernel: Bool?
        /// Small weights (at most `LinearTiling.rowwiseLimit` values) on the F32 kernel too, not the rowwise kernel:
        /// tests of the kernel on tiny checkpoints.
        var f32KernelForSmallWeights = false
        /// q4 weights times int8 activations where the F32 kernel runs (`Int8Activations`): nil = yes unless
        /// `MOEE_INT8_ACTIVATIONS=0` (1.8x the speed of q4 panels dequantized to float32 on Zen 3, within the q4
        /// accuracy bars; the variant says "+act8"); false = dequantized panels, activations in float32.
        public var int8Activations: Bool?
        public init(threads: Int? = nil, checkMemory: Bool = true, quantize: Quantization = .none,
                    quantizedCache: URL? = nil, bf16Kernel: Bool? = nil, f32Kernel: Bool? = nil) {
            self.threads = threads
            self.checkMemory = checkMemory
            self.quantize = quantize
            self.quantizedCache = quantizedCache
            self.bf16Kernel = bf16Kernel
            self.f32Kernel = f32Kernel
        }
    }

    /// Loads `DIR/config.json` and the weights (memory-mapped), checking every tensor name and shape.
    public static func load(directory: URL, options: Options = Options()) throws -> MoEModel {
        try MoEModel(directory: directory, options: options)
    }

    private init(directory: URL, options: Options) throws {
        self.directory = directory
        quantization = options.quantize
        let checkpoint = try Checkpoint(directory: directory)
        let configPath = directory.appendingPathComponent(Checkpoint.configName).path
        let (spec, architecture) = try Architectures.spec(config: checkpoint.configData, file: configPath)
        self.checkpoint = checkpoint
        self.spec = spec
        let dtype = Self.dominantDType(checkpoint.bytesByDType)
        usesBF16Kernel = options.bf16Kernel.map { $0 && BF16Kernel.supported }
            ?? BF16Kernel.appliesByDefault(weightDType: dtype, quantization: options.quantize)
        // The BF16 kernel keeps priority (BF16 checkpoints, quantized models, or asked for).
        usesF32Kernel = !usesBF16Kernel && (options.f32Kernel.map { $0 && F32Kernel.supported }
            ?? F32Kernel.appliesByDefault(weightDType: dtype, quantization: options.quantize))
        let int8Activations = usesF32Kernel && options.quantize == .q4
            && (options.int8Activations ?? Int8Activations.allowedByEnvironment)
        let loaded = try ModelWeights.load(spec: spec, architecture: architecture, checkpoint: checkpoint)
        let fingerprint = checkpoint.fingerprint
        var weights: ModelWeights
        (weights, quantizedCacheStatus) = QuantizedCache.quantize(loaded, format: options.quantize, scope: options.quantizeScope,
                                                                  cache: options.quantizedCache, fingerprint: fingerprint)
        if usesBF16Kernel {
            weights = options.quantize == .none ? weights.packedForKernel(.bf16) : weights.quantizedOnKernel(.bf16)
        } else if usesF32Kernel {
            // BF16 weights stay BF16 (widened in registers); quantized matrices are dequantized a panel at a time.
            let small = options.f32KernelForSmallWeights
            weights = weights.packedForKernel(F32Kernel.weightElement(weightDType: dtype), includingSmall: small)
            if options.quantize != .none {
                weights = weights.quantizedOnKernel(int8Activations ? .int8Activations : .f32, includingSmall: small)
            }
        }
        // Named in the variant only when some product really takes int8 activations (tiny models keep every weight
        // on the rowwise kernel).
        usesInt8Activations = int8Activations && weights.runsQuantized(on: .int8Activations)
        weightBytes = weights.usedBytes
        embeddingBytes = weights.embedding.byteCount
        checkMemory = options.checkMemory
        if checkMemory {
            let requirement = MemoryRequirement(spec: spec, weightBytes: weightBytes, tokenBudget: 1, longestSequence: 1)
            guard requirement.fits else { throw ForwardError.insufficientMemory(requirement) }
        }
        pass = ForwardPass(spec: spec, weights: weights)
        var summary = ModelSummary(spec: spec, reference: architecture.reference)
        summary.weightFileBytesByDType = checkpoint.bytesByDType
        self.summary = summary
        self.fingerprint = fingerprint
        state = RunState(spec: spec)
        if let threads = options.threads { BLASThreads.set(threads) } else { BLASThreads.set() }
    }

    /// The memory a run with this token budget needs, against physical memory.
    public func memoryRequirement(tokenBudget: Int, longestSequence: Int) -> MemoryRequirement {
        MemoryRequirement(spec: spec, weightBytes: weightBytes, tokenBudget: tokenBudget, longestSequence: longestSequence)
    }

    /// Runs packed sequences and streams intermediates to `capture`: the primitive the other entry points use.
    /// Sequences must be validated (`validate`).
    public func run(sequences: [[Int]], capture: CaptureSink) throws {
        try validate(sequences)
        let batch = PackedBatch(sequences: sequences)
        lock.lock()
        defer { lock.unlock() }
        pass.forward(batch, state: state, capture: capture)
    }

    /// The experts router `routerIndex` (`routerLayers` order) chooses from one token's `logits`, by the layer's
    /// routing policy and selection bias (what the forward pass does), highest selection score first.
    public func chosenExperts(routerIndex: Int, logits: ArraySlice<Float>) -> [Int] {
        guard routerLayers.indices.contains(routerIndex),
              case let .moe(w) = pass.weights.layers[routerLayers[routerIndex]].feedForward,
              logits.count == w.spec.experts else { return [] }
        let experts = w.spec.experts, k = w.spec.topK
        var scores = [Float](repeating: 0, count: experts), ranked = scores, weights = [Float](repeating: 0, count: k)
        var picks = [Int](repeating: 0, count: k)
        let input = Array(logits)
        input.withUnsafeBufferPointer { l in scores.withUnsafeMutableBufferPointer { s in ranked.withUnsafeMutableBufferPointer { r in
            picks.withUnsafeMutableBufferPointer { p in weights.withUnsafeMutableBufferPointer { wt in
                guard let lb = l.baseAddress, let sb = s.baseAddress, let rb = r.baseAddress, let pb = p.baseAddress,
                      let wb = wt.baseAddress else { return }
                w.spec.routing.route(lb, experts: experts, k: k, selectionBias: w.selectionBias, scores: sb, ranked: rb, picks: pb, weights: wb)
            } }
        } } }
        return picks
    }

    /// Refuses empty sequences, ids outside the vocabulary, and sequences past the model's positions.
    public func validate(_ sequences: [[Int]]) throws {
        for (s, sequence) in sequences.enumerated() {
            guard !sequence.isEmpty else { throw ForwardError.emptySequence(sequence: s) }
            if sequence.count > spec.maxPositions {
                throw ForwardError.sequenceTooLong(sequence: s, length: sequence.count, limit: spec.maxPositions, what: "max_position_embeddings")
            }
            if let position = sequence.firstIndex(where: { $0 < 0 || $0 >= spec.vocabSize }) {
                throw ForwardError.tokenOutOfVocabulary(sequence: s, position: position, id: sequence[position], vocabularySize: spec.vocabSize)
            }
        }
    }

    /// Per-token hidden states and router logits of a left-padded batch (`pipeline forward`).
    ///
    /// Tokens where the mask is 1 are a row's real tokens, at positions 0..<n; pads are never computed and read 0.
    /// A row without real tokens is allowed and reads all 0.
    public func forward(inputIDs: [[Int]], attentionMask: [[Int]]) throws -> ForwardOutput {
        let b = inputIDs.count
        let t = inputIDs.first?.count ?? 0
        guard attentionMask.count == b else {
            throw ForwardError.shapeMismatch("input_ids has \(b) rows, attention_mask \(attentionMask.count)")
        }
        var sequences: [[Int]] = [], rows: [Int] = [], columns: [[Int]] = []
        for r in 0..<b {
            guard inputIDs[r].count == t, attentionMask[r].count == t else {
                throw ForwardError.shapeMismatch("row \(r) has \(inputIDs[r].count) ids and \(attentionMask[r].count) mask values; every row needs \(t)")
            }
            var sequence: [Int] = [], realColumns: [Int] = []
            for c in 0..<t {
                switch attentionMask[r][c] {
                case 1: sequence.append(inputIDs[r][c]); realColumns.append(c)
                case 0: break
                case let value: throw ForwardError.badMaskValue(row: r, column: c, value: value)
                }
            }
            if !sequence.isEmpty {
                sequences.append(sequence)
                rows.append(r)
                columns.append(realColumns)
            }
        }
        let h = spec.hiddenSize, e = spec.expertCount, layerCount = spec.layerCount
        let routerIndex = Dictionary(uniqueKeysWithValues: spec.moeLayers.enumerated().map { ($1, $0) })
        var output = ForwardOutput(hiddenStateCount: layerCount + 1, batchSize: b, sequenceLength: t, hiddenSize: h,
                                   expertCount: e, routerLayers: spec.moeLayers,
                                   hiddenStates: [Float](repeating: 0, count: (layerCount + 1) * b * t * h),
                                   routerLogits: [Float](repeating: 0, count: spec.moeLayers.count * b * t * e))
        guard !sequences.isEmpty else { return output }
        do {
            try validate(sequences)
        } catch let ForwardError.tokenOutOfVocabulary(s, position, id, size) {
            throw ForwardError.tokenOutOfVocabulary(sequence: rows[s], position: columns[s][position], id: id, vocabularySize: size)
        } catch let ForwardError.sequenceTooLong(s, length, limit, what) {
            throw ForwardError.sequenceTooLong(sequence: rows[s], length: length, limit: limit, what: what)
        }
        let requirement = memoryRequirement(tokenBudget: sequences.reduce(0) { $0 + $1.count },
                                            longestSequence: sequences.map(\.count).max() ?? 0)
        guard requirement.fits || !checkMemory else { throw ForwardError.insufficientMemory(requirement) }
        // Packed row -> flat (b, t) index of the padded layout.
        var destination: [Int] = []
        for (s, r) in rows.enumerated() { destination += columns[s].map { r * t + $0 } }
        let sink = CaptureSink(wants: { name, layer in
            name == .routerLogits || hiddenStateIndex(name, layer: layer, layerCount: layerCount) != nil
        }, receive: { tensor in
            if tensor.name == .routerLogits {
                guard let index = routerIndex[tensor.layer] else { return }
                for (row, flat) in destination.enumerated() {
                    let base = (index * b * t + flat) * e
                    for i in 0..<e { output.routerLogits[base + i] = tensor.values[row * e + i] }
                }
            } else if let index = hiddenStateIndex(tensor.name, layer: tensor.layer, layerCount: layerCount) {
                for (row, flat) in destination.enumerated() {
                    let base = (index * b * t + flat) * h
                    for i in 0..<h { output.hiddenStates[base + i] = tensor.values[row * h + i] }
                }
            }
        })
        try run(sequences: sequences, capture: sink)
        return output
    }

    /// Pooled vectors (last token, mean over tokens) of each sequence, in input order.
    ///
    /// Sequences are sorted by length and packed into batches of at most `tokenBudget` tokens (a longer one runs
    /// alone); no padding is computed, so a text's vectors do not depend on its batch. `progress` receives the
    /// number of sequences finished after each batch. Refuses, before any work, input that `validate` refuses and a
    /// budget whose activations with the weights would not fit in physical memory.
    public func pooledEmbeddings(sequences: [[Int]], tokenBudget: Int, progress: ((Int) -> Void)? = nil) throws -> [PooledOutput] {
        var results = [PooledOutput?](repeating: nil, count: sequences.count)
        var done = 0
        try forEachPooledBatch(sequences: sequences, tokenBudget: tokenBudget) { indices, outputs in
            for (index, output) in zip(indices, outputs) { results[index] = output }
            done += indices.count
            progress?(done)
        }
        return results.compactMap { $0 }
    }

    /// The streaming form of `pooledEmbeddings`: hands each finished batch (input indices and their outputs) to
    /// `body` as soon as it is computed, so a caller can commit it (e.g. one store transaction per batch) and lose at
    /// most the batch in flight. An error thrown by `body` stops the run.
    public func forEachPooledBatch(sequences: [[Int]], tokenBudget: Int,
                                   _ body: (_ indices: [Int], _ outputs: [PooledOutput]) throws -> Void) throws {
        guard tokenBudget >= 1 else { throw ForwardError.badTokenBudget(tokenBudget) }
        try validate(sequences)
        let lengths = sequences.map(\.count)
        let longest = lengths.max() ?? 0
        let requirement = memoryRequirement(tokenBudget: max(tokenBudget, longest), longestSequence: longest)
        guard requirement.fits || !checkMemory else { throw ForwardError.insufficientMemory(requirement) }
        for members in planBatches(lengths: lengths, tokenBudget: tokenBudget) {
            try body(members, runPooled(members.map { sequences[$0] }))
        }
    }

    /// One packed batch, as planned by the caller (`planBatches`): every sequence in one forward pass.
    public func pooledBatch(_ sequences: [[Int]]) throws -> [PooledOutput] {
        try validate(sequences)
        let tokens = sequences.reduce(0) { $0 + $1.count }, longest = sequences.map(\.count).max() ?? 0
        let requirement = memoryRequirement(tokenBudget: max(tokens, 1), longestSequence: longest)
        guard requirement.fits || !checkMemory else { throw ForwardError.insufficientMemory(requirement) }
        return runPooled(sequences)
    }

    private func runPooled(_ sequences: [[Int]]) -> [PooledOutput] {
        let batch = PackedBatch(sequences: sequences)
        let collector = PoolingCollector(batch: batch, spec: spec)
        lock.withLock { pass.forward(batch, state: state, capture: collector.sink) }
        return collector.outputs
    }
}
