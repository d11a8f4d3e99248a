import Foundation
import Score
import Testing
import TestSupport
@testable import pipeline

/// Manifests written to a temporary folder next to links to the committed demo model and tasks.
@Suite struct ManifestTests {
    let folder: URL
    /// Deletes `folder` when the test's suite value goes away.
    private let scratch: TemporaryFolder

    init() throws {
        scratch = try TemporaryFolder(prefix: "moee-manifest")
        folder = scratch.url
    }

    var demoModel: String { SharedData.repository("demo/model").path }
    var demoTasks: String { SharedData.repository("demo/tasks").path }

    func manifest(_ json: String) throws -> Manifest {
        let file = folder.appendingPathComponent("m.json")
        try Data(json.utf8).write(to: file)
        return try Manifest.load(file)
    }

    func valid(models: String? = nil, prompts: String = #"["none", "prompteol"]"#,
               tasks: String? = nil, recipes: String = #"["hs"]"#, extra: String = "") -> String {
        """
        {"store": "cache.sqlite", "output": "out", \(extra)
         "models": \(models ?? #"[{"name": "demo", "path": "\#(demoModel)"}]"#),
         "prompts": \(prompts),
         "tasks": \(tasks ?? #"{"root": "\#(demoTasks)", "names": ["STSBenchmark"]}"#),
         "recipes": \(recipes)}
        """
    }

    func error(_ json: String) -> ManifestError? {
        do { _ = try manifest(json); return nil } catch let error as ManifestError { return error } catch { return nil }
    }

    @Test func shippedManifestsDecode() throws {
        let demo = try Manifest.load(SharedData.repository("manifests/demo.json"))
        #expect(demo.tasks.count == 6)
        #expect(Set(demo.tasks.map(\.type)).count == 6)
        #expect(demo.prompts.map(\.name) == ["none", "prompteol"])
        // HS: two poolings, then layers 1, 2 and the label-free layer; MoEE-sum: five alphas and two label-free rules.
        #expect(demo.recipes.flatMap(\.points).count == 2 + 3 + 1 + 1 + 5 + 2)
        #expect(demo.store.path.hasSuffix("/out/demo/cache.sqlite"))
        #expect(demo.models[0].path.path == SharedData.repository("demo/model").standardizedFileURL.path)
    }

    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func paperManifestsNameTheMissingCheckpoint() throws {
        for name in ["olmoe", "qwen", "deepseek"] {
            #expect(throws: ManifestError.self) { try Manifest.load(SharedData.repository("manifests/paper-\(name).json")) }
            let error = try #require(self.error(String(decoding: try Data(contentsOf: SharedData.repository("manifests/paper-\(name).json")), as: UTF8.self)))
            #expect(error.path == "models[0].path")
            #expect(error.message.contains("does not exist"))
        }
    }

    @Test func relativePathsResolveAgainstTheManifestFolder() throws {
        let m = try manifest(valid())
        #expect(m.store.path == folder.appendingPathComponent("cache.sqlite").standardizedFileURL.path)
        #expect(m.output.path == folder.appendingPathComponent("out").standardizedFileURL.path)
    }

    @Test func unknownTopLevelKeySuggestsTheClosest() throws {
        let error = try #require(self.error(valid(extra: #""recipies": [],"#)))
        #expect(error.path == "recipies")
        #expect(error.message.contains("unknown key \"recipies\"; did you mean \"recipes\"?"))
    }

    @Test func unknownNestedKeyNamesItsPath() throws {
        let error = try #require(self.error(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "max_lenght": 5}]"#)))
        #expect(error.path == "models[0].max_lenght")
        #expect(error.message.contains("did you mean \"max_length\"?"))
    }

    @Test func wrongTypeNamesPathAndTypes() throws {
        let error = try #require(self.error(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "max_length": "512"}]"#)))
        #expect(error.path == "models[0].max_length")
        #expect(error.message == "expected a whole number, found a string")
        let boolean = try #require(self.error(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "token_budget": true}]"#)))
        #expect(boolean.message == "expected a whole number, found a boolean")
    }

    @Test func unknownTaskSuggestsTheClosestName() throws {
        let error = try #require(self.error(valid(tasks: #"{"root": "\#(demoTasks)", "names": ["STSBenchmarck"]}"#)))
        #expect(error.path == "tasks.names[0]")
        #expect(error.message.contains("unknown task \"STSBenchmarck\"; did you mean \"STSBenchmark\"?"))
    }

    @Test func unknownTaskTypeSuggestsTheClosest() throws {
        let error = try #require(self.error(valid(tasks: #"{"root": "\#(demoTasks)", "types": ["Clustring"]}"#)))
        #expect(error.path == "tasks.types[0]")
        #expect(error.message.contains("did you mean \"Clustering\"?"))
    }

