// Text -> id resolution for many texts at once, and the record-existence check built on it.
import Foundation

extension EmbeddingStore {
    /// The text ids of `texts` (-1 where the text is not stored). Few texts are looked up one by one in the
    /// UNIQUE index; many (at least 1/8 of the table) are resolved in one pass over the `texts` table, matching
    /// rows by a 64-bit hash of their UTF-8 bytes and confirming every match byte for byte, which costs a
    /// fraction of 100k index descents. Found ids are remembered: ids never change, texts are only added.
    func textIDs(_ texts: [String]) throws -> [Int64] {
        var ids = [Int64](repeating: -1, count: texts.count)
        var unresolved: [Int] = []
        for (index, text) in texts.enumerated() {
            if let known = knownTextIDs[text] { ids[index] = known } else { unresolved.append(index) }
        }
        guard !unresolved.isEmpty else { return ids }
        let tableSize = Int(try db.scalarInt("SELECT max(id) FROM texts") ?? 0)
        if unresolved.count * 8 < tableSize {
            for index in unresolved {
                if let found = try textID(of: texts[index], create: false) { ids[index] = found }
            }
        } else {
            try resolveByScan(texts, indices: unresolved, into: &ids)
        }
        for index in unresolved where ids[index] >= 0 { knownTextIDs[texts[index]] = ids[index] }
        return ids
    }

    private func resolveByScan(_ texts: [String], indices: [Int], into ids: inout [Int64]) throws {
        // hash -> first wanted index with that hash; `chain` links the others (duplicates, or collisions).
        var first: [UInt64: Int] = [:]
        first.reserveCapacity(indices.count)
        var chain = [Int](repeating: -1, count: texts.count)
        var utf8 = texts  // contiguous UTF-8 copies where needed, so bytes can be hashed and compared in place
        for index in indices {
            utf8[index].makeContiguousUTF8()
            let hash = Self.hash(utf8[index])
            if let head = first[hash] { chain[index] = head }
            first[hash] = index
        }
        let scan = try db.prepare("SELECT id, text FROM texts")
        while try scan.step() {
            let bytes = scan.textBytes(1)
            guard var index = first[Checksum64.hash(bytes, seed: 0)] else { continue }
            let id = scan.int64(0)
            while index >= 0 {
                if ids[index] < 0, Self.equal(utf8[index], bytes) { ids[index] = id }
                index = chain[index]
            }
        }
    }

    private static func hash(_ text: String) -> UInt64 {
        text.utf8.withContiguousStorageIfAvailable { Checksum64.hash(UnsafeRawBufferPointer($0), seed: 0) }
            ?? Checksum64.hash(UnsafeRawBufferPointer(start: nil, count: 0), seed: 0)
    }

    private static func equal(_ text: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { mine in
            guard mine.count == bytes.count else { return false }
            guard let a = mine.baseAddress, let b = bytes.baseAddress else { return true }  // both empty
            return memcmp(a, b, mine.count) == 0
        } ?? (String(decoding: bytes, as: UTF8.self) == text)
    }

    /// `missingTexts` in one snapshot: resolve ids in bulk, then check the records of (model, prompt) either by
    /// one range scan over the wanted ids (dense requests) or one primary-key lookup each (sparse ones).
    func missingTextsInSnapshot(model: ModelID, prompt: PromptID, texts: [String]) throws -> [String] {
        var seen = Set<String>(minimumCapacity: texts.count)
        let unique = texts.filter { seen.insert($0).inserted }
        let ids = try textIDs(unique)
        let wanted = ids.filter { $0 >= 0 }
        guard let low = wanted.min(), let high = wanted.max() else { return unique }
        var present = Set<Int64>(minimumCapacity: wanted.count)
        if Int(high - low) < wanted.count * 4 {
            let range = try statement("""
                SELECT text_id FROM records WHERE model_id = ? AND prompt_id = ? AND text_id BETWEEN ? AND ?
                """)
            try range.bind(1, model.rawValue)
            try range.bind(2, prompt.rawValue)
            try range.bind(3, low)
            try range.bind(4, high)
            while try range.step() { present.insert(range.int64(0)) }
        } else {
            let point = try statement("SELECT 1 FROM records WHERE model_id = ? AND prompt_id = ? AND text_id = ?")
            for id in wanted {
                point.reset()
                try point.bind(1, model.rawValue)
                try point.bind(2, prompt.rawValue)
                try point.bind(3, id)
                if try point.step() { present.insert(id) }
            }
        }
        return unique.indices.filter { !present.contains(ids[$0]) }.map { unique[$0] }
    }
}
