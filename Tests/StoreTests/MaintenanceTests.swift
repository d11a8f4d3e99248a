import Foundation
import Testing
@testable import Store

@Suite struct MaintenanceTests {
    @Test func verifyListsACorruptedBlobAndAMissingTensor() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        let store = try EmbeddingStore(path: path)
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put((0..<6).map(tinyGenerator.record), model: model, prompt: prompt)
        let clean = try store.verify()
        #expect(clean.isOK)
        #expect(clean.records == 6)
        #expect(clean.blobsChecked == 6 * 2 * (4 + 1))

        try corruptBlob(path, table: "hidden_states", where: "text_id = 3 AND layer = 2 AND pooling = 'mean'")
        try rawSQL(path, "DELETE FROM router_logits WHERE text_id = 5 AND pooling = 'last'")
        let report = try EmbeddingStore(path: path, readOnly: true).verify()
        #expect(!report.isOK)
        #expect(report.problems.count == 2)
        let text3 = tinyGenerator.text(2), text5 = tinyGenerator.text(4)  // ids start at 1
        #expect(report.problems.contains { $0.contains(text3) && $0.contains("hidden_states mean layer 2") && $0.contains("checksum") })
        #expect(report.problems.contains { $0.contains(text5) && $0.contains("9 tensors stored, expected 10") })

        // A bulk read of the damaged layer names the key instead of returning garbage.
        #expect { try store.hiddenStates(model: model, prompt: prompt, layer: 2, pooling: .mean, texts: [text3]) } throws: {
            "\($0)".contains(path) && "\($0)".contains(text3) && "\($0)".contains("layer 2") && "\($0)".contains("checksum")
        }
        // Other layers of the same record still read.
        #expect(throws: Never.self) { try store.hiddenStates(model: model, prompt: prompt, layer: 1, pooling: .mean, texts: [text3]) }
    }

    @Test func anUnknownDTypeTagInTheStoreNamesTheKey() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        let store = try EmbeddingStore(path: path)
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put([tinyGenerator.record(0)], model: model, prompt: prompt)
        try rawSQL(path, "UPDATE router_logits SET tensor = substr(tensor, 1, 3) || x'07' || substr(tensor, 5) WHERE pooling = 'mean'")
        #expect { try store.routerLogits(model: model, prompt: prompt, pooling: .mean, texts: [tinyGenerator.text(0)]) } throws: {
            "\($0)".contains("unknown dtype tag 7") && "\($0)".contains(tinyGenerator.text(0)) && "\($0)".contains("router_logits mean")
        }
    }

    @Test func statsCountsRecordsAndBytes() throws {
        let directory = try TemporaryDirectory()
        let store = try EmbeddingStore(path: directory.path("a.sqlite"))
        let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
        try store.put((0..<5).map(tinyGenerator.record), model: model, prompt: prompt)
        let stats = try store.stats()
        #expect(stats.records == 5)
        #expect(stats.groups.map(\.records) == [5])
        #expect(stats.kinds[0].name == "hidden_states")
        #expect(stats.kinds[0].blobs == 5 * 2 * 4)
        #expect(stats.kinds[0].values == 5 * 2 * 4 * 8)
        #expect(stats.kinds[1].values == 5 * 2 * 12)
        #expect(stats.kinds[0].storedBytes > 0 && stats.kinds[0].float32Bytes == 5 * 2 * 4 * 8 * 4)
        #expect(stats.table.contains("hidden_states | F16+shuffle+LZ4"))
    }

    /// `store stats` lists each model's variants as extract recorded them, with their record counts.
    @Test func statsListsEveryVariantOfAModel() throws {
        let directory = try TemporaryDirectory()
        let store = try EmbeddingStore(path: directory.path("a.sqlite"))
        let base = tinyGenerator.model, prompt = try store.register(tinyGenerator.prompt)
        let plain = try store.register(base)
        let bf16 = try store.register(ModelIdentity(name: base.name, variant: "q4k+bf16", fingerprint: base.fingerprint,
                                                    architectureJSON: base.architectureJSON))
        try store.put((0..<3).map(tinyGenerator.record), model: plain, prompt: prompt)
        try store.put((0..<2).map(tinyGenerator.record), model: bf16, prompt: prompt)
        let stats = try store.stats()
        #expect(stats.variants.map(\.variant) == [base.variant, "q4k+bf16"])
        #expect(stats.variants.map(\.records) == [3, 2])
        #expect(stats.table.contains("\(base.name) | q4k+bf16 | \(base.fingerprint.prefix(16)) | 2"))
    }

    @Test func mergeCopiesEverythingAndIsIdempotent() throws {
        let directory = try TemporaryDirectory()
        let a = directory.path("a.sqlite"), b = directory.path("b.sqlite"), out = directory.path("out.sqlite")
        for (path, range) in [(a, 0..<6), (b, 4..<10)] {
            let store = try EmbeddingStore(path: path)
            // Register in another order in b, so ids differ between the files.
            if path == b { _ = try store.register(PromptIdentity(name: "only-in-b", specification: "b")) }
            let model = try store.register(tinyGenerator.model), prompt = try store.register(tinyGenerator.prompt)
            try store.put(range.map(tinyGenerator.record), model: model, prompt: prompt)
        }
        try EmbeddingStore.merge(into: out, from: [a, b])
        let merged = try EmbeddingStore(path: out)
        #expect(try merged.recordCount() == 10)
        #expect(try merged.verify().isOK)
        try EmbeddingStore.merge(into: out, from: [a, b])
        try EmbeddingStore.merge(into: out, from: [b])
        #expect(try merged.recordCount() == 10)
        #expect(try merged.prompts().count == 2)
        #expect(try merged.verify().isOK)
        let model = try merged.register(tinyGenerator.model), prompt = try merged.register(tinyGenerator.prompt)
        let texts = (0..<10).map(tinyGenerator.text)
        let source = try EmbeddingStore(path: b, readOnly: true)
        let sourceModel = try source.register(tinyGenerator.model), sourcePrompt = try source.register(tinyGenerator.prompt)
        #expect(try merged.routerLogits(model: model, prompt: prompt, pooling: .mean, texts: Array(texts[4...])).values
            == source.routerLogits(model: sourceModel, prompt: sourcePrompt, pooling: .mean, texts: Array(texts[4...])).values)
        #expect(try merged.hiddenStates(model: model, prompt: prompt, layer: -1, pooling: .last, texts: texts).values.count == 80)
    }

    @Test func mergeRefusesOneModelNameWithTwoFingerprints() throws {
        let directory = try TemporaryDirectory()
        let a = directory.path("a.sqlite"), b = directory.path("b.sqlite"), out = directory.path("out.sqlite")
        var changed = tinyGenerator.model
        changed.fingerprint = "retrained"
        for (path, identity) in [(a, tinyGenerator.model), (b, changed)] {
            let store = try EmbeddingStore(path: path)
            let model = try store.register(identity), prompt = try store.register(tinyGenerator.prompt)
            try store.put([tinyGenerator.record(0)], model: model, prompt: prompt)
        }
        #expect { try EmbeddingStore.merge(into: out, from: [a, b]) } throws: {
            "\($0)".contains(a) && "\($0)".contains(b) && "\($0)".contains("retrained")
        }
        #expect(try EmbeddingStore(path: out, readOnly: true).recordCount() == 0)
    }
}
