import Foundation
import Testing
import TestSupport
@testable import Extract

/// Loading checkpoints: dtypes, shards, the tensor-name mapping, and the errors for tensors that do not fit the config.
@Suite
struct ModelLoadingTests {
    private let fixture = Fixtures.url("qwen2moe-tiny")
    private let input = ([[5, 17, 999, 3, 42], [0, 0, 8, 9, 10]], [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])

    /// A BF16 (or F16) checkpoint gives exactly what the F32 checkpoint holding the same rounded values gives:
    /// the per-tile conversion path and the direct F32 path agree (BF16 with the BF16 kernel turned off); and where
    /// the BF16 kernel runs (by default for BF16), it gives what it gives on the rounded F32 checkpoint.
    @Test(arguments: [TensorDType.bf16, .f16])
    func halfPrecisionWeightsLoadAndMatchRoundedFloat32(_ dtype: TensorDType) throws {
        let half = try CheckpointBuilder(), rounded = try CheckpointBuilder()
        defer { half.remove(); rounded.remove() }
        try half.copy(fixture: fixture) { CheckpointBuilder.converted($0, to: dtype) }
        try rounded.copy(fixture: fixture) { try? CheckpointBuilder.rounded($0, through: dtype) }
        let halfModel = try MoEModel.load(directory: half.directory, options: .init(bf16Kernel: false))
        #expect(halfModel.weightDType == dtype.rawValue && halfModel.variant == dtype.rawValue)
        #expect(halfModel.summary.weightFileBytesByDType == [dtype.rawValue: halfModel.summary.parameters.total * 2])
        let a = try halfModel.forward(inputIDs: input.0, attentionMask: input.1)
        let b = try MoEModel.load(directory: rounded.directory).forward(inputIDs: input.0, attentionMask: input.1)
        let d = Fixtures.delta(a.hiddenStates[...], b.hiddenStates[...])
        #expect(d.delta <= 1e-5 * max(1, d.scale), "\(dtype): \(d)")
        #expect(a.routerLogits == b.routerLogits || Fixtures.delta(a.routerLogits[...], b.routerLogits[...]).delta <= 1e-5)

        guard dtype == .bf16, BF16Kernel.supported else { return }
        let kernel = try MoEModel.load(directory: half.directory, options: .init(bf16Kernel: BF16Kernel.allowedByEnvironment ? nil : true))
        #expect(kernel.usesBF16Kernel && kernel.variant == "BF16+bf16")
        let c = try kernel.forward(inputIDs: input.0, attentionMask: input.1)
        let e = try MoEModel.load(directory: rounded.directory, options: .init(bf16Kernel: true)).forward(inputIDs: input.0, attentionMask: input.1)
        #expect(c.hiddenStates == e.hiddenStates && c.routerLogits == e.routerLogits)
    }

    /// The name mapping of each architecture consumes every fixture tensor except lm_head, with the right shapes.
    @Test(arguments: zip(Fixtures.names, [102, 117, 96, 102, 80]))
    func everyFixtureTensorIsConsumed(_ name: String, _ count: Int) throws {
        let checkpoint = try Checkpoint(directory: Fixtures.url(name))
        #expect(checkpoint.tensorNames.count == count)
        let (spec, architecture) = try Architectures.spec(config: checkpoint.configData, file: "config.json")
        let weights = try ModelWeights.load(spec: spec, architecture: architecture, checkpoint: checkpoint)
        let lmHead = checkpoint.info("lm_head.weight")?.byteRange.count ?? 0
        #expect(weights.usedBytes == checkpoint.bytesByDType.values.reduce(0, +) - lmHead)
        #expect(weights.layers.count == 3)
    }

    @Test func shardedCheckpointLoadsLikeSingleFile() throws {
        let builder = try CheckpointBuilder()
        defer { builder.remove() }
        try builder.copy(fixture: fixture)
        try builder.shard()
        let sharded = try MoEModel.load(directory: builder.directory).forward(inputIDs: input.0, attentionMask: input.1)
        let single = try MoEModel.load(directory: fixture).forward(inputIDs: input.0, attentionMask: input.1)
        #expect(sharded.hiddenStates == single.hiddenStates)
    }

