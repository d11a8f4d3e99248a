import Foundation

/// A model as the cache holds it: its key (name, variant, fingerprint) and how many records it has.
struct StoredModelRecord: Sendable, Equatable {
    let key: ModelKey
    let records: Int
}

/// How `score` finds a manifest model in the store (SPEC.md §4 keys records by name, variant, fingerprint).
///
/// The variant is a stored fact: `extract` records what computed the tensors ("q4k+bf16" when the BF16 kernel
/// did), and `score` reads it back instead of re-deriving it from the CPU it happens to run on. The checkpoint
/// folder is optional here: when present, its fingerprint narrows the choice (and catches a changed checkpoint);
/// when absent, the store's record of the model is used and the user is told so in one line.
enum ModelLookup {
    struct Found: Equatable {
        let key: ModelKey
        /// One line for stderr when the store's record stood in for a missing checkpoint folder.
        let note: String?
    }

    enum LookupError: Error, CustomStringConvertible {
        case notStored(model: String, index: Int, quantization: String, folderProblem: String, store: String,
                       stored: [StoredModelRecord])
        case ambiguous(model: String, index: Int, candidates: [StoredModelRecord], store: String)

        var description: String {
            switch self {
            case .notStored(let model, let index, let quantization, let folderProblem, let store, let stored):
                let listed = stored.isEmpty ? "the store holds no models"
                    : "the store holds: " + stored.map(ModelLookup.describe).joined(separator: "; ")
                return "models[\(index)] \"\(model)\" (quantization \(quantization)): \(folderProblem), and the store "
                    + "\(store) has no record of this model to score from instead (\(listed)). Run `pipeline extract` "
                    + "where the checkpoint is, or correct models[\(index)].name / .quantization."
            case .ambiguous(let model, let index, let candidates, let store):
                return "models[\(index)] \"\(model)\" matches \(candidates.count) models in \(store): "
                    + candidates.map(ModelLookup.describe).joined(separator: "; ")
                    + ". Pick one with models[\(index)].variant and/or models[\(index)].fingerprint (a prefix is enough)"
                    + ", or put the checkpoint folder back so its fingerprint decides."
            }
        }
    }

    static func describe(_ model: StoredModelRecord) -> String {
        "\(model.key.name) variant \(model.key.variant) fingerprint \(model.key.fingerprint.prefix(16)) (\(model.records) records)"
    }

    /// The stored model that `entry` (models[`index`]) names. `checkpointFingerprint` is nil when the folder is
    /// unusable (`entry.folderProblem`). With a checkpoint and no stored match, returns the checkpoint's key, so
    /// that `score` reports the missing records and suggests `extract`.
    static func resolve(_ entry: Manifest.ModelEntry, index: Int, stored: [StoredModelRecord],
                        checkpointFingerprint: String?, storePath: String) throws -> Found {
        let sameName = stored.filter { $0.key.name == entry.name && entry.quantization.matches(storeVariant: $0.key.variant) }
        var candidates = sameName
        if let variant = entry.variant { candidates = candidates.filter { $0.key.variant == variant } }
        if let prefix = entry.fingerprint { candidates = candidates.filter { $0.key.fingerprint.hasPrefix(prefix) } }
        if let checkpointFingerprint { candidates = candidates.filter { $0.key.fingerprint == checkpointFingerprint } }
        // Several variants with no records are leftovers of an interrupted registration, not a choice.
        if candidates.count > 1 { candidates = candidates.filter { $0.records > 0 } }

        switch candidates.count {
        case 1:
            let key = candidates[0].key
            guard checkpointFingerprint == nil, let problem = entry.folderProblem else { return Found(key: key, note: nil) }
            // The folder check's advice ("download the checkpoint there") does not apply here: cut it.
            let reason = problem.message.prefix { $0 != "(" }.trimmingCharacters(in: .whitespaces)
            return Found(key: key, note: "score \(entry.name): \(reason); using the store's record of the model "
                + "(variant \(key.variant), fingerprint \(key.fingerprint.prefix(16)))")
        case 0:
            guard let checkpointFingerprint else {
                throw LookupError.notStored(model: entry.name, index: index, quantization: entry.quantization.rawValue,
                                            folderProblem: entry.folderProblem?.message ?? "no checkpoint folder",
                                            store: storePath, stored: stored)
            }
            // Nothing extracted for this checkpoint yet: the missing-records report says what to run.
            return Found(key: ModelKey(name: entry.name, variant: entry.variant ?? entry.quantization.storeVariant(bf16Kernel: false),
                                       fingerprint: checkpointFingerprint, architectureJSON: "{}"),
                         note: sameName.isEmpty ? nil : "score \(entry.name): the store has this model only with other "
                             + "fingerprints or variants than the manifest asks for (checkpoint fingerprint "
                             + "\(checkpointFingerprint.prefix(16))): " + sameName.map(describe).joined(separator: "; "))
        default:
            throw LookupError.ambiguous(model: entry.name, index: index, candidates: candidates, store: storePath)
        }
    }
}
