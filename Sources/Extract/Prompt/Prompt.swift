import Foundation

/// How a raw text becomes the model's input (SPEC.md §5): a template with `{text}` and optionally
/// `{instruction}`, plus the text preprocessing it needs.
///
/// The presets reproduce the paper's code (Li & Zhou, which follows PromptEOL): `none` renders `"{text}"` and
/// `prompteol` renders `This sentence : "{text}" means in one word:"`. Both append `.` to a text that does not end
/// in one of `. ? ! " '`, replace every `"` in the text by `'`, then replace `_` by a space in the whole rendered
/// prompt and trim it.
public struct Prompt: Sendable, Equatable {
    /// The name reports and the cache show (e.g. `prompteol`); not part of the cache key.
    public let name: String
    /// The template, with `{text}` once and `{instruction}` at most once.
    public let template: String
    public let preprocessing: Preprocessing
    /// How an instruction is written before it is substituted (`{instruction}` inside), GritLM's format by default.
    public let instructionFormat: String

    /// The text preprocessing a prompt asks for, in the order it is applied.
    public struct Preprocessing: Sendable, Equatable, Hashable {
        /// Append `.` to a text that does not end in one of `. ? ! " '` (checked before quotes are replaced).
        public var appendPeriod: Bool
        /// Replace every `"` in the text by `'`, so the text cannot close the template's quotes.
        public var replaceDoubleQuotes: Bool
        /// Replace every `_` by a space in the rendered prompt (template, instruction and text).
        public var underscoreToSpace: Bool
        /// Trim whitespace and newlines around the rendered prompt.
        public var trim: Bool

        public init(appendPeriod: Bool, replaceDoubleQuotes: Bool, underscoreToSpace: Bool, trim: Bool) {
            self.appendPeriod = appendPeriod
            self.replaceDoubleQuotes = replaceDoubleQuotes
            self.underscoreToSpace = underscoreToSpace
            self.trim = trim
        }

        /// What the paper's code does for both of its prompts.
        public static let paper = Preprocessing(appendPeriod: true, replaceDoubleQuotes: true,
                                                underscoreToSpace: true, trim: true)
        /// No preprocessing at all: the template renders the text exactly as given.
        public static let verbatim = Preprocessing(appendPeriod: false, replaceDoubleQuotes: false,
                                                   underscoreToSpace: false, trim: false)
    }

    /// GritLM's embedding-instruction format, which the paper's code put before the text, inside the quotes.
    public static let gritLMInstructionFormat = "<|user|>\n{instruction}\n<|embed|>\n"

    public init(name: String, template: String, preprocessing: Preprocessing,
                instructionFormat: String = Prompt.gritLMInstructionFormat) throws {
        self.name = name
        self.template = template
        self.preprocessing = preprocessing
        self.instructionFormat = instructionFormat
        try validate()
    }

    /// The presets by name: `none` and `prompteol`.
    public static let presets: [String: Prompt] = [
        "none": Prompt(trusted: "none", template: "\"{text}\""),
        "prompteol": Prompt(trusted: "prompteol", template: "This sentence : \"{text}\" means in one word:\""),
    ]

    /// Preset names in a stable order, for messages.
    public static var presetNames: [String] { presets.keys.sorted() }

    private init(trusted name: String, template: String) {
        self.name = name
        self.template = template
        self.preprocessing = .paper
        self.instructionFormat = Prompt.gritLMInstructionFormat
    }

    private func validate() throws {
        let textCount = template.components(separatedBy: "{text}").count - 1
        guard textCount == 1 else {
            throw PromptError.template(name: name, "must contain {text} exactly once (found \(textCount))")
        }
        let instructionCount = template.components(separatedBy: "{instruction}").count - 1
        guard instructionCount <= 1 else {
            throw PromptError.template(name: name, "may contain {instruction} at most once (found \(instructionCount))")
        }
        guard instructionFormat.components(separatedBy: "{instruction}").count - 1 == 1 else {
            throw PromptError.template(name: name, "instruction_format must contain {instruction} exactly once")
        }
    }

