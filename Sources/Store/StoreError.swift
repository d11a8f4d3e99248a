// Every way the store can fail, with messages that name the file (and the key where there is one).
import Foundation

/// Which blob a message is about: `model/prompt "text" kind pooling [layer]`.
public struct TensorKey: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case hiddenState = "hidden_states", routerLogits = "router_logits" }
    public var model: String
    public var prompt: String
    public var text: String
    public var kind: Kind
    public var pooling: Pooling
    /// The hidden-state entry (0 = embedding output); nil for router logits.
    public var layer: Int?

    public init(model: String, prompt: String, text: String, kind: Kind, pooling: Pooling, layer: Int?) {
        self.model = model
        self.prompt = prompt
        self.text = text
        self.kind = kind
        self.pooling = pooling
        self.layer = layer
    }

    public var description: String {
        let layerPart = layer.map { " layer \($0)" } ?? ""
        return "(model \(model), prompt \(prompt), text \(quoted(text))) \(kind.rawValue) \(pooling.rawValue)\(layerPart)"
    }
}

/// A short, quoted rendering of a text for messages.
func quoted(_ text: String, limit: Int = 120) -> String {
    let short = text.count > limit ? String(text.prefix(limit)) + "..." : text
    return "\"" + short.replacingOccurrences(of: "\n", with: "\\n") + "\""
}

public enum StoreError: Error, CustomStringConvertible {
    /// A SQLite call failed; `context` is the statement or step.
    case sqlite(path: String, code: Int32, message: String, context: String)
    case notWritable(path: String, reason: String)
    case noSuchStore(path: String)
    case notSQLite(path: String)
    case foreignDatabase(path: String, details: String)
    case newerSchema(path: String, found: Int, supported: Int)
    case olderSchema(path: String, found: Int, supported: Int)
    case corruptTensor(path: String, key: TensorKey, reason: TensorCodecError)
    case missingTensor(path: String, key: TensorKey)
    case missingRecords(path: String, model: String, prompt: String, missing: Int, requested: Int, examples: [String])
    case unknownModel(path: String, model: String)
    case unknownPrompt(path: String, prompt: String)
    case invalidRecord(path: String, text: String, reason: String)
    case layerOutOfRange(path: String, model: String, layer: Int, entries: Int)
    case writerLocked(path: String, lockFile: String, pid: String)
    case readOnly(path: String)
    case shapeConflict(model: String, source: String, target: String)
    case codecMismatch(path: String, kind: String, stored: String, requested: String)
    case fingerprintConflict(model: String, variant: String, fileA: String, fingerprintA: String,
                             fileB: String, fingerprintB: String)

    public var description: String {
        switch self {
        case .sqlite(let path, let code, let message, let context):
            return "\(path): SQLite error \(code) (\(message)) while \(context.hasPrefix("opening") ? context : "running: \(context)")"
        case .notWritable(let path, let reason):
            return "\(path): cannot write the store here: \(reason)"
        case .noSuchStore(let path):
            return "\(path): no such store (the file does not exist)"
        case .notSQLite(let path):
            return "\(path): not a SQLite database (the file does not start with the SQLite header); refusing to touch it"
        case .foreignDatabase(let path, let details):
            return "\(path): a SQLite database of another program, not a moee store (\(details)); refusing to touch it"
        case .newerSchema(let path, let found, let supported):
            return "\(path): store schema version \(found) is newer than this moee supports (\(supported)); "
                + "upgrade moee (pipeline version prints yours)"
        case .olderSchema(let path, let found, let supported):
            return "\(path): store schema version \(found) is older than \(supported) and was opened read-only; "
                + "it is migrated in place the first time a writer opens it (e.g. `pipeline extract` with a manifest naming it)"
        case .corruptTensor(let path, let key, let reason):
            return "\(path): damaged tensor \(key): \(reason)"
        case .missingTensor(let path, let key):
            return "\(path): record has no tensor \(key)"
        case .missingRecords(let path, let model, let prompt, let missing, let requested, let examples):
            return "\(path): \(missing) of \(requested) texts have no record for model \(model), prompt \(prompt); first: "
                + examples.map { quoted($0) }.joined(separator: ", ")
        case .unknownModel(let path, let model):
            return "\(path): no model \(model) in the store"
        case .unknownPrompt(let path, let prompt):
            return "\(path): no prompt \(prompt) in the store"
        case .invalidRecord(let path, let text, let reason):
            return "\(path): record for text \(quoted(text)) refused: \(reason)"
        case .layerOutOfRange(let path, let model, let layer, let entries):
            return "\(path): layer \(layer) out of range for model \(model), which has \(entries) hidden-state entries "
                + "(0...\(entries - 1), or -\(entries)...-1 from the end)"
        case .writerLocked(let path, let lockFile, let pid):
            return "\(path): store is being written by another process (pid \(pid), lock \(lockFile)); "
                + "wait for it to finish or stop it"
        case .readOnly(let path):
            return "\(path): store was opened read-only"
        case .shapeConflict(let model, let source, let target):
            return "model \(model) has other tensor shapes in \(source) than in \(target); refusing to merge"
        case .codecMismatch(let path, let kind, let stored, let requested):
            return "\(path): the store keeps \(kind) as \(stored) but \(requested) was requested; "
                + "the codec is chosen when a store is created (use a new store or merge into one)"
        case .fingerprintConflict(let model, let variant, let fileA, let fingerprintA, let fileB, let fingerprintB):
            return "model \(model) (\(variant)) has fingerprint \(fingerprintA) in \(fileA) but \(fingerprintB) in \(fileB): "
                + "these are different checkpoints under one name; refusing to merge"
        }
    }
}