    /// DeepSeek-V3's multi-token-prediction layer after the decoder (`num_nextn_predict_layers`, transformers'
    /// default 1) is skipped at load; with the key at 0 the same tensors are unexpected, named in the error.
    @Test func deepseekV3sNextTokenLayerIsSkipped() throws {
        let mtp = SafetensorsWriter.Entry(name: "model.layers.3.eh_proj.weight", floats: [1, 2], shape: [1, 2])
        for declared in [true, false] {
            let builder = try CheckpointBuilder()
            defer { builder.remove() }
            try builder.copy(fixture: Fixtures.url("deepseek_v3-tiny"), extra: [mtp],
                             config: { $0["num_nextn_predict_layers"] = declared ? 1 : 0 })
            if declared {
                #expect(try MoEModel.load(directory: builder.directory).spec.unusedTrailingLayers == 1)
                continue
            }
            do {
                _ = try MoEModel.load(directory: builder.directory)
                Issue.record("expected a tensor-set error")
            } catch let CheckpointError.tensorSet(_, unexpected, _) {
                #expect(unexpected == [mtp.name])
            }
        }
    }

    @Test func missingUnexpectedAndMisshapenTensorsAreAllListed() throws {
        let builder = try CheckpointBuilder()
        defer { builder.remove() }
        let dropped = "model.layers.1.mlp.experts.3.up_proj.weight"
        let reshaped = "model.layers.0.self_attn.q_proj.bias"
        try builder.copy(fixture: fixture, edit: { entry in
            if entry.name == dropped { return nil }
            if entry.name == reshaped { return .init(name: entry.name, floats: [0, 0], shape: [2]) }
            return entry
        }, extra: [.init(name: "model.layers.0.mlp.extra.weight", floats: [1], shape: [1])])
        do {
            _ = try MoEModel.load(directory: builder.directory)
            Issue.record("expected a tensor-set error")
        } catch let error as CheckpointError {
            guard case let .tensorSet(missing, unexpected, wrongShape) = error else { Issue.record("\(error)"); return }
            #expect(missing == [dropped])
            #expect(unexpected == ["model.layers.0.mlp.extra.weight"])
            #expect(wrongShape.count == 1 && wrongShape[0].contains(reshaped))
        }
    }

    @Test func lmHeadIsNeverLoadedAndMayBeAbsent() throws {
        let builder = try CheckpointBuilder()
        defer { builder.remove() }
        try builder.copy(fixture: fixture) { $0.name == "lm_head.weight" ? nil : $0 }
        let model = try MoEModel.load(directory: builder.directory)
        #expect(model.spec.layerCount == 3)
    }

    @Test func missingFilesAreNamed() throws {
        let builder = try CheckpointBuilder()
        defer { builder.remove() }
        #expect(throws: CheckpointError.self) { try MoEModel.load(directory: builder.directory) }
        try builder.copy(fixture: fixture)
        try FileManager.default.removeItem(at: builder.url("model.safetensors"))
        do { _ = try MoEModel.load(directory: builder.directory) } catch {
            #expect("\(error)".contains("no weights"))
        }
    }

    @Test func fingerprintIsStableAndSeesWeightChanges() throws {
        let a = try MoEModel.load(directory: fixture).fingerprint
        #expect(a == (try MoEModel.load(directory: fixture).fingerprint))
        #expect(a.count == 64)
        let builder = try CheckpointBuilder()
        defer { builder.remove() }
        try builder.copy(fixture: fixture) { entry in
            entry.name == "lm_head.weight" ? .init(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                                                   data: Data(repeating: 1, count: entry.data.count)) : entry
        }
        #expect(try MoEModel.load(directory: builder.directory).fingerprint != a)
    }

    @Test func shaGivesTheStandardDigest() {
        var hash = SHA256()
        hash.update("abc")
        #expect(hash.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        long.update(Array(repeating: UInt8(ascii: "a"), count: 1000))
        #expect(long.finalize() == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

/// OLMoE's `clip_qkv` (null in the fixture): a loose clip changes nothing, a tight one changes the output.
@Suite
struct ClipQKVTests {
    @Test func clipIsAppliedWhenConfigured() throws {
        let ids = [[5, 17, 999, 3, 42]], mask = [[1, 1, 1, 1, 1]]
        let plain = try MoEModel.load(directory: Fixtures.url("olmoe-tiny")).forward(inputIDs: ids, attentionMask: mask)
        var outputs: [Double: ForwardOutput] = [:]
        for clip in [1e6, 0.05] {
            let builder = try CheckpointBuilder()
            defer { builder.remove() }
            try builder.copy(fixture: Fixtures.url("olmoe-tiny"), config: { $0["clip_qkv"] = clip })
            let model = try MoEModel.load(directory: builder.directory)
            #expect(model.spec.attention.clipQKV == Float(clip))
            outputs[clip] = try model.forward(inputIDs: ids, attentionMask: mask)
        }
        #expect(outputs[1e6]?.hiddenStates == plain.hiddenStates)
        let tight = try #require(outputs[0.05])
        #expect(Fixtures.delta(tight.hiddenStates[...], plain.hiddenStates[...]).delta > 1e-3)
    }
}
