import Foundation
import Testing
import TestSupport
@testable import Extract

/// config.json decoding: both dialects, per-type defaults, validation and refusals that name the key.
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct ConfigTests {
    private func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    private func spec(_ object: [String: Any]) throws -> ModelSpec {
        try Architectures.spec(config: JSONSerialization.data(withJSONObject: object), file: "config.json").spec
    }

    /// Rewrites a transformers 5.x config in the hub's 4.x dialect: top-level rope_theta/rope_scaling, torch_dtype,
    /// and (Qwen3-MoE) num_experts instead of num_local_experts.
    private func toV4(_ v5: [String: Any]) -> [String: Any] {
        var v4 = v5
        if let rope = v4.removeValue(forKey: "rope_parameters") as? [String: Any] {
            v4["rope_theta"] = rope["rope_theta"]
            v4["rope_scaling"] = NSNull()
        }
        if let dtype = v4.removeValue(forKey: "dtype") { v4["torch_dtype"] = dtype }
        if let experts = v4.removeValue(forKey: "num_local_experts"), v4["model_type"] as? String == "qwen3_moe" {
            v4["num_experts"] = experts
        }
        return v4
    }

    @Test(arguments: ["olmoe-tiny", "qwen2moe-tiny", "mixtral-tiny", "qwen3moe-tiny"])
    func bothDialectsDecodeToTheSameSpec(_ name: String) throws {
        let v5 = try json(Fixtures.url(name).appendingPathComponent("config.json"))
        let a = try spec(v5), b = try spec(toV4(v5))
        #expect(a == b)
        #expect(a.expertCount == 8 && a.hiddenSize == 64 && a.layerCount == 3)
        #expect(a.declaredDType == "float32")
    }

    @Test func fixtureSpecsCarryEachArchitecturesDifferences() throws {
        let olmoe = try spec(json(Fixtures.url("olmoe-tiny").appendingPathComponent("config.json")))
        #expect(olmoe.attention.qkNorm == .wholeProjection && olmoe.ropeTheta == 10_000 && olmoe.layers[0].moe?.routing.renormalize == false)
        let qwen3 = try spec(json(Fixtures.url("qwen3moe-tiny").appendingPathComponent("config.json")))
        #expect(qwen3.headDim == 32 && qwen3.qWidth == 128 && qwen3.attention.qkNorm == .perHead && qwen3.topK == 2)
        #expect(qwen3.layers[0].moe?.routing.renormalize == true)
        let mixtral = try spec(json(Fixtures.url("mixtral-tiny").appendingPathComponent("config.json")))
        #expect(mixtral.headDim == 16 && mixtral.layers[0].moe?.routing.renormalize == true && mixtral.ropeTheta == 1_000_000)
        let qwen2 = try spec(json(Fixtures.url("qwen2moe-tiny").appendingPathComponent("config.json")))
        #expect(qwen2.attention.qkvBias && qwen2.layers[0].moe?.shared == SharedExpertSpec(intermediate: 48, sigmoidGated: true))
        let deepseek = try spec(json(Fixtures.url("deepseekmoe-tiny").appendingPathComponent("config.json")))
        #expect(deepseek.layers[0] == .dense(intermediate: 96) && deepseek.moeLayers == [1, 2])
        #expect(deepseek.layers[1].moe?.shared == SharedExpertSpec(intermediate: 64, sigmoidGated: false) && deepseek.topK == 3)
    }

    @Test func denseLayerPlans() throws {
        var qwen = try json(Fixtures.url("qwen2moe-tiny").appendingPathComponent("config.json"))
        qwen["num_hidden_layers"] = 6
        qwen["decoder_sparse_step"] = 2
        qwen["mlp_only_layers"] = [3]
        #expect(try spec(qwen).moeLayers == [1, 5])
        var deepseek = try json(Fixtures.url("deepseekmoe-tiny").appendingPathComponent("config.json"))
        deepseek["num_hidden_layers"] = 6
        deepseek["first_k_dense_replace"] = 2
        deepseek["moe_layer_freq"] = 2
        #expect(try spec(deepseek).moeLayers == [2, 4])
    }

    @Test func unsupportedModelTypeNamesItAndTheSupportedOnes() throws {
        var config = try json(Fixtures.url("olmoe-tiny").appendingPathComponent("config.json"))
        config["model_type"] = "llama"
        do { _ = try spec(config); Issue.record("expected refusal") } catch {
            let message = "\(error)"
            #expect(message.contains("'llama'"))
            for type in ["olmoe", "qwen2_moe", "deepseek", "mixtral", "qwen3_moe"] { #expect(message.contains(type)) }
        }
    }

    @Test func ropeScalingIsRefusedUnlessPlain() throws {
        var config = toV4(try json(Fixtures.url("mixtral-tiny").appendingPathComponent("config.json")))
        config["rope_scaling"] = ["type": "linear", "factor": 2.0]
        #expect(throws: ConfigError.self) { try spec(config) }
        config["rope_scaling"] = ["rope_type": "default"]
        #expect(try spec(config).ropeTheta == 1_000_000)
        var v5 = try json(Fixtures.url("mixtral-tiny").appendingPathComponent("config.json"))
        v5["rope_parameters"] = ["rope_type": "yarn", "rope_theta": 10_000.0, "factor": 4.0]
        do { _ = try spec(v5); Issue.record("expected refusal") } catch { #expect("\(error)".contains("rope_parameters")) }
    }

    @Test(arguments: [("hidden_size", 0), ("num_attention_heads", -4), ("num_key_value_heads", 3),
                      ("num_experts_per_tok", 9), ("vocab_size", 1_000_000_000), ("num_hidden_layers", 0)])
    func badSizesAreRefusedNamingTheKey(_ key: String, _ value: Int) throws {
        var config = try json(Fixtures.url("olmoe-tiny").appendingPathComponent("config.json"))
        config[key] = value
        do { _ = try spec(config); Issue.record("expected refusal of \(key)=\(value)") } catch {
            #expect("\(error)".contains(key) || (key == "num_attention_heads" && "\(error)".contains("head")), "\(error)")
        }
    }

    @Test func wrongTypeNamesTheKeyPath() throws {
        var config = try json(Fixtures.url("olmoe-tiny").appendingPathComponent("config.json"))
        config["hidden_size"] = "sixty-four"
        do { _ = try spec(config); Issue.record("expected refusal") } catch { #expect("\(error)".contains("hidden_size")) }
        #expect(throws: ConfigError.self) { try Architectures.spec(config: Data("{oops".utf8), file: "x.json") }
    }

    @Test func realConfigsDecode() throws {
        for folder in ["allenai--OLMoE-1B-7B-0924", "deepseek-ai--deepseek-moe-16b-base", "mistralai--Mixtral-8x7B-v0.1", "Qwen--Qwen3-30B-A3B"] {
            let spec = try spec(json(SharedData.url("models/\(folder)/config.json")))
            #expect(spec.declaredDType == "bfloat16", "\(folder)")
        }
    }
}
