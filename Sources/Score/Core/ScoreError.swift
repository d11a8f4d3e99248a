/// Everything that can go wrong in stage two, with messages that name the file, line, key or text.
public enum ScoreError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read or is not valid JSON (`line` 0 for whole-file JSON).
    case unreadable(file: String, line: Int, reason: String)
    /// A record or `task.json` lacks a key or has one of the wrong type.
    case badField(file: String, line: Int, key: String, expected: String)
    /// List fields of one record that must have equal lengths do not.
    case unequalLengths(file: String, line: Int, detail: String)
    case missingSplit(task: String, file: String)
    case unknownTaskType(file: String, found: String)
    case emptyTask(task: String, detail: String)
    /// Texts the task needs that the embeddings do not contain.
    case missingTexts(task: String, count: Int, examples: [String])
    case nonFiniteEmbedding(text: String)
    case dimensionMismatch(file: String, line: Int, expected: Int, found: Int)
    case invalidRecipe(String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unreadable(file, line, reason):
            return line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)"
        case let .badField(file, line, key, expected):
            return "\(file):\(line): key '\(key)' must be \(expected)"
        case let .unequalLengths(file, line, detail):
            return "\(file):\(line): \(detail)"
        case let .missingSplit(task, file):
            return "task \(task): split file \(file) is missing"
        case let .unknownTaskType(file, found):
            return "\(file): unknown task type '\(found)' (known: \(TaskType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .emptyTask(task, detail):
            return "task \(task): \(detail)"
        case let .missingTexts(task, count, examples):
            let shown = examples.map { "\"\(String($0.prefix(80)))\"" }.joined(separator: ", ")
            return "task \(task): \(count) text(s) have no embedding, e.g. \(shown)"
        case let .nonFiniteEmbedding(text):
            return "the embedding of \"\(String(text.prefix(80)))\" contains NaN or Inf"
        case let .dimensionMismatch(file, line, expected, found):
            return "\(file):\(line): embedding has \(found) values, expected \(expected) like the first line"
        case let .invalidRecipe(message), let .invalidInput(message):
            return message
        }
    }
}
