import Foundation

/// The real stages behind the backend protocols. Until the tokenizer, forward pass, store and evaluators are
/// on main, every method says what is missing (exit status 1) instead of pretending.
struct RealBackends: BackendFactory {
    func modelKey(for model: Manifest.ModelEntry) throws -> ModelKey {
        throw PipelineError.notIntegrated("the checkpoint fingerprint (Extract/Checkpoint)")
    }

    func encoder(for model: Manifest.ModelEntry) throws -> EncoderBackend {
        throw PipelineError.notIntegrated("the forward pass and tokenizer (Extract)")
    }

    func cache(at path: URL, writable: Bool) throws -> CacheBackend {
        throw PipelineError.notIntegrated("the cache (Store)")
    }

    func scoring(cache: CacheBackend) throws -> ScoringBackend {
        throw PipelineError.notIntegrated("tasks, recipes and evaluators (Score)")
    }
}
