import Dispatch
import Foundation

/// A Hugging Face tokenizer loaded from a model folder: `tokenizer.json` plus, when present,
/// `tokenizer_config.json` and `special_tokens_map.json` (a Qwen2-family folder with only `vocab.json` +
/// `merges.txt` also loads, see `VocabMergesFiles`). Mirrors the `tokenizers` library's pipeline
/// (see swift-transformers `Sources/Tokenizers`):
///
/// 1. added tokens that are not `normalized` (special tokens such as `<s>`) are found in the raw text;
/// 2. each stretch of text between them is normalized, then searched for the `normalized` added tokens;
/// 3. the remaining text is split by the pre-tokenizer into pieces;
/// 4. the BPE model turns each piece into ids;
/// 5. with `addSpecialTokens`, the post-processor adds BOS/EOS. For `tokenizer_class` Llama (and GPT-NeoX) in
///    `tokenizer_config.json`, the post-processor is rebuilt from `add_bos_token` / `add_eos_token`, as
///    transformers 4.x `LlamaTokenizerFast.update_post_processor` does (this is what gives DeepSeek its BOS).
///
/// Instances are immutable apart from an internal, locked cache, so one tokenizer can encode from many threads.
///
///     let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: "models/Mixtral-8x7B-v0.1"))
///     tokenizer.encode("Hello world")                            // [1, 22557, 1526]
///     tokenizer.encode("Hello world", addSpecialTokens: false)   // [22557, 1526]
///     try tokenizer.decode([22557, 1526])                        // "Hello world"
public final class Tokenizer: Sendable {
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let normalizer: (any Normalizer)?
    private let preTokenizer: (any PreTokenizer)?
    private let model: BPEModel
    private let postProcessor: (any PostProcessor)?
    private let decoder: (any TokenDecoder)?
    private let addedTokens: [Int: AddedToken]
    /// The text `decode` gives an added token: its content, normalized for `normalized` tokens (as `tokenizers`).
    private let addedTokenStrings: [Int: String]

    /// The id of the beginning-of-sequence token named by `tokenizer_config.json` / `special_tokens_map.json`.
    public let bosTokenID: Int?
    /// The id of the end-of-sequence token named by `tokenizer_config.json` / `special_tokens_map.json`.
    public let eosTokenID: Int?
    /// One more than the largest id the tokenizer can produce (model vocabulary and added tokens). A model's
    /// embedding matrix may have more rows (padding to a multiple of 64 or 128), never fewer.
    public let vocabularySize: Int

    /// Loads the tokenizer of a model folder. Throws `TokenizerError` naming the file and JSON key path of
    /// anything missing, malformed or unsupported.
    public convenience init(directory: URL) throws {
        let tokenizerFile = directory.appendingPathComponent("tokenizer.json")
        let config = try Self.loadIfPresent(directory.appendingPathComponent("tokenizer_config.json"))
        let specialMap = try Self.loadIfPresent(directory.appendingPathComponent("special_tokens_map.json"))
        let root: JSONNode
        if FileManager.default.fileExists(atPath: tokenizerFile.path) {
            root = try JSONNode.load(tokenizerFile)
        } else if let files = try VocabMergesFiles.qwen2TokenizerJSON(directory: directory, config: config) {
            root = files
        } else {
            throw TokenizerError.missingFile(path: tokenizerFile.path)
        }
        try self.init(tokenizer: root, config: config, specialTokensMap: specialMap)
    }

    private static func loadIfPresent(_ url: URL) throws -> JSONNode? {
        FileManager.default.fileExists(atPath: url.path) ? try JSONNode.load(url) : nil
    }

    /// `truncation` and `padding` in tokenizer.json are deliberately not applied: `encode` returns every token,
    /// and the pipeline truncates prompts itself (SPEC.md §5) so that it can flag what it cut.
    init(tokenizer root: JSONNode, config: JSONNode?, specialTokensMap: JSONNode?) throws {
        normalizer = try root.optional("normalizer").map(makeNormalizer)
        preTokenizer = try root.optional("pre_tokenizer").map(makePreTokenizer)
        decoder = try root.optional("decoder").map(makeDecoder)
        model = try Self.makeModel(try root.required("model"))

        var tokens: [AddedToken] = []
        if let list = try root.optional("added_tokens") { tokens = try list.array().map(AddedToken.init) }
        var byID: [Int: AddedToken] = [:]
        for token in tokens where byID[token.id] == nil { byID[token.id] = token }
        addedTokens = byID
        rawMatcher = AddedTokenMatcher(tokens.filter { !$0.normalized }.map { ($0, Array($0.content.unicodeScalars)) })
        let normalizer = self.normalizer
        func matchedContent(_ token: AddedToken) -> [Unicode.Scalar] {
            let content = Array(token.content.unicodeScalars)
            return token.normalized ? normalizer?.normalize(content) ?? content : content
        }
        normalizedMatcher = AddedTokenMatcher(tokens.filter(\.normalized).map { ($0, matchedContent($0)) })
        addedTokenStrings = byID.mapValues { String(String.UnicodeScalarView(matchedContent($0))) }

        let largestModelID = model.idToToken.keys.max().map(Int.init) ?? -1
        vocabularySize = max(largestModelID, tokens.map(\.id).max() ?? -1) + 1

        // Special tokens named by the config files: tokenizer_config.json first, then special_tokens_map.json.
        let model = self.model
        func tokenID(_ key: String) throws -> Int? {
            for file in [config, specialTokensMap].compactMap({ $0 }) {
                guard let node = try file.optional(key) else { continue }
                let content = try node.stringValue ?? node.string("content")
                if let added = tokens.first(where: { Array($0.content.utf8) == Array(content.utf8) }) {
                    return added.id
                }
                if let id = model.vocabulary[Array(content.utf8)] { return Int(id) }
                throw node.invalid("a token of the vocabulary (\"\(content)\" is not)")
            }
            return nil
        }
        bosTokenID = try tokenID("bos_token")
        eosTokenID = try tokenID("eos_token")

        postProcessor = try Self.configPostProcessor(config, bos: bosTokenID, eos: eosTokenID)
            ?? root.optional("post_processor").map(makePostProcessor)
    }

