import Foundation
import Testing
import TestSupport
@testable import Extract

/// Pooled outputs for the store, batching under a token budget, and the refusals of bad token input.
@Suite
struct PooledEmbeddingTests {
    private static let texts: [[Int]] = [
        [771, 193, 936, 565, 481, 526, 587, 114, 322, 598, 618, 968],
        [996, 450, 942, 874, 13, 943, 851],
        [206],
        [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
        [1, 2, 3],
    ]

    private func close(_ a: PooledVectors, _ b: PooledVectors) -> Bool {
        let h = Fixtures.delta(a.hiddenStates[...], b.hiddenStates[...]), r = Fixtures.delta(a.routerLogits[...], b.routerLogits[...])
        return h.delta <= 1e-5 * max(1, h.scale) && r.delta <= 1e-5 * max(1, r.scale)
    }

    @Test(arguments: Fixtures.names)
    func sameTextAloneOrInAMixedBatchGivesTheSameVectors(_ name: String) throws {
        let model = try MoEModel.load(directory: Fixtures.url(name))
        var reported: [Int] = []
        let batched = try model.pooledEmbeddings(sequences: Self.texts, tokenBudget: 25) { reported.append($0) }
        #expect(reported.last == Self.texts.count && reported.count >= 2)
        for (i, text) in Self.texts.enumerated() {
            let alone = try model.pooledEmbeddings(sequences: [text], tokenBudget: 1000)[0]
            #expect(batched[i].tokenCount == text.count)
            #expect(close(batched[i].lastToken, alone.lastToken), "\(name) text \(i) last token")
            #expect(close(batched[i].mean, alone.mean), "\(name) text \(i) mean")
        }
    }

    /// Pooled vectors agree with the per-token reference: last token = the last valid position, mean = the mean.
    @Test func pooledVectorsAgreeWithTheReferenceTokens() throws {
        let name = "deepseekmoe-tiny"
        let model = try MoEModel.load(directory: Fixtures.url(name))
        let expected = try SafetensorsFile(url: Fixtures.url(name).appendingPathComponent("expected-unpadded.safetensors"))
        let ids = try expected.integers("input_ids_1")
        let hidden = try expected.floats("hidden_states_1"), router = try expected.floats("router_logits_1")
        let pooled = try model.pooledEmbeddings(sequences: [ids], tokenBudget: 64)[0]
        let n = ids.count, h = 64, e = 8
        for layer in 0..<4 {
            let last = hidden[((layer * n) + n - 1) * h..<((layer * n) + n) * h]
            let d = Fixtures.delta(pooled.lastToken.hiddenStates[(layer * h)..<((layer + 1) * h)], last)
            #expect(Fixtures.withinBar(d))
            var mean = [Float](repeating: 0, count: h)
            for t in 0..<n { for i in 0..<h { mean[i] += hidden[(layer * n + t) * h + i] / Float(n) } }
            #expect(Fixtures.withinBar(Fixtures.delta(pooled.mean.hiddenStates[(layer * h)..<((layer + 1) * h)], mean[...])))
        }
        #expect(pooled.lastToken.routerLogits.count == 2 * e)
        let lastRouter = router[((1 * n) + n - 1) * e..<((1 * n) + n) * e]
        #expect(Fixtures.withinBar(Fixtures.delta(pooled.lastToken.routerLogits[e..<(2 * e)], lastRouter)))
    }

    @Test func streamingBatchesCoverEveryTextOnceWithTheSameVectors() throws {
        let model = try MoEModel.load(directory: Fixtures.url("qwen3moe-tiny"))
        let all = try model.pooledEmbeddings(sequences: Self.texts, tokenBudget: 25)
        var seen: [Int] = []
        try model.forEachPooledBatch(sequences: Self.texts, tokenBudget: 25) { indices, outputs in
            #expect(indices.map { Self.texts[$0].count }.reduce(0, +) <= 25 || indices.count == 1)
            for (index, output) in zip(indices, outputs) { #expect(output == all[index]) }
            seen += indices
        }
        #expect(seen.sorted() == Array(Self.texts.indices))
        struct Stop: Error {}
        var calls = 0
        #expect(throws: Stop.self) {
            try model.forEachPooledBatch(sequences: Self.texts, tokenBudget: 25) { _, _ in calls += 1; throw Stop() }
        }
        #expect(calls == 1)
    }

    @Test func batchesRespectTheBudgetAndGroupByLength() {
        let batches = planBatches(lengths: [3, 10, 1, 7, 10, 2], tokenBudget: 12)
        #expect(batches == [[1], [4], [3, 0, 5], [2]])
        #expect(planBatches(lengths: [50], tokenBudget: 10) == [[0]])
        #expect(planBatches(lengths: [], tokenBudget: 10).isEmpty)
    }

    @Test func badTokenInputIsRefusedClearly() throws {
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        #expect(throws: ForwardError.emptySequence(sequence: 1)) { try model.pooledEmbeddings(sequences: [[1], []], tokenBudget: 8) }
        #expect(throws: ForwardError.tokenOutOfVocabulary(sequence: 0, position: 2, id: 1000, vocabularySize: 1000)) {
            try model.pooledEmbeddings(sequences: [[1, 2, 1000]], tokenBudget: 8)
        }
        #expect(throws: ForwardError.tokenOutOfVocabulary(sequence: 0, position: 0, id: -1, vocabularySize: 1000)) {
            try model.pooledEmbeddings(sequences: [[-1]], tokenBudget: 8)
        }
        #expect(throws: ForwardError.sequenceTooLong(sequence: 0, length: 513, limit: 512, what: "max_position_embeddings")) {
            try model.pooledEmbeddings(sequences: [Array(repeating: 5, count: 513)], tokenBudget: 8)
        }
        #expect(throws: ForwardError.badTokenBudget(0)) { try model.pooledEmbeddings(sequences: [[1]], tokenBudget: 0) }
        #expect(try model.pooledEmbeddings(sequences: [], tokenBudget: 8).isEmpty)
    }

    @Test func paddedForwardRefusalsNameRowAndColumn() throws {
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        #expect(throws: ForwardError.tokenOutOfVocabulary(sequence: 1, position: 3, id: 5000, vocabularySize: 1000)) {
            try model.forward(inputIDs: [[1, 2, 3, 4], [0, 0, 7, 5000]], attentionMask: [[1, 1, 1, 1], [0, 0, 1, 1]])
        }
        #expect(throws: ForwardError.badMaskValue(row: 0, column: 1, value: 2)) {
            try model.forward(inputIDs: [[1, 2]], attentionMask: [[1, 2]])
        }
        #expect(throws: ForwardError.self) { try model.forward(inputIDs: [[1, 2], [3]], attentionMask: [[1, 1], [1]]) }
        #expect(throws: ForwardError.self) { try model.forward(inputIDs: [[1, 2]], attentionMask: []) }
        // Pad ids are never looked up, and a row of pads only reads zeros.
        let out = try model.forward(inputIDs: [[99999, 5], [0, 0]], attentionMask: [[0, 1], [0, 0]])
        #expect(out.hiddenStates.count == 4 * 2 * 2 * 64)
        #expect(out.hiddenStates[(2 * 64)..<(4 * 64)].allSatisfy { $0 == 0 })
    }

    @Test func memoryRequirementCountsWeightsAndActivations() throws {
        let model = try MoEModel.load(directory: Fixtures.url("olmoe-tiny"))
        let small = model.memoryRequirement(tokenBudget: 16, longestSequence: 16)
        let large = model.memoryRequirement(tokenBudget: 4096, longestSequence: 512)
        #expect(small.weightBytes == model.weightBytes && small.fits)
        #expect(large.activationBytes > small.activationBytes)
        let huge = model.memoryRequirement(tokenBudget: 1 << 36, longestSequence: 512)
        #expect(!huge.fits && huge.description.contains("needed"))
        #expect(throws: ForwardError.self) { try model.pooledEmbeddings(sequences: [[1]], tokenBudget: 1 << 36) }
        #expect(!model.memoryRequirement(tokenBudget: Int.max, longestSequence: 1).fits)
    }
}

