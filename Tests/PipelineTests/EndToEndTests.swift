import Extract
import Foundation
import Store
import Testing
import TestSupport

/// The pipeline end to end on the committed demo (no ../shared needed): the demo itself, SIGKILL during
/// extract, a store missing records, and shard stores merged.
@Suite(.serialized) struct EndToEndTests {
    let folder: URL
    /// Deletes `folder` when the test's suite value goes away.
    private let scratch: TemporaryFolder

    init() throws {
        scratch = try TemporaryFolder(prefix: "moee-e2e")
        folder = scratch.url
    }

    /// A copy of the demo manifest with absolute paths, its own store and output.
    func manifest(_ name: String, store: String? = nil, tokenBudget: Int = 2048, maxLength: Int? = nil,
                  quantization: String = "none", model: URL? = nil) throws -> String {
        let demo = SharedData.repository("demo")
        let json = """
            {"store": "\(store ?? "\(name)/cache.sqlite")", "output": "\(name)",
             "models": [{"name": "demo", "path": "\((model ?? demo.appendingPathComponent("model")).path)", "quantization": "\(quantization)", "token_budget": \(tokenBudget)\(maxLength.map { ", \"max_length\": \($0)" } ?? "")}],
             "prompts": ["none", "prompteol"],
             "tasks": {"root": "\(demo.appendingPathComponent("tasks").path)",
                       "types": ["STS", "Summarization", "PairClassification", "Reranking", "Classification", "Clustering"]},
             "recipes": [{"recipe": "hs", "pooling": ["last", "mean"]}, "rw", "moee-concat",
                         {"recipe": "moee-sum", "alpha": [0, 0.5, 1, 2]}]}
            """
        let file = folder.appendingPathComponent("\(name).json")
        try Data(json.utf8).write(to: file)
        return file.path
    }

