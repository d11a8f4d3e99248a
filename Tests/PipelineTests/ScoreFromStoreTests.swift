import Foundation
import Extract
import Score
import Store
import Testing
import TestSupport
@testable import pipeline

/// Stage two from the cache alone: the model is found in the store by name and quantization, its variant is the
/// one `extract` recorded (never re-derived from the scoring host's CPU), and the checkpoint folder is optional.
@Suite struct ScoreFromStoreTests {
    static func record(_ name: String, _ variant: String, _ fingerprint: String, records: Int = 10) -> StoredModelRecord {
        StoredModelRecord(key: ModelKey(name: name, variant: variant, fingerprint: fingerprint, architectureJSON: "{}"),
                          records: records)
    }

    static func entry(_ name: String = "m", quantization: Quantization = .q4, variant: String? = nil,
                      fingerprint: String? = nil, folderMissing: Bool = true) -> Manifest.ModelEntry {
        Manifest.ModelEntry(name: name, path: URL(fileURLWithPath: "/nowhere/\(name)"), quantization: quantization,
                            maxLength: nil, tokenBudget: 64, variant: variant, fingerprint: fingerprint,
                            folderProblem: folderMissing ? ManifestError(file: "x.json", path: "models[0].path",
                                                                         message: "model folder /nowhere/\(name) does not exist") : nil)
    }

    @Test func aStoredVariantIsUsedAsRecordedWhateverTheLocalCPU() throws {
        // A q4 model extracted where the BF16 kernel ran ("q4k+bf16"), scored without its checkpoint.
        let stored = [Self.record("m", "q4k+bf16", "aaaa1111"), Self.record("m", "f32", "aaaa1111"), Self.record("other", "q4k", "bbbb")]
        let found = try ModelLookup.resolve(Self.entry(), index: 0, stored: stored, checkpointFingerprint: nil, storePath: "s.sqlite")
        #expect(found.key.variant == "q4k+bf16" && found.key.fingerprint == "aaaa1111")
        let note = try #require(found.note)
        #expect(note.contains("does not exist") && note.contains("using the store's record") && note.contains("q4k+bf16"))
        // With the checkpoint folder present its fingerprint decides, and no note is printed.
        let withFolder = try ModelLookup.resolve(Self.entry(folderMissing: false), index: 0, stored: stored,
                                                 checkpointFingerprint: "aaaa1111", storePath: "s.sqlite")
        #expect(withFolder == .init(key: found.key, note: nil))
    }

