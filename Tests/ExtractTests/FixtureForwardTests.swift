import Foundation
import Testing
import TestSupport
@testable import Extract

/// Every reference fixture through the native forward pass: SPEC §2's accuracy bar per layer, identical top-k
/// experts per valid token, and padded vs unpadded agreement. The fixtures are F32 checkpoints, so on a CPU with
/// AVX-512F the default path is the F32 kernel (`F32Kernel`); the padded batch also runs with it off (sgemm).
@Suite
struct FixtureForwardTests {
    /// `f32Kernel`: nil = the default path, false = sgemm.
    @Test(arguments: Fixtures.names, [nil, false] as [Bool?])
    func paddedBatchMatchesReference(_ name: String, _ f32Kernel: Bool?) throws {
        let model = try MoEModel.load(directory: Fixtures.url(name), options: .init(f32Kernel: f32Kernel))
        #expect(model.usesF32Kernel == (f32Kernel ?? F32Kernel.appliesByDefault(weightDType: model.weightDType, quantization: .none)))
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids")
        let mask = try Fixtures.matrix(expected, "attention_mask")
        let output = try model.forward(inputIDs: ids, attentionMask: mask)

        let hidden = try expected.floats("hidden_states")
        let router = try expected.floats("router_logits")
        #expect(output.hiddenStatesShape == (try expected.info("hidden_states")).shape)
        #expect(output.routerLogitsShape == (try expected.info("router_logits")).shape)
        #expect(output.routerLayers == (try expected.integers("router_layers")))

        let b = ids.count, t = ids.first?.count ?? 0, h = output.hiddenSize, e = output.expertCount
        var report: [String] = []
        for layer in 0..<output.hiddenStateCount {
            var worst: (delta: Float, scale: Float) = (0, 0)
            for row in 0..<b { for column in 0..<t where mask[row][column] == 1 {
                let base = ((layer * b + row) * t + column) * h
                let d = Fixtures.delta(output.hiddenStates[base..<(base + h)], hidden[base..<(base + h)])
                worst = (max(worst.delta, d.delta), max(worst.scale, d.scale))
            } }
            #expect(Fixtures.withinBar(worst), "\(name) hidden_states[\(layer)]: max delta \(worst.delta), max |ref| \(worst.scale)")
            report.append("hs[\(layer)] \(worst.delta)")
        }
        for index in 0..<output.routerLayers.count {
            var worst: (delta: Float, scale: Float) = (0, 0)
            for row in 0..<b { for column in 0..<t where mask[row][column] == 1 {
                let base = ((index * b + row) * t + column) * e
                let d = Fixtures.delta(output.routerLogits[base..<(base + e)], router[base..<(base + e)])
                worst = (max(worst.delta, d.delta), max(worst.scale, d.scale))
                let ours = Fixtures.experts(output.routerLogits[base..<(base + e)], k: model.spec.topK)
                let reference = Fixtures.experts(router[base..<(base + e)], k: model.spec.topK)
                #expect(ours == reference, "\(name) router layer \(output.routerLayers[index]) row \(row) col \(column): \(ours) vs \(reference)")
            } }
            #expect(Fixtures.withinBar(worst), "\(name) router_logits[\(index)]: max delta \(worst.delta), max |ref| \(worst.scale)")
            report.append("rl[\(index)] \(worst.delta)")
        }
        print("FIXTURE \(name) (\(model.usesF32Kernel ? "F32 kernel" : "sgemm")): " + report.joined(separator: "  "))
    }

    @Test(arguments: Fixtures.names)
    func unpaddedRunsMatchReferenceAndPaddedRun(_ name: String) throws {
        let model = try MoEModel.load(directory: Fixtures.url(name))
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected-unpadded.safetensors"))
        let padded = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
        let batch = try model.forward(inputIDs: Fixtures.matrix(padded, "input_ids"), attentionMask: Fixtures.matrix(padded, "attention_mask"))
        let t = batch.sequenceLength, h = batch.hiddenSize, e = batch.expertCount
        for b in 0..<3 {
            let ids = try expected.integers("input_ids_\(b)")
            let output = try model.forward(inputIDs: [ids], attentionMask: [ids.map { _ in 1 }])
            let hidden = try expected.floats("hidden_states_\(b)")
            let router = try expected.floats("router_logits_\(b)")
            let hiddenDelta = Fixtures.delta(output.hiddenStates[...], hidden[...])
            let routerDelta = Fixtures.delta(output.routerLogits[...], router[...])
            #expect(Fixtures.withinBar(hiddenDelta), "\(name) sequence \(b) hidden: \(hiddenDelta)")
            #expect(Fixtures.withinBar(routerDelta), "\(name) sequence \(b) router: \(routerDelta)")
            // Our padded run at this row's valid (rightmost n) positions equals our unpadded run.
            let n = ids.count
            for layer in 0..<batch.hiddenStateCount {
                let start = ((layer * 3 + b) * t + (t - n)) * h
                let d = Fixtures.delta(batch.hiddenStates[start..<(start + n * h)], output.hiddenStates[(layer * n * h)..<((layer + 1) * n * h)])
                #expect(d.delta <= 1e-5 * max(1, d.scale), "\(name) padded vs unpadded, sequence \(b) layer \(layer): \(d)")
            }
            for index in 0..<batch.routerLayers.count {
                let start = ((index * 3 + b) * t + (t - n)) * e
                let d = Fixtures.delta(batch.routerLogits[start..<(start + n * e)], output.routerLogits[(index * n * e)..<((index + 1) * n * e)])
                #expect(d.delta <= 1e-5 * max(1, d.scale), "\(name) padded vs unpadded router, sequence \(b): \(d)")
            }
        }
    }

    /// The hub's MXFP4 layout of gpt-oss (experts as `_blocks` / `_scales`, used in place) computes exactly what the
    /// same weights in transformers' saved layout (`gate_up_proj`, copied at load) compute, on sgemm and on the
    /// default path: the layouts differ, the numbers may not. The MXFP4 experts stay 4-bit in memory.
    @Test(arguments: [nil, false] as [Bool?])
    func mxfp4ExpertsComputeWhatTheSavedLayoutComputes(_ f32Kernel: Bool?) throws {
        let plain = try MoEModel.load(directory: Fixtures.url("gpt_oss-tiny"), options: .init(f32Kernel: f32Kernel))
        let mxfp4 = try MoEModel.load(directory: Fixtures.url("gpt_oss-mxfp4-tiny"), options: .init(f32Kernel: f32Kernel))
        let expected = try SafetensorsFile(url: Fixtures.url("gpt_oss-tiny").appendingPathComponent("expected.safetensors"))
        let ids = try Fixtures.matrix(expected, "input_ids"), mask = try Fixtures.matrix(expected, "attention_mask")
        let a = try plain.forward(inputIDs: ids, attentionMask: mask), b = try mxfp4.forward(inputIDs: ids, attentionMask: mask)
        #expect(a.hiddenStates == b.hiddenStates && a.routerLogits == b.routerLogits)
        // 3 layers x 8 experts x (gate + up + down) of 32 x 64 weights: half a byte each plus a byte per 32.
        let expertBytes = 3 * 8 * 3 * 32 * (64 / 2 + 64 / 32)
        #expect(plain.weightBytes - mxfp4.weightBytes == 3 * 8 * 3 * 32 * 64 * 4 - expertBytes)
    }
}