    // MARK: Rendering

    /// The text after the prompt's text preprocessing (period, quotes); what truncation shortens.
    public func preprocess(_ text: String) -> String {
        var text = text
        if preprocessing.appendPeriod, !Prompt.endsInSentencePunctuation(text) { text += "." }
        if preprocessing.replaceDoubleQuotes { text = text.replacingOccurrences(of: "\"", with: "'") }
        return text
    }

    private static func endsInSentencePunctuation(_ text: String) -> Bool {
        guard let last = text.unicodeScalars.last else { return false }
        return [".", "?", "!", "\"", "'"].contains(last)
    }

    /// The model input for `text`, with an optional per-task instruction.
    ///
    /// The instruction, written in `instructionFormat`, goes where the template says `{instruction}`; a template
    /// without `{instruction}` gets it directly in front of the text (inside the quotes of the presets).
    public func render(_ text: String, instruction: String? = nil) -> String {
        assemble(preprocessedText: preprocess(text), instruction: instruction)
    }

    /// Substitutes an already preprocessed text; the last steps (`_`, trim) apply to the whole prompt.
    func assemble(preprocessedText text: String, instruction: String?) -> String {
        let block = instruction.map { instructionFormat.replacingOccurrences(of: "{instruction}", with: $0) } ?? ""
        var rendered: String
        if template.contains("{instruction}") {
            rendered = substitute(["{instruction}": block, "{text}": text])
        } else {
            rendered = substitute(["{text}": block + text])
        }
        if preprocessing.underscoreToSpace { rendered = rendered.replacingOccurrences(of: "_", with: " ") }
        if preprocessing.trim { rendered = rendered.trimmingCharacters(in: .whitespacesAndNewlines) }
        return rendered
    }

    /// Replaces placeholders in one left-to-right pass, so a text containing `{instruction}` stays literal.
    private func substitute(_ values: [String: String]) -> String {
        var result = ""
        var rest = Substring(template)
        while let range = values.keys.compactMap({ rest.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            result += rest[..<range.lowerBound]
            result += values[String(rest[range])] ?? ""
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    // MARK: Cache key

    /// The canonical description of everything that changes the rendered input: the prompt part of a cache key
    /// (SPEC.md §4). Two prompts with equal specifications render every text identically; the name is left out.
    /// - Parameters:
    ///   - instruction: the task's instruction, if any.
    ///   - maxLength: the manifest's `max_length` when it set one, since it changes long texts.
    public func specification(instruction: String? = nil, maxLength: Int? = nil) -> String {
        var fields: [(String, String)] = [
            ("template", template),
            ("append_period", String(preprocessing.appendPeriod)),
            ("replace_double_quotes", String(preprocessing.replaceDoubleQuotes)),
            ("underscore_to_space", String(preprocessing.underscoreToSpace)),
            ("trim", String(preprocessing.trim)),
        ]
        if let instruction {
            fields.append(("instruction_format", instructionFormat))
            fields.append(("instruction", instruction))
        }
        if let maxLength { fields.append(("max_length", String(maxLength))) }
        return "prompt/1 " + fields.map { "\($0.0)=\(Prompt.quoted($0.1))" }.joined(separator: " ")
    }

    /// A JSON string literal: unambiguous, and readable in `sqlite3`.
    private static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A prompt that cannot be used, named so the user can find it in the manifest.
public enum PromptError: Error, CustomStringConvertible, Equatable {
    case template(name: String, String)
    case templateTooLong(name: String, tokens: Int, limit: Int)

    public var description: String {
        switch self {
        case .template(let name, let message):
            return "prompt '\(name)': template \(message)"
        case .templateTooLong(let name, let tokens, let limit):
            return "prompt '\(name)': the template alone takes \(tokens) tokens, more than the limit of \(limit); "
                + "raise max_length or shorten the template"
        }
    }
}
