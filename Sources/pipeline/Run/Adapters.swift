import Extract
import Foundation
import Score
import Store

// The real stages behind the backend protocols of Backends.swift: Extract's Tokenizer and MoEModel, Store's
// EmbeddingStore, Score's tasks, recipes and evaluators.

struct RealBackends: BackendFactory {
    func checkpointFingerprint(for model: Manifest.ModelEntry) throws -> String {
        // Checkpoint reads config.json and the safetensors headers (memory-mapped), never the weights whole.
        try Checkpoint(directory: model.path).fingerprint
    }

    func encoder(for model: Manifest.ModelEntry) throws -> EncoderBackend {
        try ModelEncoder(entry: model)
    }

    func cache(at path: URL, writable: Bool) throws -> CacheBackend {
        try StoreCache(path: path, writable: writable)
    }

    func scoring(cache: CacheBackend) throws -> any ScoringBackend {
        StoreScoring(cache: cache)
    }
}

/// Tokenizer + forward pass of one checkpoint.
final class ModelEncoder: EncoderBackend {
    let key: ModelKey
    let tokenizer: Tokenizer
    let model: MoEModel

    init(entry: Manifest.ModelEntry) throws {
        tokenizer = try Tokenizer(directory: entry.path)
        model = try MoEModel.load(directory: entry.path, options: .init(quantize: entry.quantization, quantizedCache: entry.quantizedCache))
        if let warning = model.quantizedCacheStatus.warning { stderr(warning) }
        let summary = String(decoding: try JSONEncoder().encode(model.summary), as: UTF8.self)
        key = ModelKey(name: entry.name, variant: entry.quantization.storeVariant(bf16Kernel: model.usesBF16Kernel, int8Activations: model.usesInt8Activations), fingerprint: model.fingerprint,
                       architectureJSON: summary)
    }

    var maxPositionEmbeddings: Int { model.maxPositionEmbeddings }

    func tokenize(_ input: String) throws -> [Int] { tokenizer.encode(input) }

    func encode(_ batch: [PreparedText]) throws -> [PooledRecord] {
        let outputs = try model.pooledBatch(batch.map(\.tokens))
        let hiddenLayers = model.hiddenStateCount, hiddenSize = model.spec.hiddenSize
        let routerLayers = model.routerLayers, experts = model.spec.expertCount
        return zip(batch, outputs).map { text, output in
            PooledRecord(
                text: text.text, tokenCount: output.tokenCount, truncated: text.truncated,
                hiddenStates: [.last: output.lastToken.hiddenStates, .mean: output.mean.hiddenStates],
                routerLogits: [.last: output.lastToken.routerLogits, .mean: output.mean.routerLogits],
                hiddenLayers: hiddenLayers, hiddenSize: hiddenSize, routerLayers: routerLayers, experts: experts)
        }
    }
}

/// The SQLite cache. Model and prompt ids are looked up (read-only) or registered (writable) once per key.
final class StoreCache: CacheBackend {
    let store: EmbeddingStore
    let writable: Bool
    private var modelIDs: [ModelKey: ModelID?] = [:]
    private var promptIDs: [PromptKey: PromptID?] = [:]

    init(path: URL, writable: Bool) throws {
        store = try EmbeddingStore(path: path.path, readOnly: !writable, options: StoreOptions(exclusiveWriter: writable))
        self.writable = writable
    }

    func modelID(_ key: ModelKey) throws -> ModelID? {
        if let known = modelIDs[key] { return known }
        let identity = ModelIdentity(name: key.name, variant: key.variant, fingerprint: key.fingerprint,
                                     architectureJSON: key.architectureJSON)
        let id: ModelID? = writable
            ? try store.register(identity)
            : try store.models().first { $0.identity.name == key.name && $0.identity.variant == key.variant
                                         && $0.identity.fingerprint == key.fingerprint }?.id
        modelIDs[key] = id
        return id
    }

    func promptID(_ key: PromptKey) throws -> PromptID? {
        if let known = promptIDs[key] { return known }
        let identity = PromptIdentity(name: key.name, specification: key.specification)
        let id: PromptID? = writable
            ? try store.register(identity)
            : try store.prompts().first { $0.identity == identity }?.id
        promptIDs[key] = id
        return id
    }

