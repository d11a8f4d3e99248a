import Extract
import Testing

@Suite struct PromptTests {
    let prompteol = Prompt.presets["prompteol"]!
    let none = Prompt.presets["none"]!

    @Test func presetsRenderThePapersTemplates() {
        #expect(none.render("A man plays a guitar") == "\"A man plays a guitar.\"")
        #expect(prompteol.render("A man plays a guitar")
                == "This sentence : \"A man plays a guitar.\" means in one word:\"")
    }

    @Test(arguments: [".", "?", "!", "\"", "'"])
    func noPeriodAfterFinalPunctuation(_ mark: String) {
        let rendered = none.render("Stop" + mark)
        // A final `"` is kept from the period rule, then replaced by `'` like every other double quote.
        #expect(rendered == "\"Stop\(mark == "\"" ? "'" : mark)\"")
    }

    @Test func periodAppendedOtherwise() {
        #expect(none.render("Ends with a colon:") == "\"Ends with a colon:.\"")
        #expect(none.render("") == "\".\"")
        #expect(none.render("trailing space ") == "\"trailing space .\"")
    }

    @Test func doubleQuotesInTheTextBecomeSingleQuotes() {
        #expect(prompteol.render("He said \"hi\" twice")
                == "This sentence : \"He said 'hi' twice.\" means in one word:\"")
    }

    @Test func underscoresBecomeSpacesAndTheResultIsTrimmed() {
        #expect(none.render("snake_case_name") == "\"snake case name.\"")
        let custom = try? Prompt(name: "pad", template: "  {text}  ", preprocessing: .paper)
        #expect(custom?.render("x_y") == "x y.")
    }

    @Test func instructionGoesInFrontOfTheTextInsideTheQuotes() {
        let rendered = prompteol.render("A cat sits.", instruction: "Retrieve semantically similar text.")
        #expect(rendered == "This sentence : \"<|user|>\nRetrieve semantically similar text.\n<|embed|>\nA cat sits.\" means in one word:\"")
    }

    @Test func customTemplateWithInstructionPlaceholder() throws {
        let prompt = try Prompt(name: "q", template: "Q: {instruction}| {text}", preprocessing: .verbatim,
                                instructionFormat: "[{instruction}]")
        #expect(prompt.render("a_b \"c\"", instruction: "find") == "Q: [find]| a_b \"c\"")
        #expect(prompt.render("x") == "Q: | x")
        // A text that looks like a placeholder stays literal.
        #expect(prompt.render("{instruction}", instruction: "i") == "Q: [i]| {instruction}")
    }

    @Test func templatesNeedExactlyOneTextPlaceholder() {
        #expect(throws: PromptError.self) { try Prompt(name: "bad", template: "no placeholder", preprocessing: .paper) }
        #expect(throws: PromptError.self) { try Prompt(name: "bad", template: "{text} {text}", preprocessing: .paper) }
    }

    @Test func specificationChangesWithEverythingThatChangesTheInput() throws {
        let renamed = try Prompt(name: "other-name", template: prompteol.template, preprocessing: .paper)
        #expect(renamed.specification() == prompteol.specification())
        let specs = [
            prompteol.specification(),
            none.specification(),
            prompteol.specification(instruction: "a"),
            prompteol.specification(instruction: "b"),
            prompteol.specification(maxLength: 128),
            try Prompt(name: "p", template: prompteol.template, preprocessing: .verbatim).specification(),
        ]
        #expect(Set(specs).count == specs.count)
        #expect(prompteol.specification().hasPrefix("prompt/1 template=\"This sentence : \\\"{text}\\\""))
    }

    // A fake tokenizer: one token per word (split on spaces) plus one for BOS.
    static func words(_ text: String) -> Int { text.split(separator: " ").count + 1 }

    @Test func shortTextsAreNotTruncated() throws {
        let result = try prompteol.render("one two three", limit: 100, countTokens: Self.words)
        #expect(!result.truncated)
        #expect(result.input == prompteol.render("one two three"))
        #expect(result.tokenCount == Self.words(result.input))
    }

    @Test func longTextsAreCutKeepingTheTemplateWhole() throws {
        let text = (1...50).map { "w\($0)" }.joined(separator: " ")
        // Template: "This sentence : "...text..." means in one word:"" = 7 words besides the text + BOS.
        let result = try prompteol.render(text, limit: 20, countTokens: Self.words)
        #expect(result.truncated)
        #expect(result.tokenCount <= 20)
        #expect(result.tokenCount == Self.words(result.input))
        #expect(result.input.hasPrefix("This sentence : \"w1 w2"))
        #expect(result.input.hasSuffix("\" means in one word:\""))
        // The longest prefix that fits: one more character would not fit.
        let body = result.input.dropFirst("This sentence : \"".count).dropLast("\" means in one word:\"".count)
        let longer = prompteol.render(String(text.prefix(body.count + 1)))
        #expect(Self.words(String(longer)) > 20 || body.count == text.count)
    }

    @Test func aTemplateLongerThanTheLimitIsAnError() {
        #expect(throws: PromptError.self) {
            try prompteol.render("text", limit: 3, countTokens: Self.words)
        }
    }
}
