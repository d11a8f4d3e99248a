import Foundation
import Testing
@testable import Store

@Suite struct EmbeddingStoreTests {
    @Test func putThenReadBackBitIdentically() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        let records = (0..<10).map(tinyGenerator.record)
        try store.put(records, model: model, prompt: prompt)
        #expect(try store.recordCount() == 10)
        #expect(try store.recordCount(model: model, prompt: prompt) == 10)

        // Rows follow the requested order, not the storage order; duplicates are allowed.
        let order = [7, 2, 9, 0, 2]
        let texts = order.map(tinyGenerator.text)
        for pooling in Pooling.allCases {
            for layer in 0..<4 {
                let (values, dimension) = try store.hiddenStates(model: model, prompt: prompt, layer: layer, pooling: pooling, texts: texts)
                #expect(dimension == 8)
                let expected = order.flatMap { Array(records[$0].hiddenStates[pooling]![(layer * 8)..<((layer + 1) * 8)]) }
                #expect(bits(values) == bits(expected))
            }
            let last = try store.hiddenStates(model: model, prompt: prompt, layer: -1, pooling: pooling, texts: texts)
            let third = try store.hiddenStates(model: model, prompt: prompt, layer: 3, pooling: pooling, texts: texts)
            #expect(bits(last.values) == bits(third.values))
            let router = try store.routerLogits(model: model, prompt: prompt, pooling: pooling, texts: texts)
            #expect(router.layers == [1, 2, 3])
            #expect(router.experts == 4)
            #expect(bits(router.values) == bits(order.flatMap { records[$0].routerLogits[pooling]! }))
        }
        let whole = try #require(try store.record(model: model, prompt: prompt, text: records[4].text))
        #expect(whole == records[4])
        #expect(try store.record(model: model, prompt: prompt, text: "never stored") == nil)
    }

    /// Far-apart ids make the bulk read seek, close ones make it step; both must land on the right rows, and a
    /// text stored only for another prompt must count as missing, not be skipped silently.
    @Test func sparseAndDenseRequestsReadTheRightRows() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        let other = try store.register(PromptIdentity(name: "other", specification: "o"))
        let records = (0..<200).map(tinyGenerator.record)
        try store.put(Array(records[0..<100]), model: model, prompt: prompt)
        try store.put(Array(records[100..<110]), model: model, prompt: other)
        try store.put(Array(records[110..<200]), model: model, prompt: prompt)
        let order = [199, 0, 150, 60, 61, 62, 111, 3]
        let result = try store.hiddenStates(model: model, prompt: prompt, layer: 2, pooling: .mean, texts: order.map(tinyGenerator.text))
        #expect(bits(result.values) == bits(order.flatMap { Array(records[$0].hiddenStates[.mean]![16..<24]) }))
        #expect { try store.routerLogits(model: model, prompt: prompt, pooling: .last, texts: [0, 105, 199, 101].map(tinyGenerator.text)) } throws: {
            guard case StoreError.missingRecords(_, _, _, let missing, _, let examples) = $0 else { return false }
            return missing == 2 && examples == [105, 101].map(tinyGenerator.text)
        }
        // missingTexts: far-apart ids are checked one by one, a dense block by one range scan.
        #expect(try store.missingTexts(model: model, prompt: prompt, texts: [0, 199, 105].map(tinyGenerator.text))
            == [tinyGenerator.text(105)])
        #expect(try store.missingTexts(model: model, prompt: prompt, texts: (95..<115).map(tinyGenerator.text))
            == (100..<110).map(tinyGenerator.text))
    }

    @Test func defaultCodecStoresHiddenStatesAsF16AndRouterLogitsAsF32() throws {
        let directory = try TemporaryDirectory()
        let store = try EmbeddingStore(path: directory.path("a.sqlite"))
        #expect(store.hiddenCodec == TensorCodec(dtype: .f16, shuffle: true))
        #expect(store.routerCodec == TensorCodec(dtype: .f32, shuffle: true))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        let record = tinyGenerator.record(3)
        try store.put([record], model: model, prompt: prompt)
        let read = try #require(try store.record(model: model, prompt: prompt, text: record.text))
        for pooling in Pooling.allCases {
            #expect(bits(read.hiddenStates[pooling]!) == bits(record.hiddenStates[pooling]!.map { Float(Float16($0)) }))
            #expect(bits(read.routerLogits[pooling]!) == bits(record.routerLogits[pooling]!))
        }
    }

    @Test func missingTextsKeepsOrderAndDropsDuplicates() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put([tinyGenerator.record(1), tinyGenerator.record(3)], model: model, prompt: prompt)
        let asked = [5, 1, 4, 5, 3, 0, 4].map(tinyGenerator.text)
        #expect(try store.missingTexts(model: model, prompt: prompt, texts: asked) == [5, 4, 0].map(tinyGenerator.text))
        // Another prompt has none of them.
        let other = try store.register(PromptIdentity(name: "prompteol", specification: "{}"))
        #expect(try store.missingTexts(model: model, prompt: other, texts: asked).count == 5)
    }

    @Test func registerIsIdempotentAndListed() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let a = try store.register(tinyGenerator.model)
        #expect(try store.register(tinyGenerator.model) == a)
        var changed = tinyGenerator.model
        changed.fingerprint = "another checkpoint"
        #expect(try store.register(changed) != a)
        let p = try store.register(tinyGenerator.prompt)
        #expect(try store.register(tinyGenerator.prompt) == p)
        #expect(try store.models().map(\.identity) == [tinyGenerator.model, changed])
        #expect(try store.prompts().map(\.identity) == [tinyGenerator.prompt])
    }

    @Test func missingRecordsAreReportedWithCountAndExamples() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put([tinyGenerator.record(0)], model: model, prompt: prompt)
        let texts = [tinyGenerator.text(0), "unknown one", "unknown two"]
        #expect { try store.routerLogits(model: model, prompt: prompt, pooling: .last, texts: texts) } throws: { error in
            guard case StoreError.missingRecords(_, _, _, let missing, let requested, let examples) = error else { return false }
            return missing == 2 && requested == 3 && examples == ["unknown one", "unknown two"]
                && "\(error)".contains("2 of 3 texts have no record")
        }
        // A text stored for another prompt is missing for this one.
        let other = try store.register(PromptIdentity(name: "other", specification: "x"))
        #expect(throws: StoreError.self) {
            try store.hiddenStates(model: model, prompt: other, layer: 0, pooling: .mean, texts: [tinyGenerator.text(0)])
        }
        #expect(throws: StoreError.self) {
            try store.hiddenStates(model: model, prompt: prompt, layer: 4, pooling: .mean, texts: [tinyGenerator.text(0)])
        }
        #expect(throws: StoreError.self) {
            try store.hiddenStates(model: model, prompt: prompt, layer: -5, pooling: .mean, texts: [tinyGenerator.text(0)])
        }
    }

    @Test func aBatchIsOneTransaction() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put([tinyGenerator.record(0)], model: model, prompt: prompt)
        var bad = tinyGenerator.record(9)
        bad.hiddenStates[.mean]?.removeLast()
        #expect { try store.put([tinyGenerator.record(1), tinyGenerator.record(2), bad], model: model, prompt: prompt) } throws: {
            "\($0)".contains(bad.text) && "\($0)".contains("mean-pooled hidden states have 31 values")
        }
        #expect(try store.recordCount() == 1)
        #expect(try store.missingTexts(model: model, prompt: prompt, texts: [1, 2].map(tinyGenerator.text)).count == 2)
        // A record of another shape than the model's is refused.
        let other = SyntheticRecords(hiddenLayers: 4, hiddenSize: 16, routerLayers: [1, 2, 3], experts: 4).record(0)
        #expect { try store.put([other], model: model, prompt: prompt) } throws: { "\($0)".contains("differs from the shape") }
        // F16 overflow names the text instead of storing infinity.
        let f16 = try EmbeddingStore(path: directory.path("f16.sqlite"))
        let m = try f16.register(tinyGenerator.model), p = try f16.register(tinyGenerator.prompt)
        var huge = tinyGenerator.record(4)
        huge.hiddenStates[.last]?[5] = 1e6
        #expect { try f16.put([huge], model: m, prompt: p) } throws: { "\($0)".contains("outside the F16 range") && "\($0)".contains(huge.text) }
        #expect(try f16.recordCount() == 0)
    }

    @Test func putReplacesAnExistingRecord() throws {
        let directory = try TemporaryDirectory()
        let store = try losslessStore(directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        var record = tinyGenerator.record(0)
        try store.put([record], model: model, prompt: prompt)
        record.tokenCount = 99
        record.routerLogits[.last] = record.routerLogits[.last]!.map { $0 + 1 }
        try store.put([record], model: model, prompt: prompt)
        #expect(try store.recordCount() == 1)
        #expect(try store.record(model: model, prompt: prompt, text: record.text) == record)
        #expect(try store.verify().isOK)
    }

    @Test func theCodecIsFixedPerStore() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        _ = try EmbeddingStore(path: path, options: StoreOptions(hiddenStates: TensorCodec(dtype: .bf16, shuffle: false)))
        let reopened = try EmbeddingStore(path: path)
        #expect(reopened.hiddenCodec == TensorCodec(dtype: .bf16, shuffle: false))
        #expect { try EmbeddingStore(path: path, options: StoreOptions(hiddenStates: TensorCodec(dtype: .f16))) } throws: {
            "\($0)".contains("BF16") && "\($0)".contains(path)
        }
    }

    @Test func readOnlyStoresRefuseWrites() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        let writer = try losslessStore(path)
        let model = try writer.register(tinyGenerator.model), prompt = try writer.register(tinyGenerator.prompt)
        let reader = try EmbeddingStore(path: path, readOnly: true)
        #expect(throws: StoreError.self) { try reader.put([tinyGenerator.record(0)], model: model, prompt: prompt) }
        // The reader sees what the writer commits after it opened (WAL, no stale snapshot between calls).
        #expect(try reader.recordCount() == 0)
        try writer.put([tinyGenerator.record(0)], model: model, prompt: prompt)
        #expect(try reader.recordCount() == 1)
        #expect(try reader.routerLogits(model: model, prompt: prompt, pooling: .last, texts: [tinyGenerator.text(0)]).values.count == 12)
    }

    @Test func aSecondExclusiveWriterFailsNamingTheHolder() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        let first = try EmbeddingStore(path: path, options: StoreOptions(exclusiveWriter: true))
        #expect { try EmbeddingStore(path: path, options: StoreOptions(exclusiveWriter: true)) } throws: {
            "\($0)".contains("being written by another process (pid \(getpid())")
        }
        // Readers are never locked out.
        #expect(throws: Never.self) { try EmbeddingStore(path: path, readOnly: true) }
        _ = first
    }
}