    @Test func tasksByTypeSelectEveryTaskOfThatType() throws {
        let m = try manifest(valid(tasks: #"{"root": "\#(demoTasks)", "types": ["STS", "Clustering"], "names": ["SummEval"]}"#))
        #expect(m.tasks.map(\.name) == ["SummEval", "STSBenchmark", "SIB200ClusteringS2S"])
    }

    @Test func missingModelPathIsAnError() throws {
        let missingKey = try #require(self.error(valid(models: #"[{"name": "d"}]"#)))
        #expect(missingKey.path == "models[0]")
        #expect(missingKey.message == "missing required key \"path\"")
        let missingFolder = try #require(self.error(valid(models: #"[{"name": "d", "path": "nowhere"}]"#)))
        #expect(missingFolder.path == "models[0].path")
        #expect(missingFolder.message.contains("does not exist"))
    }

    @Test func aModelFolderWithoutWeightsIsAnError() throws {
        let empty = folder.appendingPathComponent("empty-model")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for file in ["config.json", "tokenizer.json"] { try Data("{}".utf8).write(to: empty.appendingPathComponent(file)) }
        let error = try #require(self.error(valid(models: #"[{"name": "d", "path": "empty-model"}]"#)))
        #expect(error.message.contains("has no weights"))
    }

    @Test func quantizationIsValidated() throws {
        let m = try manifest(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "quantization": "q4"}]"#))
        #expect(m.models[0].quantization == .q4)
        let error = try #require(self.error(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "quantization": "int4"}]"#)))
        #expect(error.path == "models[0].quantization")
        #expect(error.message.contains("did you mean \"int8\"?"))
    }

    @Test func quantizedCacheResolvesAgainstTheManifestFolder() throws {
        let m = try manifest(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "quantization": "q4", "quantized_cache": "qcache"}]"#))
        #expect(m.models[0].quantizedCache?.path == folder.appendingPathComponent("qcache").standardizedFileURL.path)
        #expect(try manifest(valid()).models[0].quantizedCache == nil)
        let error = try #require(self.error(valid(models: #"[{"name": "d", "path": "\#(demoModel)", "quantized_cache": 3}]"#)))
        #expect(error.path == "models[0].quantized_cache")
    }