    func missingTexts(model: ModelKey, prompt: PromptKey, texts: [String]) throws -> [String] {
        guard let modelID = try modelID(model), let promptID = try promptID(prompt) else {
            var seen = Set<String>()
            return texts.filter { seen.insert($0).inserted }
        }
        return try store.missingTexts(model: modelID, prompt: promptID, texts: texts)
    }

    func tensorSource(model: ModelKey, prompt: PromptKey) throws -> TensorSource? {
        guard let modelID = try modelID(model), let promptID = try promptID(prompt) else { return nil }
        return StoreTensorSource(store: store, model: modelID, prompt: promptID)
    }

    func storedModels() throws -> [StoredModelRecord] {
        try store.models().map { model in
            StoredModelRecord(key: ModelKey(name: model.identity.name, variant: model.identity.variant,
                                            fingerprint: model.identity.fingerprint,
                                            architectureJSON: model.identity.architectureJSON),
                              records: try store.recordCount(model: model.id))
        }
    }

    func put(_ records: [PooledRecord], model: ModelKey, prompt: PromptKey) throws {
        guard let modelID = try modelID(model), let promptID = try promptID(prompt) else { return }
        try store.put(records, model: modelID, prompt: promptID)
    }
}

/// Score's tensor source over the store, for one (model, prompt).
struct StoreTensorSource: TensorSource {
    let store: EmbeddingStore
    let model: ModelID
    let prompt: PromptID

    func hiddenStates(layer: Int, pooling: Pooling, texts: [String]) throws -> EmbeddingMatrix {
        let read = try store.hiddenStates(model: model, prompt: prompt, layer: layer, pooling: pooling,
                                          texts: texts)
        return EmbeddingMatrix(rows: texts.count, dimension: read.dimension, values: read.values)
    }

    func hiddenStateEntries() throws -> Int {
        try store.modelShape(model)?.hiddenEntries ?? 0
    }

    func routerLogits(pooling: Pooling, texts: [String]) throws -> (matrix: EmbeddingMatrix, layers: [Int], experts: Int) {
        let read = try store.routerLogits(model: model, prompt: prompt, pooling: pooling, texts: texts)
        let matrix = EmbeddingMatrix(rows: texts.count, dimension: read.layers.count * read.experts, values: read.values)
        return (matrix, read.layers, read.experts)
    }

    /// From the model summary the store keeps (`ModelSummary.routerScoring`), so no checkpoint is needed.
    func routerScoring() throws -> RouterScoring {
        let json = try store.models().first { $0.id == model }?.identity.architectureJSON ?? "{}"
        guard let summary = try? JSONDecoder().decode(ModelSummary.self, from: Data(json.utf8)) else {
            throw ScoreError.invalidRecipe("normalize=router: the store has no readable model summary for this model (its architecture JSON); use normalize=softmax or logits")
        }
        return summary.routerScoringForScore
    }
}

extension ModelSummary {
    /// Score's name for the router's scoring. A summary without `routerScoring` (stored before it existed) reads it
    /// off the routing description (`RoutingPolicy.description`), or softmax when it has none (the first families).
    var routerScoringForScore: RouterScoring {
        let described = RoutingPolicy.Scoring.allCases.first { routing?.hasPrefix($0.descriptionPrefix) == true }
        switch routerScoring ?? described?.rawValue ?? RoutingPolicy.Scoring.softmax.rawValue {
        case RoutingPolicy.Scoring.sigmoid.rawValue: return .sigmoid
        case RoutingPolicy.Scoring.softmaxOverChosen.rawValue: return .softmaxOverTopK(topK)
        default: return .softmax
        }
    }
}

/// Remembers what a grid already read for one task's texts: every point of a task's grid asks for the same list.
/// Reads of any other list (a label-free layer's sample of the texts) pass through without being kept.
final class MemoizedTensorSource: TensorSource {
    private let base: TensorSource
    private let texts: [String]
    private var hidden: [String: EmbeddingMatrix] = [:]
    private var router: [Pooling: (matrix: EmbeddingMatrix, layers: [Int], experts: Int)] = [:]
    private var entries: Int?
    private var scoring: RouterScoring?

    init(_ base: TensorSource, texts: [String]) {
        self.base = base
        self.texts = texts
    }

    func hiddenStateEntries() throws -> Int {
        if let entries { return entries }
        let read = try base.hiddenStateEntries()
        entries = read
        return read
    }

