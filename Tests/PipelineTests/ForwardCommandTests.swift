import Extract
import Foundation
import Testing
import TestSupport

/// `pipeline forward` and `pipeline inspect-model` end to end (SPEC §3).
@Suite
struct ForwardCommandTests {
    private func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("moee-cli-\(UUID().uuidString)-\(name)")
    }

    @Test(arguments: ["olmoe-tiny", "deepseekmoe-tiny"])
    func forwardWritesTheFixtureLayout(_ name: String) throws {
        let fixture = FixtureModels.url(name)
        let expected = try SafetensorsFile(url: fixture.appendingPathComponent("expected.safetensors"))
        let columns = try expected.info("input_ids").shape[1]
        let rows = { (values: [Int]) in stride(from: 0, to: values.count, by: columns).map { Array(values[$0..<($0 + columns)]) } }
        let mask = rows(try expected.integers("attention_mask"))
        let input = temporary("in.json"), output = temporary("out.safetensors")
        defer { try? FileManager.default.removeItem(at: input); try? FileManager.default.removeItem(at: output) }
        try JSONSerialization.data(withJSONObject: ["input_ids": rows(try expected.integers("input_ids")), "attention_mask": mask])
            .write(to: input)
        let result = try PipelineProcess.run(["forward", "--model", fixture.path, "--input", input.path, "--out", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("tokens/s"))
        let ours = try SafetensorsFile(url: output)
        #expect(try ours.info("hidden_states").shape == expected.info("hidden_states").shape)
        #expect(try ours.info("router_logits").shape == expected.info("router_logits").shape)
        #expect(try ours.integers("router_layers") == expected.integers("router_layers"))
        let h = try expected.info("hidden_states").shape[3]
        let a = try ours.floats("hidden_states"), b = try expected.floats("hidden_states")
        var worst: Float = 0, scale: Float = 0
        let flatMask = mask.flatMap { $0 }
        for i in 0..<a.count where flatMask[(i / h) % flatMask.count] == 1 {
            worst = max(worst, abs(a[i] - b[i]))
            scale = max(scale, abs(b[i]))
        }
        #expect(worst <= 1e-4 * max(1, scale))
    }

    @Test func forwardRefusesBadInputWithExitOne() throws {
        let fixture = FixtureModels.url("olmoe-tiny")
        let input = temporary("bad.json"), output = temporary("out.safetensors")
        defer { try? FileManager.default.removeItem(at: input) }
        try Data(#"{"input_ids": [[1, 2, 5000]]}"#.utf8).write(to: input)
        let outOfVocabulary = try PipelineProcess.run(["forward", "--model", fixture.path, "--input", input.path, "--out", output.path])
        #expect(outOfVocabulary.status == 1)
        #expect(outOfVocabulary.stderr.contains("5000") && outOfVocabulary.stderr.contains("vocabulary"))
        try Data(#"{"input_ids": "nope"}"#.utf8).write(to: input)
        let badJSON = try PipelineProcess.run(["forward", "--model", fixture.path, "--input", input.path, "--out", output.path])
        #expect(badJSON.status == 1 && badJSON.stderr.contains("input_ids"))
        try Data(#"{"input_ids": [[1, 2]]}"#.utf8).write(to: input)
        let noModel = try PipelineProcess.run(["forward", "--model", "/nonexistent", "--input", input.path, "--out", output.path])
        #expect(noModel.status == 1 && noModel.stderr.contains("config.json"))
        let usage = try PipelineProcess.run(["forward", "--model", fixture.path])
        #expect(usage.status == 2)
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
    func inspectModelWorksWithoutWeights() throws {
        let folder = SharedData.url("models/mistralai--Mixtral-8x7B-v0.1")
        let text = try PipelineProcess.run(["inspect-model", folder.path])
        #expect(text.status == 0)
        #expect(text.stdout.contains("46.70B total") && text.stdout.contains("GQA"))
        let json = try PipelineProcess.run(["inspect-model", folder.path, "--json"])
        #expect(json.status == 0)
        let summary = try JSONDecoder().decode(ModelSummary.self, from: Data(json.stdout.utf8))
        #expect(summary.experts == 8 && summary.topK == 2 && summary.keyValueHeads == 8 && summary.layers == 32)
        let unsupported = temporary("cfg")
        try FileManager.default.createDirectory(at: unsupported, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: unsupported) }
        try Data(#"{"model_type": "gpt2"}"#.utf8).write(to: unsupported.appendingPathComponent("config.json"))
        let refused = try PipelineProcess.run(["inspect-model", unsupported.path])
        #expect(refused.status == 1 && refused.stderr.contains("gpt2") && refused.stderr.contains("qwen3_moe"))
    }
}