    @Test func recipeGridsExpandToTheirCartesianProduct() throws {
        let m = try manifest(valid(recipes: #"""
            [{"recipe": "hs", "layer": [-1, 2], "pooling": ["last", "mean"]},
             {"recipe": "rw", "layers": [[0, 1], "all"], "softmax": false},
             {"recipe": "rw", "layers": [0, 1]},
             {"recipe": "moee-sum", "alpha": [0, 0.25, 0.5, 1, 2]}]
            """#))
        #expect(m.recipes[0].points.count == 4)
        #expect(m.recipes[1].points.map(\.layers) == [[0, 1], nil])
        #expect(m.recipes[1].points.allSatisfy { $0.normalize == .logits })
        #expect(m.recipes[2].points.map(\.layers) == [[0, 1]])
        #expect(m.recipes[3].points.map(\.alpha) == [0, 0.25, 0.5, 1, 2])
        #expect(m.recipes[3].points[1].label == "MoEE-sum alpha=0.25")
    }

    /// `normalize` takes softmax / router / logits (one or a list); the older `softmax` key is the same choice,
    /// and giving both is refused.
    @Test func normalizeGridsAndTheOlderSoftmaxKey() throws {
        let m = try manifest(valid(recipes: #"[{"recipe": "rw", "normalize": ["softmax", "router", "logits"]}]"#))
        #expect(m.recipes[0].points.map(\.normalize) == [.softmax, .router, .logits])
        #expect(m.recipes[0].points.map(\.label) == ["RW", "RW normalize=router", "RW logits"])
        #expect(m.recipes[0].points.map(\.identifier) == ["rw_layers-all_softmax_last", "rw_layers-all_router_last", "rw_layers-all_logits_last"])
        let both = try #require(self.error(valid(recipes: #"[{"recipe": "rw", "softmax": true, "normalize": "router"}]"#)))
        #expect(both.path == "recipes[0].normalize" && both.message.contains("not both"))
        let unknown = try #require(self.error(valid(recipes: #"[{"recipe": "rw", "normalize": "sigmoid"}]"#)))
        #expect(unknown.path == "recipes[0].normalize[0]" || unknown.path == "recipes[0].normalize")
        #expect(unknown.message.contains("unknown normalize \"sigmoid\""))
    }

    @Test func recipeErrorsNameTheKeyPath() throws {
        let unknown = try #require(self.error(valid(recipes: #"[{"recipe": "moee-sun", "alpha": 1}]"#)))
        #expect(unknown.path == "recipes[0].recipe")
        #expect(unknown.message.contains("did you mean \"moee-sum\"?"))
        let badParameter = try #require(self.error(valid(recipes: #"[{"recipe": "hs", "alpha": 1}]"#)))
        #expect(badParameter.path == "recipes[0].alpha")
        let noAlpha = try #require(self.error(valid(recipes: #"[{"recipe": "moee-sum"}]"#)))
        #expect(noAlpha.message.contains("needs \"alpha\""))
        let pooling = try #require(self.error(valid(recipes: #"[{"recipe": "hs", "pooling": ["last", "maen"]}]"#)))
        #expect(pooling.path == "recipes[0].pooling[1]")
        #expect(pooling.message.contains("did you mean \"mean\"?"))
        let rule = try #require(self.error(valid(recipes: #"[{"recipe": "moee-sum", "alpha": [1, "label-fre"]}]"#)))
        #expect(rule.path == "recipes[0].alpha[1]")
        #expect(rule.message.contains("did you mean \"label-free\"?"))
    }

    @Test func alphaGridsTakeLabelFreeRules() throws {
        let m = try manifest(valid(recipes: #"[{"recipe": "moee-sum", "alpha": [0.5, "label-free", "label-free-variance"]}]"#))
        let points = m.recipes[0].points
        #expect(points.map(\.alphaRule) == [nil, .spearman, .variance])
        #expect(points.map(\.label) == ["MoEE-sum alpha=0.5", "MoEE-sum alpha=label-free", "MoEE-sum alpha=label-free-variance"])
        #expect(Set(points.map(\.identifier)).count == 3)
    }

    @Test func layerGridsTakeTheLabelFreeRule() throws {
        let m = try manifest(valid(recipes: #"[{"recipe": "hs", "layer": [1, "label-free"]}, {"recipe": "moee-sum", "alpha": 1, "layer": "label-free"}]"#))
        let points = m.recipes.flatMap(\.points)
        #expect(points.map(\.layerRule) == [nil, .effectiveRank, .effectiveRank])
        #expect(points.map(\.label) == ["HS layer=1", "HS layer=label-free", "MoEE-sum alpha=1 layer=label-free"])
        #expect(points.map(\.name) == ["hs(layer=1)", "hs(layer=label-free)", "moee-sum(layer=label-free,alpha=1)"])
        #expect(Set(points.map(\.identifier)).count == 3)
        let typo = try #require(self.error(valid(recipes: #"[{"recipe": "hs", "layer": [1, "labelfree"]}]"#)))
        #expect(typo.path == "recipes[0].layer[1]")
        #expect(typo.message.contains("did you mean \"label-free\"?"))
    }

    @Test func promptsAcceptPresetsInstructionsAndCustomTemplates() throws {
        let m = try manifest(valid(prompts: #"""
            ["none",
             {"preset": "prompteol", "name": "prompteol-e5", "instructions": {"STSBenchmark": "Retrieve similar text."}},
             {"name": "mine", "template": "Text: {text}", "trim": true}]
            """#))
        #expect(m.prompts.map(\.name) == ["none", "prompteol-e5", "mine"])
        #expect(m.prompts[1].instruction(for: "STSBenchmark") == "Retrieve similar text.")
        #expect(m.prompts[2].prompt.render(" a ") == "Text:  a")
    }

    @Test func promptErrors() throws {
        let preset = try #require(self.error(valid(prompts: #"["promteol"]"#)))
        #expect(preset.path == "prompts[0]")
        #expect(preset.message.contains("did you mean \"prompteol\"?"))
        let instruction = try #require(self.error(valid(prompts: #"[{"preset": "none", "instructions": {"STSBenchmrk": "x"}}]"#)))
        #expect(instruction.path == "prompts[0].instructions.STSBenchmrk")
        #expect(instruction.message.contains("did you mean \"STSBenchmark\"?"))
        let template = try #require(self.error(valid(prompts: #"[{"name": "t", "template": "no placeholder"}]"#)))
        #expect(template.message.contains("{text}"))
    }

    @Test func invalidJSONNamesTheFile() throws {
        let error = try #require(self.error("{\"store\": "))
        #expect(error.path == "(file)")
        #expect(error.description.contains("m.json"))
    }

    @Test func editDistanceSuggestions() {
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(closest(to: "modles", among: Manifest.topLevelKeys) == "models")
        #expect(closest(to: "zzzzzz", among: Manifest.topLevelKeys) == nil)
    }
}
