import Foundation
import Testing
import TestSupport
@testable import Extract

/// The capture sink: every intermediate is tagged (name, layer) and only what the filter wants is handed over.
@Suite
struct CaptureTests {
    @Test func intermediatesArriveInForwardOrderWithTheirTags() throws {
        let model = try MoEModel.load(directory: Fixtures.url("deepseekmoe-tiny"))
        var seen: [String] = []
        try model.run(sequences: [[1, 2, 3], [4]], capture: CaptureSink(wants: { _, _ in true }) { tensor in
            #expect(tensor.rows == 4)
            #expect(tensor.columns == (tensor.name == .routerLogits ? 8 : 64))
            seen.append("\(tensor.name.rawValue)@\(tensor.layer)")
        })
        #expect(seen == ["inp_embd@-1",
                         "attn_out@0", "ffn_out@0", "l_out@0",
                         "attn_out@1", "ffn_moe_logits@1", "ffn_out@1", "l_out@1",
                         "attn_out@2", "ffn_moe_logits@2", "ffn_out@2", "l_out@2",
                         "result_norm@-1"])
    }

    @Test func theFilterDecidesWhatIsHandedOver() throws {
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        var received: [(CaptureName, Int)] = []
        try model.run(sequences: [[7, 8, 9]], capture: CaptureSink(wants: { name, layer in name == .routerLogits && layer == 1 }) {
            received.append(($0.name, $0.layer))
        })
        #expect(received.count == 1 && received[0].0 == .routerLogits && received[0].1 == 1)
    }

    /// hidden_states follows HF: the last decoder layer's raw output is replaced by the final norm.
    @Test func hiddenStateIndicesFollowTheHuggingFaceConvention() {
        #expect(hiddenStateIndex(.embeddings, layer: -1, layerCount: 3) == 0)
        #expect(hiddenStateIndex(.layerOutput, layer: 0, layerCount: 3) == 1)
        #expect(hiddenStateIndex(.layerOutput, layer: 1, layerCount: 3) == 2)
        #expect(hiddenStateIndex(.layerOutput, layer: 2, layerCount: 3) == nil)
        #expect(hiddenStateIndex(.finalNorm, layer: -1, layerCount: 3) == 3)
        #expect(hiddenStateIndex(.routerLogits, layer: 1, layerCount: 3) == nil)
    }
}
