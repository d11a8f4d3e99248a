import Foundation
import Testing
import TestSupport
@testable import Extract

/// `inspect-model`'s summary of the real configs against their model cards (parameters include embeddings and
/// lm_head, as the cards count them).
@Suite(.enabled(if: SharedData.available, Comment(rawValue: SharedData.skipReason)))
struct InspectModelTests {
    struct Card: Sendable, CustomStringConvertible {
        let path: String, total: Double, active: Double, layers: Int, experts: Int, topK: Int, moeLayers: Int
        /// What the card's active count includes: everything (most cards), no embeddings at all (ERNIE: "3B
        /// activated" beside 3.35B with them), or the input embedding but not the LM head (DeepSeek-V2's report).
        enum ActiveCount: Sendable { case all, withoutEmbeddings, withoutLMHead }
        var activeCount = ActiveCount.all
        /// Billions of slack beyond 1%: 0.05 for cards quoting one decimal, more for cards rounding to whole billions.
        var slack = 0.05
        var description: String { path }
    }

    static let cards: [Card] = [
        // OLMoE paper / card: 6.9B total, 1.3B active; 16 layers, 64 experts, top-8.
        Card(path: "models/allenai--OLMoE-1B-7B-0924", total: 6.9, active: 1.3, layers: 16, experts: 64, topK: 8, moeLayers: 16),
        // Qwen1.5-MoE-A2.7B card: 14.3B total, 2.7B activated; 60 experts + shared, top-4.
        Card(path: "models/Qwen--Qwen1.5-MoE-A2.7B/config.reconstructed.json", total: 14.3, active: 2.7, layers: 24, experts: 60, topK: 4, moeLayers: 24),
        // DeepSeekMoE 16B paper: 16.4B total, 2.8B activated; layer 0 dense, 64 routed + 2 shared, top-6.
        Card(path: "models/deepseek-ai--deepseek-moe-16b-base", total: 16.4, active: 2.8, layers: 28, experts: 64, topK: 6, moeLayers: 27),
        // Mixtral 8x7B: 46.7B total, 12.9B active.
        Card(path: "models/mistralai--Mixtral-8x7B-v0.1", total: 46.7, active: 12.9, layers: 32, experts: 8, topK: 2, moeLayers: 32),
        // Qwen3-30B-A3B card: 30.5B total, 3.3B activated; 48 layers, 128 experts, top-8.
        Card(path: "models/Qwen--Qwen3-30B-A3B", total: 30.5, active: 3.3, layers: 48, experts: 128, topK: 8, moeLayers: 48),
    ]

    @Test(arguments: cards)
    func parameterCountsMatchTheModelCard(_ card: Card) throws {
        let summary = try ModelSummary.inspect(directory: SharedData.url(card.path))
        let total = Double(summary.parameters.total) / 1e9, active = Double(summary.parameters.active) / 1e9
        // Cards round to one decimal: within 0.05B of it (plus 1% for "~" figures).
        #expect(abs(total - card.total) <= 0.05 + 0.01 * card.total, "total \(total)B")
        #expect(abs(active - card.active) <= 0.05 + 0.01 * card.active, "active \(active)B")
        #expect(summary.layers == card.layers && summary.experts == card.experts && summary.topK == card.topK)
        #expect(summary.moeLayers.count == card.moeLayers)
        #expect(summary.weightFileBytesByDType == nil)
        #expect(summary.bytesByDType["BF16"] == summary.parameters.total * 2)
    }

    @Test func fixtureParameterCountEqualsItsWeightFile() throws {
        for name in Fixtures.names {
            let summary = try ModelSummary.inspect(directory: Fixtures.url(name))
            if name == "gpt_oss-mxfp4-tiny" {
                // The experts' weights as MXFP4: half a byte per weight plus one scale byte per 32.
                let spec = try Architectures.spec(config: try Data(contentsOf: Fixtures.url(name).appendingPathComponent("config.json")), file: name).spec
                let moe = try #require(spec.layers[0].moe)
                let expertWeights = spec.layerCount * moe.experts * 3 * spec.hiddenSize * moe.expertIntermediate
                #expect(summary.weightFileBytesByDType == ["F32": (summary.parameters.total - expertWeights) * 4,
                                                           "U8": expertWeights / 2 + expertWeights / 32])
                continue
            }
            #expect(summary.weightFileBytesByDType == ["F32": summary.parameters.total * 4], "\(name)")
        }
    }
}