    @Test func severalMatchesAreListedWithHowToPickOne() throws {
        let stored = [Self.record("m", "q4k", "aaaa1111"), Self.record("m", "q4k+bf16", "aaaa1111"), Self.record("m", "q4k", "cccc2222")]
        do {
            _ = try ModelLookup.resolve(Self.entry(), index: 2, stored: stored, checkpointFingerprint: nil, storePath: "s.sqlite")
            Issue.record("expected an ambiguity error")
        } catch let error as ModelLookup.LookupError {
            let message = error.description
            #expect(message.contains("models[2] \"m\" matches 3 models in s.sqlite"))
            #expect(message.contains("variant q4k+bf16 fingerprint aaaa1111") && message.contains("variant q4k fingerprint cccc2222"))
            #expect(message.contains("models[2].variant") && message.contains("models[2].fingerprint"))
        }
        let picked = try ModelLookup.resolve(Self.entry(variant: "q4k", fingerprint: "cccc"), index: 2, stored: stored,
                                             checkpointFingerprint: nil, storePath: "s.sqlite")
        #expect(picked.key.fingerprint == "cccc2222")
        // The checkpoint's fingerprint narrows to one fingerprint; its two variants still need a choice.
        #expect(throws: ModelLookup.LookupError.self) {
            try ModelLookup.resolve(Self.entry(folderMissing: false), index: 2, stored: stored,
                                    checkpointFingerprint: "aaaa1111", storePath: "s.sqlite")
        }
    }

    @Test func aModelNeitherOnDiskNorInTheStoreNamesBoth() throws {
        let stored = [Self.record("m", "f32", "aaaa1111")]  // another quantization is another model
        do {
            _ = try ModelLookup.resolve(Self.entry(), index: 0, stored: stored, checkpointFingerprint: nil, storePath: "s.sqlite")
            Issue.record("expected notStored")
        } catch let error as ModelLookup.LookupError {
            #expect(error.description.contains("models[0] \"m\" (quantization q4): model folder /nowhere/m does not exist"))
            #expect(error.description.contains("m variant f32 fingerprint aaaa1111 (10 records)"))
            #expect(error.description.contains("pipeline extract"))
        }
        // With the checkpoint present and nothing stored, score goes on to report the missing records.
        let found = try ModelLookup.resolve(Self.entry(folderMissing: false), index: 0, stored: stored,
                                            checkpointFingerprint: "ffff", storePath: "s.sqlite")
        #expect(found.key.fingerprint == "ffff" && found.note == nil)
    }

    /// The issue's case end to end: a store whose q4 model was recorded as "q4k+bf16" is scored by the `pipeline`
    /// binary with MOEE_BF16_KERNEL=0 (the old lookup re-derived "q4k" there and found nothing), with the checkpoint
    /// folder present and then moved away; both runs write the same summary.csv.
    @Test func aQ4KBF16StoreScoresWithTheBF16KernelDisabledWithOrWithoutTheCheckpoint() throws {
        let folder = try TemporaryFolder(prefix: "score-from-store")
        let demoModel = SharedData.repository("demo/model")
        let model = folder.url.appendingPathComponent("model")
        try FileManager.default.copyItem(at: demoModel, to: model)
        let manifestFile = folder.url.appendingPathComponent("m.json")
        try Data("""
            {"store": "cache.sqlite", "output": "out",
             "models": [{"name": "tiny", "path": "model", "quantization": "q4"}],
             "prompts": ["none"],
             "tasks": {"root": "\(SharedData.repository("demo/tasks").path)", "names": ["STSBenchmark", "SummEval"]},
             "recipes": [{"recipe": "hs"}, {"recipe": "moee-sum", "alpha": [1]}]}
            """.utf8).write(to: manifestFile)
        let manifest = try Manifest.load(manifestFile)
        #expect(Quantization.q4.storeVariant(bf16Kernel: false) == "q4k")  // what the old lookup sought here

        // A store as an AVX-512 BF16 host's extract leaves it: deterministic vectors under variant "q4k+bf16".
        do {
            let cache = try StoreCache(path: manifest.store, writable: true)
            let scoring = try RealBackends().scoring(cache: cache)
            let key = ModelKey(name: "tiny", variant: "q4k+bf16", fingerprint: try RealBackends().checkpointFingerprint(for: manifest.models[0]),
                               architectureJSON: "{}")
            var texts: [String] = []
            for entry in manifest.tasks { texts += try scoring.loadTask(entry).requiredTexts }
            let prompt = manifest.prompts[0].key(task: manifest.tasks[0].name, maxLength: nil)
            #expect(manifest.tasks.allSatisfy { manifest.prompts[0].key(task: $0.name, maxLength: nil) == prompt })
            var seed: UInt64 = 7
            func next() -> Float {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: seed >> 11) % 2000 - 1000) / 1000
            }
            let records = Array(Set(texts)).sorted().map { text in
                let hidden = (0..<3 * 8).map { _ in next() }, router = (0..<2 * 4).map { _ in next() }
                return PooledRecord(text: text, tokenCount: 3, truncated: false, hiddenStates: [.last: hidden, .mean: hidden],
                                    routerLogits: [.last: router, .mean: router], hiddenLayers: 3, hiddenSize: 8,
                                    routerLayers: [0, 1], experts: 4)
            }
            try cache.put(records, model: key, prompt: prompt)
        }

        let disabled = ["MOEE_BF16_KERNEL": "0"]
        let withFolder = try PipelineProcess.run(["score", manifestFile.path], environment: disabled)
        #expect(withFolder.status == 0, "\(withFolder.stderr)")
        #expect(!withFolder.stderr.contains("using the store's record"))
        let summary = folder.url.appendingPathComponent("out/summary.csv")
        let first = try Data(contentsOf: summary)
        let results = folder.url.appendingPathComponent("out/results/tiny/none")
        let files = try #require(FileManager.default.subpaths(atPath: results.path)).filter { $0.hasSuffix(".json") }
        #expect(files.count == 2 * 2)  // (hs, moee-sum) x (STSBenchmark, SummEval)
        for file in files {
            let result = try String(contentsOf: results.appendingPathComponent(file), encoding: .utf8)
            #expect(result.contains("\"model_variant\" : \"q4k+bf16\""), "\(file)")
        }

        try FileManager.default.moveItem(at: model, to: folder.url.appendingPathComponent("model-moved-away"))
        try FileManager.default.removeItem(at: summary)
        let withoutFolder = try PipelineProcess.run(["score", manifestFile.path], environment: disabled)
        #expect(withoutFolder.status == 0, "\(withoutFolder.stderr)")
        let notes = withoutFolder.stderr.split(separator: "\n").filter { $0.contains("using the store's record") }
        #expect(notes.count == 1)
        #expect(try Data(contentsOf: summary) == first)

        // extract still needs the checkpoint, and says which key names it.
        let extract = try PipelineProcess.run(["extract", manifestFile.path], environment: disabled)
        #expect(extract.status != 0)
        #expect(extract.stderr.contains("models[0].path") && extract.stderr.contains("does not exist"))
    }

    /// RW's `normalize=router` reads the router's scoring from the model summary the store keeps: no checkpoint.
    /// gpt-oss softmaxes its top-k, DeepSeek-V3 uses sigmoids, the earlier families softmax over all experts; a
    /// summary stored before `routerScoring` existed falls back to its routing description.
    @Test(arguments: [("gpt_oss-tiny", RouterScoring.softmaxOverTopK(2)), ("deepseek_v3-tiny", .sigmoid), ("olmoe-tiny", .softmax)])
    func routerScoringComesFromTheStoredSummary(_ fixture: String, _ scoring: RouterScoring) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-scoring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var summary = try ModelSummary.inspect(directory: FixtureModels.url(fixture))
        for stored in [summary, { summary.routerScoring = nil; return summary }()] {
            let json = String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
            let cache = try StoreCache(path: folder.appendingPathComponent("\(stored.routerScoring ?? "old").sqlite"), writable: true)
            let source = try #require(try cache.tensorSource(model: ModelKey(name: fixture, variant: "f32", fingerprint: "f", architectureJSON: json),
                                                             prompt: PromptKey(name: "none", specification: "{text}")))
            #expect(try source.routerScoring() == scoring)
        }
    }
}