    /// transformers 4.x replaces the post-processor of Llama and GPT-NeoX fast tokenizers with
    /// `[bos] $A [eos]` according to `add_bos_token` / `add_eos_token` (defaults: Llama true/false, NeoX false/false).
    private static func configPostProcessor(_ config: JSONNode?, bos: Int?, eos: Int?) throws -> (any PostProcessor)? {
        guard let config, let className = try config.optionalString("tokenizer_class") else { return nil }
        let defaults: (bos: Bool, eos: Bool)
        switch className {
        case "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast": defaults = (true, false)
        case "GPTNeoXTokenizer", "GPTNeoXTokenizerFast": defaults = (false, false)
        default: return nil
        }
        let addBOS = try config.bool("add_bos_token", default: defaults.bos)
        let addEOS = try config.bool("add_eos_token", default: defaults.eos)
        var prefix: [Int] = [], suffix: [Int] = []
        if addBOS {
            guard let bos else { throw config.invalid("a bos_token, since add_bos_token is true") }
            prefix = [bos]
        }
        if addEOS {
            guard let eos else { throw config.invalid("an eos_token, since add_eos_token is true") }
            suffix = [eos]
        }
        return TemplateProcessor(prefix: prefix, suffix: suffix)
    }

    private static func makeModel(_ node: JSONNode) throws -> BPEModel {
        let type = try node.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unknownType(file: node.file, keyPath: node.path + ".type", type: type, known: ["BPE"])
        }
        if let dropout = try node.optional("dropout"), try dropout.double() > 0 {
            throw TokenizerError.unsupported(file: node.file, keyPath: dropout.path, reason: "BPE dropout (training only)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try node.optionalString(key), !affix.isEmpty {
                throw TokenizerError.unsupported(file: node.file, keyPath: "\(node.path).\(key)",
                                                 reason: "a non-empty \(key) (\"\(affix)\")")
            }
        }
        let vocabulary = try node.required("vocab").members().map { (token: $0.key, id: try $0.node.int()) }
        var merges: [(left: String, right: String, keyPath: String)] = []
        for item in try node.required("merges").array() {
            if let line = item.stringValue {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw item.invalid("a merge \"left right\" (one space)") }
                merges.append((String(parts[0]), String(parts[1]), item.path))
            } else {
                let pair = try item.array()
                guard pair.count == 2 else { throw item.invalid("a merge [left, right]") }
                merges.append((try pair[0].string(), try pair[1].string(), item.path))
            }
        }
        return try BPEModel(vocabulary: vocabulary, merges: merges,
                            unknownToken: try node.optionalString("unk_token"),
                            fuseUnknown: try node.bool("fuse_unk", default: false),
                            byteFallback: try node.bool("byte_fallback", default: false),
                            ignoreMerges: try node.bool("ignore_merges", default: false), file: node.file)
    }

    /// The token ids of `text`. With `addSpecialTokens`, the post-processor's BOS/EOS are added (as
    /// `tokenizers`' `encode(text, add_special_tokens=True)`); special-token text inside `text` is always
    /// matched as that token. The empty string gives `[]`, plus BOS/EOS when they are added.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        var firstSegment = true
        for raw in rawMatcher.split(Array(text.unicodeScalars)) {
            switch raw {
            case .token(let id):
                ids.append(id)
            case .text(let stretch):
                let normalized = normalizer?.normalize(stretch) ?? stretch
                for segment in normalizedMatcher.split(normalized) {
                    switch segment {
                    case .token(let id):
                        ids.append(id)
                    case .text(let part):
                        let pieces = preTokenizer?.preTokenize([part], firstSegment: firstSegment) ?? [part]
                        for piece in pieces { model.encode(piece, into: &ids) }
                    }
                    firstSegment = false
                }
            }
            firstSegment = false
        }
        guard addSpecialTokens, let postProcessor else { return ids }
        return postProcessor.process(ids)
    }

    /// The ids of many texts, encoded on all cores; `result[i]` belongs to `texts[i]`.
    public func encode(batch texts: [String], addSpecialTokens: Bool = true) -> [[Int]] {
        let results = BatchResults(count: texts.count)
        DispatchQueue.concurrentPerform(iterations: texts.count) { index in
            results.set(index, encode(texts[index], addSpecialTokens: addSpecialTokens))
        }
        return results.all
    }

    /// The text of `ids`, through the tokenizer.json decoder. Throws for an id the tokenizer does not have.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        var tokens: [String] = []
        for id in ids {
            if let added = addedTokens[id] {
                if !(skipSpecialTokens && added.special) { tokens.append(addedTokenStrings[id] ?? added.content) }
            } else if let id32 = Int32(exactly: id), let token = model.idToToken[id32] {
                tokens.append(token)
            } else {
                throw TokenizerError.unknownTokenID(id)
            }
        }
        return (decoder?.decode(tokens) ?? tokens).joined()
    }
}

/// One slot per text, filled by concurrent encoders.
private final class BatchResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[Int]]

    init(count: Int) { slots = Array(repeating: [], count: count) }
    func set(_ index: Int, _ ids: [Int]) { lock.withLock { slots[index] = ids } }
    var all: [[Int]] { lock.withLock { slots } }
}
