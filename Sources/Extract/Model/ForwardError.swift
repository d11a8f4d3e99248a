/// Input a forward pass refuses, naming the sequence (row) and position at fault.
public enum ForwardError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case badMaskValue(row: Int, column: Int, value: Int)
    case tokenOutOfVocabulary(sequence: Int, position: Int, id: Int, vocabularySize: Int)
    case sequenceTooLong(sequence: Int, length: Int, limit: Int, what: String)
    case emptySequence(sequence: Int)
    case badTokenBudget(Int)
    case insufficientMemory(MemoryRequirement)
    case badWorkload(path: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(message):
            return "input shape: \(message)"
        case let .badMaskValue(row, column, value):
            return "attention_mask[\(row)][\(column)] is \(value); it must be 0 or 1"
        case let .tokenOutOfVocabulary(sequence, position, id, size):
            return "sequence \(sequence), token \(position): id \(id) is outside the vocabulary (0..<\(size))"
        case let .sequenceTooLong(sequence, length, limit, what):
            return "sequence \(sequence) has \(length) tokens, more than the model's \(what) (\(limit)); truncate it first"
        case let .emptySequence(sequence):
            return "sequence \(sequence) has no tokens; an empty text yields no embedding (tokenize with special tokens, or drop it)"
        case let .badTokenBudget(value):
            return "token budget \(value) must be at least 1"
        case let .insufficientMemory(requirement):
            return "not enough memory: \(requirement)"
        case let .badWorkload(path, reason):
            return "workload \(path): \(reason)"
        }
    }
}
