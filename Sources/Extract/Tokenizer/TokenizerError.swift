import Foundation

/// Everything that can go wrong loading or using a tokenizer. Each message names the file and the JSON key path
/// (e.g. `tokenizer.json: normalizer.normalizers[2].type`) so a user can find the offending entry.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A required file (`tokenizer.json`) is not in the model folder.
    case missingFile(path: String)
    /// The file exists but is not valid JSON (or not a JSON object at the top).
    case unreadableJSON(file: String, reason: String)
    /// A key is missing or holds the wrong kind of value.
    case invalidValue(file: String, keyPath: String, expected: String)
    /// A stage `"type"` this implementation does not know.
    case unknownType(file: String, keyPath: String, type: String, known: [String])
    /// A stage option that is recognised but not supported (e.g. BPE dropout).
    case unsupported(file: String, keyPath: String, reason: String)
    /// A merge names a token that is not in the vocabulary.
    case mergeOutOfVocabulary(file: String, keyPath: String, token: String)
    /// A regular expression in the file does not compile.
    case invalidPattern(file: String, keyPath: String, pattern: String, reason: String)
    /// `decode` was given an id the tokenizer does not have.
    case unknownTokenID(Int)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): file not found (a model folder needs the tokenizer.json of its Hugging Face repository; vocab.json + merges.txt are accepted for Qwen2-family models only)"
        case .unreadableJSON(let file, let reason):
            return "\(file): not a valid JSON object: \(reason)"
        case .invalidValue(let file, let keyPath, let expected):
            return "\(file): \(keyPath): expected \(expected)"
        case .unknownType(let file, let keyPath, let type, let known):
            return "\(file): \(keyPath): unknown type \"\(type)\" (supported: \(known.joined(separator: ", ")))"
        case .unsupported(let file, let keyPath, let reason):
            return "\(file): \(keyPath): unsupported: \(reason)"
        case .mergeOutOfVocabulary(let file, let keyPath, let token):
            return "\(file): \(keyPath): merge uses token \"\(token)\" that is not in model.vocab"
        case .invalidPattern(let file, let keyPath, let pattern, let reason):
            return "\(file): \(keyPath): regular expression \"\(pattern)\" does not compile: \(reason)"
        case .unknownTokenID(let id):
            return "token id \(id) is not in the tokenizer's vocabulary"
        }
    }
}
