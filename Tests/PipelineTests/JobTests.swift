import Foundation
import Score
import Store
import Testing
import TestSupport
@testable import pipeline

/// A tokenizer that gives one token per word plus one, and a forward pass that only records what it saw.
final class FakeEncoder: EncoderBackend {
    let key = ModelKey(name: "fake", variant: "f32", fingerprint: "abc", architectureJSON: "{}")
    let maxPositionEmbeddings: Int
    var batches: [[PreparedText]] = []

    init(maxPositionEmbeddings: Int = 512) { self.maxPositionEmbeddings = maxPositionEmbeddings }

    func tokenize(_ input: String) throws -> [Int] {
        let words: [Substring] = input.split(separator: " ")
        return [0] + words.map { $0.count }
    }

    func encode(_ batch: [PreparedText]) throws -> [PooledRecord] {
        batches.append(batch)
        return batch.map { PooledRecord.placeholder($0.text, tokens: $0.tokens.count, truncated: $0.truncated) }
    }
}

extension PooledRecord {
    /// A record with no tensors, for fakes that only count texts.
    static func placeholder(_ text: String, tokens: Int, truncated: Bool = false) -> PooledRecord {
        PooledRecord(text: text, tokenCount: tokens, truncated: truncated, hiddenStates: [:], routerLogits: [:],
                     hiddenLayers: 0, hiddenSize: 0, routerLayers: [], experts: 0)
    }
}

/// A cache of keys only; counts every put so duplicates would show.
final class FakeCache: CacheBackend {
    var records: [String: Int] = [:]
    var puts = 0

    static func id(_ model: ModelKey, _ prompt: PromptKey, _ text: String) -> String {
        "\(model.fingerprint)\u{1}\(prompt.specification)\u{1}\(text)"
    }

    func missingTexts(model: ModelKey, prompt: PromptKey, texts: [String]) throws -> [String] {
        texts.filter { records[Self.id(model, prompt, $0)] == nil }
    }

    func put(_ batch: [PooledRecord], model: ModelKey, prompt: PromptKey) throws {
        puts += 1
        for record in batch { records[Self.id(model, prompt, record.text), default: 0] += 1 }
    }

    func storedModels() throws -> [StoredModelRecord] { [] }

    func tensorSource(model: ModelKey, prompt: PromptKey) throws -> TensorSource? { nil }
}

@Suite(.serialized) struct JobTests {
    let manifest: Manifest

    init() throws {
        manifest = try Manifest.load(SharedData.repository("manifests/demo.json"))
    }

    var taskTexts: [(task: Manifest.TaskEntry, texts: [String])] {
        let words = (0..<40).map { "text number \($0) " + String(repeating: "w ", count: $0 % 7) }
        return [(manifest.tasks[0], Array(words[0..<30])), (manifest.tasks[1], Array(words[20..<40]))]
    }

    static func quiet(_ label: String, _ total: Int, _ tokens: Int) -> ProgressReporter {
        ProgressReporter(label: label, total: total, totalTokens: tokens, isTerminal: false, write: { _ in })
    }

    @Test func uniqueTextsPerPromptAcrossTasks() {
        let job = ExtractJob(manifest: manifest, taskTexts: taskTexts)
        let groups = job.groups(for: manifest.models[0])
        #expect(groups.map(\.key.name) == ["none", "prompteol"])
        #expect(groups.allSatisfy { $0.texts.count == 40 })  // 30 + 20 with 10 shared
    }

    @Test func shardsAreDisjointAndCoverEverything() throws {
        var union: [String] = []
        for index in 0..<3 {
            let job = ExtractJob(manifest: manifest, taskTexts: taskTexts, shard: Shard(index: index, count: 3))
            union += job.groups(for: manifest.models[0])[0].texts
        }
        #expect(union.count == 40)
        #expect(Set(union).count == 40)
        #expect(try Shard(parsing: "2", defaultCount: 4) == Shard(index: 2, count: 4))
        #expect(throws: UsageError.self) { try Shard(parsing: "4/4", defaultCount: 1) }
        #expect(Shard.hash("a") == 0xaf63_dc4c_8601_ec8c)  // FNV-1a 64 reference value
    }

    /// Extract plans batches once, with the forward pass's planner: every batch the encoder sees holds at most
    /// token_budget tokens (a longer text alone), longest texts first, each text once.
    @Test func batchesRespectTheTokenBudget() throws {
        let job = ExtractJob(manifest: manifest, taskTexts: taskTexts)
        let encoder = FakeEncoder(), cache = FakeCache()
        var model = manifest.models[0]
        model = Manifest.ModelEntry(name: model.name, path: model.path, quantization: .none, maxLength: nil, tokenBudget: 40)
        _ = try job.run(model: model, encoder: encoder, cache: cache, makeProgress: Self.quiet)
        #expect(encoder.batches.count > 1)
        for batch in encoder.batches {
            #expect(batch.count == 1 || batch.reduce(0) { $0 + $1.tokens.count } <= 40)
            #expect(batch.map(\.tokens.count) == batch.map(\.tokens.count).sorted(by: >))
        }
        #expect(cache.records.count == encoder.batches.reduce(0) { $0 + $1.count })
    }

