import Extract
import Foundation
import Testing
import TestSupport

/// The committed demo checkpoint against what transformers computed for it (demo/model/expected.safetensors,
/// written by scripts/demo/make_demo_model.py): our tokenizer and forward pass on the demo model.
@Suite struct DemoModelTests {
    let directory = SharedData.repository("demo/model")

    func expected() throws -> SafetensorsFile {
        try SafetensorsFile(url: directory.appendingPathComponent("expected.safetensors"))
    }

    @Test func tokenizerReproducesTheReferenceIDs() throws {
        let expected = try expected()
        let inputs = try JSONDecoder().decode([String].self, from: Data((expected.metadata["inputs"] ?? "[]").utf8))
        #expect(inputs.count == 2)
        let ids = try expected.integers("input_ids"), mask = try expected.integers("attention_mask")
        let width = ids.count / max(inputs.count, 1)
        let tokenizer = try Tokenizer(directory: directory)
        for (row, input) in inputs.enumerated() {
            let slice = (row * width)..<((row + 1) * width)
            let reference = zip(ids[slice], mask[slice]).filter { $0.1 == 1 }.map(\.0)
            #expect(tokenizer.encode(input) == reference)
        }
    }

    /// The contract's bar (SPEC.md §2): max|ours - reference| <= 1e-4 * max(1, max|reference|) at valid positions,
    /// and the same top-k experts.
    @Test func forwardPassMatchesTransformers() throws {
        let expected = try expected()
        let ids = try expected.integers("input_ids"), mask = try expected.integers("attention_mask")
        let shape = try expected.info("hidden_states").shape  // [L+1, B, T, H]
        let (rows, width, hidden) = (shape[1], shape[2], shape[3])
        let model = try MoEModel.load(directory: directory)
        let output = try model.forward(inputIDs: (0..<rows).map { Array(ids[($0 * width)..<(($0 + 1) * width)]) },
                                       attentionMask: (0..<rows).map { Array(mask[($0 * width)..<(($0 + 1) * width)]) })
        for (name, ours, size) in [("hidden_states", output.hiddenStates, hidden),
                                   ("router_logits", output.routerLogits, output.expertCount)] {
            let reference = try expected.floats(name)
            try #require(ours.count == reference.count, "\(name): \(ours.count) values, expected \(reference.count)")
            var worst: Float = 0, largest: Float = 0
            for index in reference.indices where mask[(index / size) % (rows * width)] == 1 {
                worst = max(worst, abs(ours[index] - reference[index]))
                largest = max(largest, abs(reference[index]))
            }
            #expect(worst <= 1e-4 * max(1, largest), "\(name): max |diff| \(worst)")
        }
        // Top-2 experts per valid token and layer.
        let reference = try expected.floats("router_logits")
        let experts = output.expertCount
        func top2(_ values: ArraySlice<Float>) -> Set<Int> {
            Set(values.indices.sorted { values[$0] > values[$1] }.prefix(2).map { $0 - values.startIndex })
        }
        for start in stride(from: 0, to: reference.count, by: experts) where mask[(start / experts) % (rows * width)] == 1 {
            #expect(top2(output.routerLogits[start..<(start + experts)]) == top2(reference[start..<(start + experts)]))
        }
    }
}
