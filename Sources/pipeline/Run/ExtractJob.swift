import Extract
import Foundation

/// Stage one over a manifest: the unique (model, prompt, text) triples of every task's required texts, minus what
/// the cache holds, rendered, tokenized, batched by length under the token budget, and stored batch by batch.
struct ExtractJob {
    let manifest: Manifest
    /// Per task (manifest order), the texts its evaluator will embed.
    let taskTexts: [(task: Manifest.TaskEntry, texts: [String])]
    var shard: Shard = .whole

    /// The texts of one prompt key: every text of every task that renders with this key, each once.
    struct Group {
        let prompt: Manifest.PromptEntry
        let key: PromptKey
        let instruction: String?
        var texts: [String]
    }

    /// What a run did, for the closing line.
    struct Summary: Sendable, Equatable {
        var texts = 0, cached = 0, extracted = 0, truncated = 0, tokens = 0, batches = 0
    }

    /// Groups the required texts by prompt key for one model (instructions and max_length change the key).
    func groups(for model: Manifest.ModelEntry) -> [Group] {
        var order: [PromptKey] = []
        var groups: [PromptKey: Group] = [:]
        var seen: [PromptKey: Set<String>] = [:]
        for prompt in manifest.prompts {
            for (task, texts) in taskTexts {
                let key = prompt.key(task: task.name, maxLength: model.maxLength)
                if groups[key] == nil {
                    order.append(key)
                    groups[key] = Group(prompt: prompt, key: key, instruction: prompt.instruction(for: task.name), texts: [])
                }
                for text in texts where shard.contains(text) && seen[key, default: []].insert(text).inserted {
                    groups[key]?.texts.append(text)
                }
            }
        }
        return order.compactMap { groups[$0] }
    }

    /// Extracts everything missing for one model. Throws `ExitStatus` 130 after the batch in flight when Ctrl-C
    /// was pressed; every batch before it is committed.
    func run(model entry: Manifest.ModelEntry, encoder: EncoderBackend, cache: CacheBackend,
             makeProgress: (_ label: String, _ texts: Int, _ tokens: Int) -> ProgressReporter,
             log: (String) -> Void = { _ in }) throws -> Summary {
        var summary = Summary()
        let limit = min(encoder.maxPositionEmbeddings, entry.maxLength ?? Int.max)
        // Everything missing, rendered and tokenized up front: the total token count makes the ETA honest.
        var work: [(key: PromptKey, texts: [PreparedText])] = []
        for group in groups(for: entry) {
            let missing = try cache.missingTexts(model: encoder.key, prompt: group.key, texts: group.texts)
            summary.texts += group.texts.count
            summary.cached += group.texts.count - missing.count
            if !missing.isEmpty { work.append((group.key, try prepare(missing, group: group, encoder: encoder, limit: limit))) }
        }
        let total = work.reduce(0) { $0 + $1.texts.count }
        let totalTokens = work.reduce(0) { $0 + $1.texts.reduce(0) { $0 + $1.tokens.count } }
        log("extract \(entry.name): \(summary.texts) (prompt, text) pairs, \(summary.cached) cached, "
            + "\(total) to compute (\(totalTokens) tokens)")
        guard total > 0 else { return summary }
        let progress = makeProgress("extract \(entry.name)", total, totalTokens)
        defer { progress.finish() }
        for (key, prepared) in work {
            // Extract's planner (longest first, at most token_budget tokens per batch): each batch is one forward
            // pass and one store transaction.
            for members in planBatches(lengths: prepared.map(\.tokens.count), tokenBudget: entry.tokenBudget) {
                let batch = members.map { prepared[$0] }
                let records = try encoder.encode(batch)
                try cache.put(records, model: encoder.key, prompt: key)
                let tokens = batch.reduce(0) { $0 + $1.tokens.count }
                summary.extracted += batch.count
                summary.truncated += batch.filter(\.truncated).count
                summary.tokens += tokens
                summary.batches += 1
                progress.advance(texts: batch.count, tokens: tokens)
                if Interruption.requested {
                    throw ExitStatus(code: Interruption.exitStatus, description:
                        "interrupted: \(summary.extracted) texts stored in \(summary.batches) batches; rerun the same command to resume")
                }
            }
        }
        return summary
    }

    /// Renders each text with the group's prompt (shortened to `limit` tokens if needed) and tokenizes it.
    private func prepare(_ texts: [String], group: Group, encoder: EncoderBackend, limit: Int) throws -> [PreparedText] {
        try texts.map { text -> PreparedText in
            // The count callback's last tokenization is the input's, unless truncation tried shorter ones.
            var last: (input: String, tokens: [Int])?
            let rendered = try group.prompt.prompt.render(text, instruction: group.instruction, limit: limit) {
                let tokens = try encoder.tokenize($0)
                last = ($0, tokens)
                return tokens.count
            }
            let tokens = last?.input == rendered.input ? last?.tokens ?? [] : try encoder.tokenize(rendered.input)
            return PreparedText(text: text, tokens: tokens, truncated: rendered.truncated)
        }
    }
}