    @Test func extractSkipsCachedTextsAndRerunsDoNothing() throws {
        let job = ExtractJob(manifest: manifest, taskTexts: taskTexts)
        let encoder = FakeEncoder(), cache = FakeCache()
        let first = try job.run(model: manifest.models[0], encoder: encoder, cache: cache, makeProgress: Self.quiet)
        #expect(first.extracted == 80 && first.cached == 0)
        let second = try job.run(model: manifest.models[0], encoder: encoder, cache: cache, makeProgress: Self.quiet)
        #expect(second.extracted == 0 && second.cached == 80)
        #expect(cache.records.values.allSatisfy { $0 == 1 })
    }

    @Test func ctrlCStopsAfterTheBatchInFlightAndARerunCompletes() throws {
        let job = ExtractJob(manifest: manifest, taskTexts: taskTexts)
        let encoder = FakeEncoder(), cache = FakeCache()
        var model = manifest.models[0]
        model = Manifest.ModelEntry(name: model.name, path: model.path, quantization: .none, maxLength: nil, tokenBudget: 64)
        Interruption.reset()
        Interruption.simulate()
        defer { Interruption.reset() }
        do {
            _ = try job.run(model: model, encoder: encoder, cache: cache, makeProgress: Self.quiet)
            Issue.record("expected exit status 130")
        } catch let status as pipeline.ExitStatus {
            #expect(status.code == 130)
            #expect(status.description.contains("rerun"))
        }
        #expect(cache.puts == 1)  // exactly the batch in flight
        let stored = cache.records.count
        #expect(stored > 0 && stored < 80)
        Interruption.reset()
        let rest = try job.run(model: model, encoder: encoder, cache: cache, makeProgress: Self.quiet)
        #expect(rest.cached == stored && rest.extracted == 80 - stored)
        #expect(cache.records.count == 80 && cache.records.values.allSatisfy { $0 == 1 })
    }

    @Test func longTextsAreTruncatedToTheModelLimitAndFlagged() throws {
        let long = (0..<100).map { "word\($0)" }.joined(separator: " ")
        let job = ExtractJob(manifest: manifest, taskTexts: [(manifest.tasks[0], [long, "short"])])
        let encoder = FakeEncoder(maxPositionEmbeddings: 32), cache = FakeCache()
        let summary = try job.run(model: manifest.models[0], encoder: encoder, cache: cache, makeProgress: Self.quiet)
        #expect(summary.truncated == 2)  // the long text, once per prompt
        let all = encoder.batches.flatMap { $0 }
        #expect(all.allSatisfy { $0.tokens.count <= 32 })
        #expect(all.filter(\.truncated).allSatisfy { $0.text == long })
    }

    @Test func anOutputFolderThatCannotBeWrittenFailsBeforeAnyWork() throws {
        var unwritable = manifest
        unwritable.output = URL(fileURLWithPath: "/dev/null/results")  // under a file: fails even for root
        final class NoBackends: BackendFactory {
            func checkpointFingerprint(for model: Manifest.ModelEntry) throws -> String { Issue.record("reached the model"); throw UsageError("") }
            func encoder(for model: Manifest.ModelEntry) throws -> EncoderBackend { Issue.record("reached the model"); throw UsageError("") }
            func cache(at path: URL, writable: Bool) throws -> CacheBackend { Issue.record("reached the cache"); throw UsageError("") }
            func scoring(cache: CacheBackend) throws -> any ScoringBackend { Issue.record("reached scoring"); throw UsageError("") }
        }
        #expect(throws: Preflight.NotWritable.self) { try Pipeline.score(unwritable, backends: NoBackends(), log: { _ in }) }
        unwritable.store = URL(fileURLWithPath: "/dev/null/cache.sqlite")
        #expect(throws: Preflight.NotWritable.self) { try Pipeline.extract(unwritable, shard: .whole, backends: NoBackends(), log: { _ in }) }
    }

    @Test func scoreRefusesToScoreWhenRecordsAreMissingAndSaysWhich() throws {
        struct Task: LoadedTask { let entry: Manifest.TaskEntry; let requiredTexts: [String] }
        final class NoScoring: ScoringBackend {
            func loadTask(_ entry: Manifest.TaskEntry) throws -> Task { Task(entry: entry, requiredTexts: []) }
            func score(task: Task, model: ModelKey, prompt: PromptKey, points: [Recipe]) throws -> [ScoredCell] {
                Issue.record("scored although records are missing")
                return []
            }
            func vectors(task: Task, model: ModelKey, prompt: PromptKey, points: [Recipe],
                         _ body: (Recipe, EmbeddingTable, PointChoices) throws -> Void) throws {
                Issue.record("read vectors although records are missing")
            }
        }
        let cache = FakeCache()
        let encoder = FakeEncoder()
        let tasks = [Task(entry: manifest.tasks[0], requiredTexts: ["a", "b", "c"])]
        // Cache only "a" for prompt none.
        let key = manifest.prompts[0].key(task: manifest.tasks[0].name, maxLength: nil)
        try cache.put([PooledRecord.placeholder("a", tokens: 1)], model: encoder.key, prompt: key)
        let job = ScoreJob(manifest: manifest, scoring: NoScoring(), cache: cache, models: [encoder.key])
        do {
            _ = try job.run(tasks: tasks)
            Issue.record("expected MissingRecords")
        } catch let error as MissingRecords {
            #expect(error.gaps.map(\.missing) == [2, 3])
            #expect(error.description.contains("model demo-olmoe-random, prompt none, task \(manifest.tasks[0].name): 2 of 3 texts missing"))
            #expect(error.description.contains("prompt prompteol"))
        }
    }
}
