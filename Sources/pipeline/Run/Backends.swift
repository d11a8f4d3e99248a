import Extract
import Foundation
import Score
import Store

// What `extract` and `score` need from the other stages, as small protocols: the orchestration (planning,
// sharding, batching, resuming, Ctrl-C, reports) is written and tested against these, and `Adapters.swift`
// implements them with the real tokenizer, forward pass, store and evaluators.

/// A model as the cache keys it (SPEC.md §4): name, variant (quantization) and a fingerprint of config and weights.
struct ModelKey: Sendable, Hashable {
    let name: String
    let variant: String
    let fingerprint: String
    /// The architecture summary, JSON, for people reading the store.
    let architectureJSON: String
}

/// A prompt as the cache keys it: the name shown in reports and the canonical specification (the key).
struct PromptKey: Sendable, Hashable {
    let name: String
    let specification: String
}

/// One text's model input, rendered and tokenized, ready for the forward pass.
struct PreparedText: Sendable, Equatable {
    let text: String
    let tokens: [Int]
    let truncated: Bool
}

/// Stage one for one model: tokenizer and forward pass.
protocol EncoderBackend: AnyObject {
    var key: ModelKey { get }
    /// The model's `max_position_embeddings`.
    var maxPositionEmbeddings: Int { get }
    /// Token ids of a full model input, special tokens included as the model's tokenizer adds them.
    func tokenize(_ input: String) throws -> [Int]
    /// Runs one batch (planned by `ExtractJob` with `planBatches`) as one forward pass and hands back the store's
    /// record of each text, in order.
    func encode(_ batch: [PreparedText]) throws -> [PooledRecord]
}

/// The cache, as `extract` and `score` use it.
protocol CacheBackend: AnyObject {
    /// The texts of `texts` with no record for (model, prompt), in their order.
    func missingTexts(model: ModelKey, prompt: PromptKey, texts: [String]) throws -> [String]
    /// Stores one batch in one transaction.
    func put(_ records: [PooledRecord], model: ModelKey, prompt: PromptKey) throws
    /// Every model the cache holds, with its record count (what `score` looks manifest models up in).
    func storedModels() throws -> [StoredModelRecord]
    /// The cached tensors of one (model, prompt), for the recipes; nil when the cache holds no such model or prompt.
    func tensorSource(model: ModelKey, prompt: PromptKey) throws -> TensorSource?
}

/// A task as `score` sees it: what it must embed, and how to score it.
protocol LoadedTask {
    var entry: Manifest.TaskEntry { get }
    /// Every text mteb would embed for it (after the evaluators' sampling), each once.
    var requiredTexts: [String] { get }
}

/// Stage two: tasks, recipes and evaluators reading the cache. `Task` is the backend's own loaded task, so
/// `score` gets back exactly what `loadTask` made (no downcast).
protocol ScoringBackend: AnyObject {
    associatedtype Task: LoadedTask
    func loadTask(_ entry: Manifest.TaskEntry) throws -> Task
    /// Scores every grid point of one (model, prompt, task) from the cache; one result per point, in order.
    func score(task: Task, model: ModelKey, prompt: PromptKey, points: [Recipe]) throws -> [ScoredCell]
    /// The vectors of every grid point for the task's texts (what `score` evaluates and `export` writes), with
    /// what the point used for this task; `body` gets them one point at a time, so a grid is never held whole.
    func vectors(task: Task, model: ModelKey, prompt: PromptKey, points: [Recipe],
                 _ body: (Recipe, EmbeddingTable, PointChoices) throws -> Void) throws
}

/// What a grid point used for one task where the point leaves it open or to a label-free rule: MoEE-sum's alpha
/// (the recipe's or the one its rule chose), and the HS layer entry a label-free layer rule chose.
struct PointChoices: Sendable, Equatable {
    var alpha: Double? = nil
    var layer: Int? = nil
}

/// One scored cell: its main score (for the summary) and the MTEB-style result JSON (for its file).
struct ScoredCell: Sendable {
    let score: CellScore
    let resultJSON: Data
}

extension Manifest.PromptEntry {
    /// The cache key of this prompt for one model and task: template, preprocessing, the task's instruction,
    /// and the model's max_length when the manifest sets one.
    func key(task: String, maxLength: Int?) -> PromptKey {
        PromptKey(name: name, specification: prompt.specification(instruction: instruction(for: task), maxLength: maxLength))
    }
}
