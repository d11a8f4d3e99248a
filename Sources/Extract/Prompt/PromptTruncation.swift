/// A rendered model input, and whether its text had to be shortened to fit.
public struct RenderedPrompt: Sendable, Equatable {
    /// The string handed to the tokenizer.
    public let input: String
    /// Its token count, as the counting function reported it (special tokens included if it adds them).
    public let tokenCount: Int
    /// True when the text was shortened to fit the limit; the record is flagged (SPEC.md §4).
    public let truncated: Bool
}

extension Prompt {
    /// Renders `text` and, only if the result has more than `limit` tokens, shortens the text (never the template)
    /// to the longest prefix that fits (SPEC.md §5).
    ///
    /// The prefix is searched on characters of the preprocessed text (bisection, about log2(characters) calls of
    /// `countTokens`), so the cut never splits a character and the template's closing words stay whole. The
    /// period the preprocessing appended goes with the cut: a shortened text ends where it was cut.
    /// - Parameters:
    ///   - limit: min(the model's max_position_embeddings, the manifest's max_length).
    ///   - countTokens: the tokenizer's count for a full model input, as it will be encoded.
    public func render(_ text: String, instruction: String? = nil, limit: Int,
                       countTokens: (String) throws -> Int) throws -> RenderedPrompt {
        let processed = preprocess(text)
        let full = assemble(preprocessedText: processed, instruction: instruction)
        let fullCount = try countTokens(full)
        if fullCount <= limit { return RenderedPrompt(input: full, tokenCount: fullCount, truncated: false) }

        let characters = Array(processed)
        let empty = assemble(preprocessedText: "", instruction: instruction)
        let emptyCount = try countTokens(empty)
        guard emptyCount <= limit else {
            throw PromptError.templateTooLong(name: name, tokens: emptyCount, limit: limit)
        }
        // Invariant: a prefix of `fits` characters fits (count `fitsCount`); one of `tooLong` does not.
        var fits = 0, fitsCount = emptyCount, tooLong = characters.count
        while tooLong - fits > 1 {
            let middle = (fits + tooLong) / 2
            let count = try countTokens(assemble(preprocessedText: String(characters[..<middle]), instruction: instruction))
            if count <= limit { fits = middle; fitsCount = count } else { tooLong = middle }
        }
        let input = assemble(preprocessedText: String(characters[..<fits]), instruction: instruction)
        return RenderedPrompt(input: input, tokenCount: fitsCount, truncated: true)
    }
}