/// The same against configs committed in `Tests/Fixtures/configs` (model types beyond the shared seed models; see
/// that folder's README for where each file comes from).
struct CommittedConfigTests {
    static let cards: [InspectModelTests.Card] = [
        // Granite 3.1 1B-A400M card: 1.3B total, 400M active; 24 layers, 32 experts, top-8.
        .init(path: "ibm-granite--granite-3.1-1b-a400m-base.json", total: 1.3, active: 0.4, layers: 24, experts: 32, topK: 8, moeLayers: 24),
        // ERNIE-4.5-21B-A3B card: 21B total, 3B activated (21.8B is the figure quoted beside its config); layer 0 dense,
        // 64 routed + 2 shared experts, top-6. The card rounds to whole billions, hence the 0.1B slack on 3B.
        .init(path: "baidu--ERNIE-4.5-21B-A3B-PT.json", total: 21.8, active: 3.0, layers: 28, experts: 64, topK: 6, moeLayers: 27,
              activeCount: .withoutEmbeddings, slack: 0.1),
        // DeepSeek-V2-Lite (DeepSeek-V2 report): 15.7B total, 2.4B activated, counting the input embedding but not the
        // LM head; MLA without a low-rank q, YaRN x40; layer 0 dense, 64 routed + 2 shared experts, top-6.
        .init(path: "deepseek-ai--DeepSeek-V2-Lite.json", total: 15.7, active: 2.4, layers: 27, experts: 64, topK: 6, moeLayers: 26,
              activeCount: .withoutLMHead, slack: 0.1),
        // gpt-oss-20b card (OpenAI): 20.91B total, 3.61B active, the unembedding counted but not the embedding (the
        // same size: untied); 24 layers, all MoE, 32 experts, top-4; MXFP4 experts.
        .init(path: "openai--gpt-oss-20b.json", total: 20.91, active: 3.61, layers: 24, experts: 32, topK: 4, moeLayers: 24,
              activeCount: .withoutLMHead),
    ]

