import Foundation

/// The stage after the model: adds the special tokens of a single sequence (BOS/EOS, CLS/SEP).
/// Only applied when encoding with `addSpecialTokens`.
protocol PostProcessor: Sendable {
    func process(_ ids: [Int]) -> [Int]
}

func makePostProcessor(_ node: JSONNode) throws -> any PostProcessor {
    let type = try node.string("type")
    switch type {
    case "TemplateProcessing": return try TemplateProcessor(node)
    case "ByteLevel": return TemplateProcessor(prefix: [], suffix: [])  // offsets only; adds nothing
    case "RobertaProcessing", "BertProcessing":
        // "cls": ["<s>", 0], "sep": ["</s>", 2]: the token text and its id.
        func id(_ key: String) throws -> Int {
            let pair = try node.required(key).array()
            guard pair.count == 2 else { throw try node.required(key).invalid("[token, id]") }
            return try pair[1].int()
        }
        return TemplateProcessor(prefix: [try id("cls")], suffix: [try id("sep")])
    case "Sequence":
        return SequenceProcessor(stages: try node.required("processors").array().map(makePostProcessor))
    default:
        throw TokenizerError.unknownType(file: node.file, keyPath: node.path + ".type", type: type,
                                         known: ["TemplateProcessing", "ByteLevel", "RobertaProcessing",
                                                 "BertProcessing", "Sequence"])
    }
}

/// `TemplateProcessing`'s `single` template, e.g. `<s> $A`: the special tokens before and after the sequence.
struct TemplateProcessor: PostProcessor {
    let prefix: [Int]
    let suffix: [Int]

    init(prefix: [Int], suffix: [Int]) {
        self.prefix = prefix
        self.suffix = suffix
    }

    init(_ node: JSONNode) throws {
        // special_tokens: {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}
        var specialIDs: [String: [Int]] = [:]
        if let specials = try node.optional("special_tokens") {
            for (name, entry) in try specials.members() {
                specialIDs[name] = try entry.required("ids").array().map { try $0.int() }
            }
        }
        var prefix: [Int] = [], suffix: [Int] = []
        var seenSequence = false
        for item in try node.required("single").array() {
            if let special = try item.optional("SpecialToken") {
                let name = try special.string("id")
                guard let ids = specialIDs[name] else {
                    throw try special.required("id").invalid("a token listed in special_tokens (\"\(name)\" is not)")
                }
                if seenSequence { suffix += ids } else { prefix += ids }
            } else if try item.optional("Sequence") != nil {
                seenSequence = true
            } else {
                throw item.invalid("{\"SpecialToken\": ...} or {\"Sequence\": ...}")
            }
        }
        self.prefix = prefix
        self.suffix = suffix
    }

    func process(_ ids: [Int]) -> [Int] {
        prefix.isEmpty && suffix.isEmpty ? ids : prefix + ids + suffix
    }
}

struct SequenceProcessor: PostProcessor {
    let stages: [any PostProcessor]

    func process(_ ids: [Int]) -> [Int] {
        stages.reduce(ids) { $1.process($0) }
    }
}