    func summary(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent("\(name)/summary.csv"), encoding: .utf8)
    }

    func run(_ arguments: [String]) throws -> PipelineProcess.Result {
        try PipelineProcess.run(arguments, in: folder)
    }

    @Test func demoRunsFromAnotherDirectoryAndSaysTheWeightsAreRandom() throws {
        let result = try PipelineProcess.run(["demo"], environment: ["MOEE_DEMO_OUT": folder.appendingPathComponent("demo").path],
                                             in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("| Model | Prompt | Recipe | Class. | Clust. | PairClass. | Rerank. | STS | Summ. | Avg. |"))
        #expect(result.stdout.contains("RANDOM weights"))
        let csv = try summary("demo")
        #expect(csv.split(separator: "\n").count == 1 + 2 * 14)  // header + 2 prompts x 14 grid points
        #expect(result.stdout.contains("MoEE-sum alpha=label-free") && result.stdout.contains("## Label-free alpha"))
        #expect(result.stdout.contains("HS layer=label-free") && result.stdout.contains("## Label-free layer"))
        // The README shows the start of this table; every host prints the same digits (docs/score.md).
        let readme = try String(contentsOf: SharedData.repository("README.md"), encoding: .utf8)
        let shown = readme.split(separator: "\n").filter { $0.hasPrefix("| demo-olmoe-random |") }
        #expect(shown.count >= 3)
        for row in shown { #expect(result.stdout.contains(row), "README row not printed by the demo: \(row)") }
    }

    /// `pipeline export` writes grid points' vectors; `score --embeddings` reads them back (.npy and .safetensors)
    /// to the main score `score` wrote for the same cell, for every task type, without the checkpoint.
    @Test func exportedEmbeddingsScoreTheSameAsTheCache() throws {
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(at: SharedData.repository("demo/model"), to: model)
        let manifest = try manifest("exported", model: model)
        #expect(try run(["run", manifest]).status == 0)
        try FileManager.default.moveItem(at: model, to: folder.appendingPathComponent("model-moved-away"))
        let export = try run(["export", manifest, "--recipe", "hs,moee-sum(alpha=0.5)"])
        #expect(export.status == 0, "\(export.stderr)")
        let tasks = try FileManager.default.contentsOfDirectory(atPath: SharedData.repository("demo/tasks").path)
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }
        #expect(tasks.count == 6)
        for recipe in ["hs_layer-1_last", "moee-sum_alpha0.5_layer-1_layers-all_softmax_last"] {
            for task in tasks {
                let cell = "demo/prompteol/\(recipe)/\(task)"
                let result = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("exported/results/\(cell).json")))
                let scores = (result as? [String: Any])?["scores"] as? [String: Any]
                let expected = try #require(((scores?["test"] as? [[String: Any]])?.first?["main_score"]) as? Double, "\(cell)")
                for format in ["npy", "safetensors"] {
                    let file = folder.appendingPathComponent("exported/embeddings/\(cell).\(format)")
                    let scored = try run(["score", "--embeddings", file.path, "--task", SharedData.repository("demo/tasks/\(task)").path, "--json"])
                    #expect(scored.status == 0, "\(scored.stderr)")
                    let summary = try JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [String: Any]
                    #expect(summary?["main_score"] as? Double == expected, "\(cell).\(format)")
                }
            }
        }
        let unknown = try run(["export", manifest, "--recipe", "moee-sum(alpha=7)"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown recipe moee-sum(alpha=7)"))
    }

    /// Stage two from the cache alone: extract, move the checkpoint away, and `score` writes the same
    /// summary.csv byte for byte, saying in one line that it used the store's record of the model.
    @Test func scoreWithoutTheCheckpointFolderWritesTheSameSummary() throws {
        let model = folder.appendingPathComponent("model")
        try FileManager.default.copyItem(at: SharedData.repository("demo/model"), to: model)
        let manifest = try manifest("alone", model: model)
        #expect(try run(["run", manifest]).status == 0)
        let withCheckpoint = try summary("alone")
        try FileManager.default.moveItem(at: model, to: folder.appendingPathComponent("model-moved-away"))
        let score = try run(["score", manifest])
        #expect(score.status == 0, "\(score.stderr)")
        #expect(score.stderr.split(separator: "\n").filter { $0.contains("using the store's record of the model") }.count == 1)
        #expect(try summary("alone") == withCheckpoint)
        let extract = try run(["extract", manifest])
        #expect(extract.status == 1 && extract.stderr.contains("models[0].path") && extract.stderr.contains("does not exist"))
    }

    /// Starts `pipeline extract` and returns once it has loaded the model (batches are about to be written).
    func startExtract(_ manifest: String) throws -> (Process, FileHandle) {
        let process = Process()
        process.executableURL = PipelineProcess.executable
        process.arguments = ["extract", manifest]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        var stderr = ""
        let reader = errors.fileHandleForReading
        while !stderr.contains("model loaded") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            stderr += String(decoding: chunk, as: UTF8.self)
        }
        return (process, reader)
    }

    @Test func killedExtractResumesToTheSameScores() throws {
        // Small batches (a 64-token budget: hundreds of commits) so that the kills land mid-run.
        let reference = try manifest("reference", tokenBudget: 64)
        #expect(try run(["run", reference]).status == 0)

        let killed = try manifest("killed", tokenBudget: 64)
        var landed = 0
        for delay in [0.05, 0.3, 0.6] {
            let (process, reader) = try startExtract(killed)
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            _ = reader.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { landed += 1 }
        }
        #expect(landed >= 1, "every extract finished before its kill")
        let verify = try run(["store", "verify", folder.appendingPathComponent("killed/cache.sqlite").path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(try run(["run", killed]).status == 0)
        #expect(try summary("killed") == summary("reference"))
    }

    @Test func ctrlCFinishesTheBatchInFlightExits130AndARerunResumes() throws {
        let interrupted = try manifest("interrupted", tokenBudget: 64)  // many small batches
        // Interrupt once the model is loaded: the Ctrl-C handler is installed by then, and hundreds of batches remain.
        let (process, reader) = try startExtract(interrupted)
        kill(process.processIdentifier, SIGINT)
        let stderr = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("rerun the same command to resume"))
        let rerun = try run(["extract", interrupted])
        #expect(rerun.status == 0)
        #expect(rerun.stderr.contains("already cached"))
        #expect(!rerun.stderr.contains(" 0 already cached"))
        #expect(try run(["store", "verify", folder.appendingPathComponent("interrupted/cache.sqlite").path]).status == 0)
    }

    /// With max_length 24 the long texts (SummEval summaries, ClusTREC-sized sentences) are cut, the template kept,
    /// and the records flagged; the cache then holds them under a prompt key that includes max_length.
    @Test func maxLengthTruncatesAndFlagsRecords() throws {
        let short = try manifest("short", maxLength: 24)
        let extract = try run(["extract", short])
        #expect(extract.status == 0, "\(extract.stderr)")
        let match = extract.stderr.range(of: #"(\d+) truncated\)"#, options: .regularExpression)
        let count = match.map { Int(extract.stderr[$0].split(separator: " ")[0]) ?? 0 } ?? 0
        #expect(count > 0, "\(extract.stderr)")
        // A long SummEval summary: stored with at most 24 tokens and flagged.
        let line = try String(contentsOf: SharedData.repository("demo/tasks/SummEval/test.jsonl"), encoding: .utf8)
            .split(separator: "\n")[0]
        let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let text = try #require((record?["machine_summaries"] as? [String])?.max { $0.count < $1.count })
        let store = try EmbeddingStore(path: folder.appendingPathComponent("short/cache.sqlite").path, readOnly: true)
        let model = try #require(try store.models().first?.id)
        let prompt = try #require(try store.prompts().first { $0.identity.name == "prompteol" }?.id)
        #expect(try store.prompts().first { $0.identity.name == "prompteol" }?.identity.specification.contains("max_length=\"24\"") == true)
        let stored = try #require(try store.record(model: model, prompt: prompt, text: text))
        #expect(stored.truncated && stored.tokenCount <= 24 && stored.tokenCount > 10)
        #expect(try run(["score", short]).status == 0)
    }

    /// A q4 extract into a store that already holds the unquantized records: both variants are kept apart,
    /// so the q4 run computes every record again instead of reusing the unquantized ones. The q4 run keeps its
    /// quantized weights in `--quantized-cache`.
    @Test func quantizedRecordsNeverMixWithUnquantizedOnes() throws {
        let plain = try manifest("plain", store: "shared-variants.sqlite")
        let q4 = try manifest("q4", store: "shared-variants.sqlite", quantization: "q4")
        #expect(try run(["extract", plain]).status == 0)
        let store = try EmbeddingStore(path: folder.appendingPathComponent("shared-variants.sqlite").path, readOnly: true)
        let plainCount = try store.recordCount()
        let qcache = folder.appendingPathComponent("qcache")
        let extract = try run(["extract", q4, "--quantized-cache", qcache.path])
        #expect(extract.status == 0, "\(extract.stderr)")
        let cached = (try? FileManager.default.contentsOfDirectory(atPath: qcache.path)) ?? []
        #expect(cached.count == 1 && cached.allSatisfy { $0.hasSuffix("-q4.moeq") }, "\(cached)")
        let models = try store.models()
        // q4 runs on the BF16 kernel where the CPU has AVX-512 BF16 ("q4k+bf16"), on sgemm elsewhere ("q4k"); the
        // variant names the format, so records of q4 with BF16 group scales (variant "q4") are never reused.
        let q4Variant = BF16Kernel.appliesByDefault(weightDType: "F32", quantization: .q4) ? "q4k+bf16" : "q4k"
        #expect(Set(models.map(\.identity.variant)) == ["f32", q4Variant])
        #expect(try store.recordCount() == 2 * plainCount)
        #expect(try run(["score", q4]).status == 0)
    }

    @Test func scoreOnAStoreMissingRecordsSaysWhichAndScoresNothing() throws {
        let half = try manifest("half")
        #expect(try run(["extract", half, "--shard", "0/2"]).status == 0)
        let result = try run(["score", half])
        #expect(result.status == 1)
        #expect(result.stderr.contains("model demo, prompt none, task STSBenchmark:"))
        #expect(result.stderr.contains("texts missing"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("half/summary.csv").path))
    }

    @Test func mergedShardsScoreLikeTheUnshardedRun() throws {
        let whole = try manifest("whole")
        #expect(try run(["run", whole]).status == 0)
        // Each shard writes its own store (--store), as the Slurm and Kubernetes examples do.
        let merged = try manifest("merged")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("merged/shards"), withIntermediateDirectories: true)
        let shards = (0..<2).map { folder.appendingPathComponent("merged/shards/cache-\($0).sqlite").path }
        for (index, store) in shards.enumerated() {
            #expect(try run(["extract", merged, "--shard", "\(index)/2", "--store", store]).status == 0)
        }
        let merge = try run(["store", "merge", folder.appendingPathComponent("merged/cache.sqlite").path] + shards)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try run(["score", merged]).status == 0)
        #expect(try summary("merged") == summary("whole"))
    }
}