    /// gpt-oss-20b as the hub ships it: MXFP4 experts in place, so the weights need 12-16 GB, not BF16's 39 GiB
    /// (OpenAI: it "runs within 16GB of memory").
    @Test func gptOss20bRunsFromItsMXFP4Experts() throws {
        let url = SharedData.repository("Tests/Fixtures/configs/openai--gpt-oss-20b.json")
        let summary = try ModelSummary.inspect(directory: url)
        let bytes = Double(try #require(summary.mxfp4CheckpointBytes))
        #expect(bytes > 12e9 && bytes < 16e9, "\(bytes / 1e9) GB")
        #expect(summary.text.contains("(MXFP4 experts, BF16 rest)"))
        #expect(summary.attentionWindows?.contains("sliding window 128 on layers 0,2,4") == true)
    }

    @Test(arguments: cards)
    func parameterCountsMatchTheModelCard(_ card: InspectModelTests.Card) throws {
        let url = SharedData.repository("Tests/Fixtures/configs").appendingPathComponent(card.path)
        let summary = try ModelSummary.inspect(directory: url)
        let total = Double(summary.parameters.total) / 1e9
        let p = summary.parameters
        let activeCount = switch card.activeCount {
        case .all: p.active
        case .withoutEmbeddings: p.nonEmbeddingActive
        case .withoutLMHead: p.active - p.lmHead
        }
        let active = Double(activeCount) / 1e9
        #expect(abs(total - card.total) <= card.slack + 0.01 * card.total, "total \(total)B")
        #expect(abs(active - card.active) <= card.slack + 0.01 * card.active, "active \(active)B")
        #expect(summary.layers == card.layers && summary.experts == card.experts && summary.topK == card.topK)
        #expect(summary.moeLayers.count == card.moeLayers)
        print("\(card.path): \(summary.text.split(separator: "\n").filter { $0.hasPrefix("parameters") || $0.hasPrefix("quantized") }.joined(separator: "; "))")
    }

    /// Granite's multipliers reach the spec: embedding and residual multipliers, attention_multiplier as the scale.
    @Test func graniteMultipliersReachTheSpec() throws {
        let url = SharedData.repository("Tests/Fixtures/configs/ibm-granite--granite-3.1-1b-a400m-base.json")
        let summary = try ModelSummary.inspect(directory: url)
        #expect(summary.embeddingMultiplier == 12 && summary.residualMultiplier == 0.22 && summary.attentionScale == 0.015625)
        #expect(summary.renormalizeTopK, "softmax over the chosen k = softmax, top-k, renormalise")
        #expect(summary.text.contains("multipliers: embedding 12.0, residual 0.22, attention scale 0.015625"))
    }

    /// DeepSeek-V2-Lite's YaRN reaches the spec: factor 40 from 4096 positions, attention factor
    /// mscale(40, 0.707) / mscale(40, 0.707) = 1, and MLA's q·kᵀ scale 1/sqrt(192) · mscale(40, 0.707)².
    @Test func deepseekV2LiteYarnReachesTheSpec() throws {
        let url = SharedData.repository("Tests/Fixtures/configs/deepseek-ai--DeepSeek-V2-Lite.json")
        let (spec, _) = try Architectures.spec(config: try Data(contentsOf: url), file: url.path)
        let yarn = try #require(spec.yarn)
        #expect(yarn.factor == 40 && yarn.originalMaxPositions == 4096 && yarn.attentionFactor == 1 && yarn.truncate)
        let m = 0.1 * 0.707 * log(40.0) + 1
        #expect(abs(Double(spec.attention.scale ?? 0) - m * m / 192.0.squareRoot()) < 1e-6)
        #expect(spec.attention.latent?.qLoraRank == nil && spec.qkHeadDim == 192 && spec.vHeadDim == 128 && spec.ropeDim == 64)
        let text = try ModelSummary.inspect(directory: url).text
        #expect(text.contains("attention scale: ") && !text.contains("multipliers:"), "MLA shows its scale, not Granite's multipliers")
    }

    /// ERNIE's router reaches the spec: choice by softmax + correction bias, renormalised with the moe_norm_min
    /// floor; interleaved RoPE; tied embeddings by transformers' default.
    @Test func ernieRoutingAndRopeReachTheSpec() throws {
        let url = SharedData.repository("Tests/Fixtures/configs/baidu--ERNIE-4.5-21B-A3B-PT.json")
        let (spec, _) = try Architectures.spec(config: try Data(contentsOf: url), file: url.path)
        let routing = try #require(spec.layers[1].moe?.routing)
        #expect(routing == RoutingPolicy(scoring: .softmax, selectionBias: true, renormalize: true, renormalizationFloor: 1e-12))
        #expect(spec.layers[0].moe == nil && spec.attention.rope == .interleaved && spec.tiedEmbeddings)
        #expect(spec.layers[1].moe?.shared == SharedExpertSpec(intermediate: 3072, sigmoidGated: false))
    }
}

/// transformers' default config of every model type issue 12 names (written by scripts/reference/default_configs.py):
/// the supported ones inspect without error, the rest are refused by name, not by some later key.
struct TransformersDefaultConfigTests {
    static let folder = SharedData.repository("Tests/Fixtures/configs/transformers-defaults")
    static let supported: Set = ["granitemoe", "ernie4_5_moe", "deepseek_v2", "deepseek_v3", "gpt_oss"]
    static let all = ["deepseek_v2", "deepseek_v3", "gpt_oss", "granitemoe", "ernie4_5_moe"]

    @Test(arguments: all)
    func defaultConfigIsRecognisedOrRefusedByType(_ modelType: String) throws {
        let url = Self.folder.appendingPathComponent("\(modelType).json")
        if Self.supported.contains(modelType) {
            let summary = try ModelSummary.inspect(directory: url)
            #expect(summary.modelType == modelType && summary.experts > 0 && summary.parameters.total > summary.parameters.active)
        } else {
            #expect(!Architectures.supportedTypes.contains(modelType), "\(modelType) is supported now: move it to `supported`")
            do {
                _ = try ModelSummary.inspect(directory: url)
                Issue.record("\(modelType) inspected without error")
            } catch let ConfigError.unsupportedModelType(_, found, _) {
                #expect(found == modelType)
            }
        }
    }
}