    func hiddenStates(layer: Int, pooling: Pooling, texts: [String]) throws -> EmbeddingMatrix {
        guard texts == self.texts else { return try base.hiddenStates(layer: layer, pooling: pooling, texts: texts) }
        let key = "\(layer)/\(pooling.rawValue)"
        if let known = hidden[key] { return known }
        let read = try base.hiddenStates(layer: layer, pooling: pooling, texts: texts)
        hidden[key] = read
        return read
    }

    func routerLogits(pooling: Pooling, texts: [String]) throws -> (matrix: EmbeddingMatrix, layers: [Int], experts: Int) {
        guard texts == self.texts else { return try base.routerLogits(pooling: pooling, texts: texts) }
        if let known = router[pooling] { return known }
        let read = try base.routerLogits(pooling: pooling, texts: texts)
        router[pooling] = read
        return read
    }

    func routerScoring() throws -> RouterScoring {
        if let scoring { return scoring }
        let read = try base.routerScoring()
        scoring = read
        return read
    }
}

struct ScoreTaskEntry: LoadedTask {
    let entry: Manifest.TaskEntry
    let task: ScoreTask
    let requiredTexts: [String]
}

/// Tasks, recipes and evaluators of the Score module over the store.
final class StoreScoring: ScoringBackend {
    let cache: CacheBackend

    init(cache: CacheBackend) { self.cache = cache }

    func loadTask(_ entry: Manifest.TaskEntry) throws -> ScoreTaskEntry {
        let task = try ScoreTask.load(from: entry.folder)
        return ScoreTaskEntry(entry: entry, task: task, requiredTexts: task.requiredTexts)
    }

    func score(task loaded: ScoreTaskEntry, model: ModelKey, prompt: PromptKey, points: [Recipe]) throws -> [ScoredCell] {
        var cells: [ScoredCell] = []
        try vectors(task: loaded, model: model, prompt: prompt, points: points) { recipe, embeddings, choices in
            let result = try evaluate(task: loaded.task, embeddings: embeddings)
            let cell = CellScore(model: model.name, prompt: prompt.name, recipe: recipe, task: loaded.entry.name,
                                 taskType: loaded.entry.type, mainScoreName: result.mainScoreName,
                                 mainScore: result.mainScore, metrics: [:], split: result.split,
                                 alpha: choices.alpha, layer: choices.layer,
                                 trainSplitScore: try TrainSplitScore.accuracy(task: loaded.task, embeddings: embeddings))
            cells.append(ScoredCell(score: cell, resultJSON: try ResultJSON.annotate(
                try result.jsonData(), model: model, prompt: prompt, recipe: recipe.name, choices: choices)))
        }
        return cells
    }

    func vectors(task loaded: ScoreTaskEntry, model: ModelKey, prompt: PromptKey, points: [Recipe],
                 _ body: (Recipe, EmbeddingTable, PointChoices) throws -> Void) throws {
        // ScoreJob checked every record first, so the keys exist.
        guard let tensors = try cache.tensorSource(model: model, prompt: prompt) else {
            throw PipelineError.notInCache(model: model.name, prompt: prompt.name)
        }
        // One read per (layer, pooling) for the whole grid of this task, not one per grid point; MoEE-sum alphas
        // share one standardisation.
        let sweep = RecipeSweep(source: MemoizedTensorSource(tensors, texts: loaded.requiredTexts), texts: loaded.requiredTexts)
        for recipe in points {
            let choices = PointChoices(alpha: recipe.kind == .moeeSum ? try sweep.alpha(for: recipe) : nil,
                                       layer: try sweep.layer(for: recipe))
            try body(recipe, try sweep.embeddings(recipe), choices)
        }
    }
}

/// Adds what moee scored (model, prompt, recipe) to an MTEB-style result JSON.
enum ResultJSON {
    static func annotate(_ data: Data, model: ModelKey, prompt: PromptKey, recipe: String,
                         choices: PointChoices = PointChoices()) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return data }
        var moee: [String: Any] = ["model": model.name, "model_variant": model.variant, "model_fingerprint": model.fingerprint,
                                   "prompt": prompt.name, "prompt_specification": prompt.specification, "recipe": recipe]
        if let alpha = choices.alpha { moee["alpha"] = alpha }  // MoEE-sum: the alpha used (chosen per task when label-free)
        if let layer = choices.layer { moee["layer"] = layer }  // the HS entry a label-free layer rule chose for this task
        object["moee"] = moee
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