@Suite struct ForwardInputTests {
    @Test func missingMaskMeansEveryTokenIsReal() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-in-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"input_ids": [[1, 2, 3], [4, 5, 6]]}"#.utf8).write(to: url)
        let input = try ForwardInput.read(url)
        #expect(input.attentionMask == [[1, 1, 1], [1, 1, 1]])
        try Data(#"{"input_ids": [[1, 2.5]]}"#.utf8).write(to: url)
        do { _ = try ForwardInput.read(url); Issue.record("expected an error") } catch {
            #expect("\(error)".contains(url.path) && "\(error)".contains("input_ids"))
        }
    }
}

@Suite
struct SlidingWindowTests {
    /// Mixtral's `sliding_window` windows every layer (gpt-oss's alternating windows are held to transformers by its
    /// fixture): a window at least as long as the sequence changes nothing; a shorter one leaves the tokens that
    /// see no further back than it unchanged and changes the later ones.
    @Test func mixtralsWindowLimitsHowFarBackATokenSees() throws {
        let sequence = [771, 193, 936, 565, 481, 526, 587, 114]
        func lastLayer(window: Int?) throws -> [[Float]] {
            let builder = try CheckpointBuilder()
            defer { builder.remove() }
            try builder.copy(fixture: Fixtures.url("mixtral-tiny"), config: { $0["sliding_window"] = window ?? NSNull() })
            let model = try MoEModel.load(directory: builder.directory)
            #expect(model.spec.window(layer: 0) == window && model.spec.window(layer: 1) == window)
            let out = try model.forward(inputIDs: [sequence], attentionMask: [sequence.map { _ in 1 }])
            // The final entry of (L + 1, batch 1, T, H): every token after the last layer and the final norm.
            let h = out.hiddenSize, last = (out.hiddenStateCount - 1) * out.sequenceLength * h
            return (0..<out.sequenceLength).map { Array(out.hiddenStates[(last + $0 * h)..<(last + ($0 + 1) * h)]) }
        }
        let full = try lastLayer(window: nil)
        #expect(try lastLayer(window: sequence.count) == full)
        let windowed = try lastLayer(window: 3)
        // Token i sees keys max(0, i - 2)...i: tokens 0-2 see what they saw, at every layer.
        #expect(Array(windowed.prefix(3)) == Array(full.prefix(3)))
        for i in 3..<sequence.count { #expect(windowed[i] != full[i], "token \(i)") }
    }
}
