import Extract
import Foundation

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
    /// Runs one batch and hands back one record per text, in order; the texts' tokens fit the token budget.
    func encode(_ batch: [PreparedText], tokenBudget: Int) throws -> [EncodedRecord]
}

/// What the store keeps of one text (opaque here: the adapter carries the store's own record type).
struct EncodedRecord: @unchecked Sendable {
    let text: String
    let tokenCount: Int
    let truncated: Bool
    /// The store's record (Store.PooledRecord), built by the adapter.
    let payload: Any
}

/// The cache, as `extract` and `score` use it.
protocol CacheBackend: AnyObject {
    /// The texts of `texts` with no record for (model, prompt), in their order.
    func missingTexts(model: ModelKey, prompt: PromptKey, texts: [String]) throws -> [String]
    /// Stores one batch in one transaction.
    func put(_ records: [EncodedRecord], model: ModelKey, prompt: PromptKey) throws
    /// Every model the cache holds, with its record count (what `score` looks manifest models up in).
    func storedModels() throws -> [StoredModelRecord]
}

/// A task as `score` sees it: what it must embed, and how to score it.
protocol LoadedTask {
    var entry: Manifest.TaskEntry { get }
    /// Every text mteb would embed for it (after the evaluators' sampling), each once.
    var requiredTexts: [String] { get }
}

/// Stage two: tasks, recipes and evaluators reading the cache.
protocol ScoringBackend: AnyObject {
    func loadTask(_ entry: Manifest.TaskEntry) throws -> any LoadedTask
    /// Scores every grid point of one (model, prompt, task) from the cache; one result per point, in order.
    func score(task: any LoadedTask, model: ModelKey, prompt: PromptKey, points: [RecipePoint]) throws -> [ScoredCell]
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
