import Foundation

/// Folders without `tokenizer.json` but with the older `vocab.json` + `merges.txt` pair (our copy of Qwen3, and
/// any Qwen2-family download made for the slow tokenizer). They are read as transformers' `Qwen2Tokenizer` does:
/// NFC, Qwen2's split regex, byte-level BPE; added tokens from `tokenizer_config.json`'s `added_tokens_decoder`,
/// or `<|endoftext|>` after the vocabulary when there is none.
///
/// Only the Qwen2 family is understood this way (by `config.json` `model_type` or `tokenizer_config.json`
/// `tokenizer_class`); for anything else the missing `tokenizer.json` is reported.
enum VocabMergesFiles {
    static func qwen2TokenizerJSON(directory: URL, config: JSONNode?) throws -> JSONNode? {
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        guard FileManager.default.fileExists(atPath: vocabURL.path),
              FileManager.default.fileExists(atPath: mergesURL.path) else { return nil }
        let modelConfigURL = directory.appendingPathComponent("config.json")
        let modelType = FileManager.default.fileExists(atPath: modelConfigURL.path)
            ? try JSONNode.load(modelConfigURL).optionalString("model_type") : nil
        let tokenizerClass = try config?.optionalString("tokenizer_class")
        guard modelType?.hasPrefix("qwen") == true || tokenizerClass?.hasPrefix("Qwen2Tokenizer") == true else { return nil }

        let vocab = try JSONNode.load(vocabURL)
        let vocabularySize = try vocab.members().count
        guard let mergesText = try? String(contentsOf: mergesURL, encoding: .utf8) else {
            throw TokenizerError.unreadableJSON(file: "merges.txt", reason: "not UTF-8 text")
        }
        var merges: [JSONTree] = []
        for (index, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || (index == 0 && trimmed.hasPrefix("#version")) { continue }
            merges.append(.string(trimmed))
        }

        var added: [JSONTree] = []
        if let decoder = try config?.optional("added_tokens_decoder") {
            for (key, entry) in try decoder.members() {
                guard let id = Int(key) else { throw decoder.invalid("ids as keys (\"\(key)\" is not a number)") }
                var members: [(key: String, value: JSONTree)] = [("id", .number(Double(id)))]
                for (name, value) in try entry.members() { members.append((name, value.value)) }
                added.append(.object(members))
            }
        } else {
            added.append(.object([("id", .number(Double(vocabularySize))), ("content", .string("<|endoftext|>")),
                                  ("special", .bool(true)), ("normalized", .bool(false))]))
        }

        let root: JSONTree = .object([
            ("added_tokens", .array(added)),
            ("normalizer", .object([("type", .string("NFC"))])),
            ("pre_tokenizer", .object([
                ("type", .string("Sequence")),
                ("pretokenizers", .array([
                    .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(Qwen2Pattern.source))])),
                             ("behavior", .string("Isolated")), ("invert", .bool(false))]),
                    .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("use_regex", .bool(false))]),
                ])),
            ])),
            ("model", .object([("type", .string("BPE")), ("vocab", vocab.value), ("merges", .array(merges))])),
            ("decoder", .object([("type", .string("ByteLevel"))])),
        ])
        return JSONNode(value: root, file: "vocab.json + merges.txt", path: "")
    }
}
