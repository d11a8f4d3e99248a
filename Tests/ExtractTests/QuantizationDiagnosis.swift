import Foundation
import Testing
import TestSupport
@testable import Extract

/// Where the error of a quantized model comes from: each part quantized alone (MOEE_QUANT_DIAG=1 to run).
@Suite(.enabled(if: SharedData.available && ProcessInfo.processInfo.environment["MOEE_QUANT_DIAG"] != nil))
struct QuantizationDiagnosis {
    @Test func partsApart() throws {
        let scopes: [(String, QuantizationScope)] = [("all", .all), ("attention (policy)", .attention),
                                                     ("attention (in format)", [.attention, .attentionInFormat]), ("experts", .experts),
                                                     ("shared+dense", [.shared, .dense]), ("router", .router), ("embedding (policy)", .embedding)]
        for name in Fixtures.names {
            let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected.safetensors"))
            let ids = try Fixtures.matrix(expected, "input_ids")
            let mask = try Fixtures.matrix(expected, "attention_mask")
            let reference = try MoEModel.load(directory: Fixtures.url(name)).forward(inputIDs: ids, attentionMask: mask)
            for format in [Quantization.int8, .q4] {
                for (label, scope) in scopes {
                    var options = MoEModel.Options(quantize: format)
                    options.quantizeScope = scope
                    let model = try MoEModel.load(directory: Fixtures.url(name), options: options)
                    let k = model.spec.layers.compactMap(\.moe).first?.topK ?? 1
                    let acc = QuantizationAccuracy(reference: reference, quantized: try model.forward(inputIDs: ids, attentionMask: mask), mask: mask, topK: k)
                    print("DIAG \(name) \(format) \(label): cos " + acc.meanCosine.map { String(format: "%.5f", $0) }.joined(separator: " ")
                          + " min " + acc.minCosine.map { String(format: "%.4f", $0) }.joined(separator: " ")
                          + String(format: " agree %.3f ", acc.agreement) + acc.layerAgreement.map { String(format: "%.3f", $0) }.joined(separator: " "))
                }
            }
        }
    }
}
