// Stage two's reads: one kind of tensor for many texts, decoding only what is asked.
import Foundation

extension EmbeddingStore {
    /// Blobs read from SQLite per decoding round (bounds the memory of the copied blobs).
    static let readChunk = 4096
    /// Beyond this many text ids between two wanted ones, a bulk read seeks instead of stepping.
    static let seekGap: Int64 = 48

    /// One hidden-state entry of many texts: row i of `values` (length `dimension`) belongs to `texts[i]`.
    ///
    /// `layer` counts hidden-state entries: 0 is the embedding output, i the output of decoder layer i; negative
    /// values count from the end, -1 being the final norm output. Throws `missingRecords` (how many, the first
    /// few) when a text has no record, and `corruptTensor` naming the key of a damaged blob.
    public func hiddenStates(model: ModelID, prompt: PromptID, layer: Int, pooling: Pooling,
                             texts: [String]) throws -> (values: [Float], dimension: Int) {
        defer { finishStatements() }
        guard let shape = try modelShape(model) else {
            try throwMissing(model: model, prompt: prompt, missingIndices: Array(texts.indices), texts: texts)
            return ([], 0)
        }
        let entry = layer < 0 ? shape.hiddenEntries + layer : layer
        guard (0..<shape.hiddenEntries).contains(entry) else {
            throw StoreError.layerOutOfRange(path: path, model: modelName(model), layer: layer, entries: shape.hiddenEntries)
        }
        let query = try statement("""
            SELECT text_id, tensor FROM hidden_states
            WHERE model_id = ? AND prompt_id = ? AND pooling = ? AND layer = ? AND text_id >= ? ORDER BY text_id
            """)
        let values = try bulkRead(texts: texts, model: model, prompt: prompt, query: query, dimension: shape.hiddenSize,
                                  shape: [shape.hiddenSize],
                                  key: { TensorKey(model: $0, prompt: $1, text: $2, kind: .hiddenState, pooling: pooling, layer: entry) },
                                  bind: { statement, textID in
                                      try statement.bind(1, model.rawValue)
                                      try statement.bind(2, prompt.rawValue)
                                      try statement.bind(3, pooling.rawValue)
                                      try statement.bind(4, entry)
                                      try statement.bind(5, textID)
                                  })
        return (values, shape.hiddenSize)
    }

    /// The router logits of every MoE layer of many texts: row i (length `layers.count * experts`, layers in
    /// order) belongs to `texts[i]`; `layers` holds the decoder-layer index of each router entry.
    public func routerLogits(model: ModelID, prompt: PromptID, pooling: Pooling,
                             texts: [String]) throws -> (values: [Float], layers: [Int], experts: Int) {
        defer { finishStatements() }
        guard let shape = try modelShape(model) else {
            try throwMissing(model: model, prompt: prompt, missingIndices: Array(texts.indices), texts: texts)
            return ([], [], 0)
        }
        let query = try statement("""
            SELECT text_id, tensor FROM router_logits
            WHERE model_id = ? AND prompt_id = ? AND pooling = ? AND text_id >= ? ORDER BY text_id
            """)
        let values = try bulkRead(texts: texts, model: model, prompt: prompt, query: query,
                                  dimension: shape.routerDimension, shape: [shape.routerLayers.count, shape.experts],
                                  key: { TensorKey(model: $0, prompt: $1, text: $2, kind: .routerLogits, pooling: pooling, layer: nil) },
                                  bind: { statement, textID in
                                      try statement.bind(1, model.rawValue)
                                      try statement.bind(2, prompt.rawValue)
                                      try statement.bind(3, pooling.rawValue)
                                      try statement.bind(4, textID)
                                  })
        return (values, shape.routerLayers, shape.experts)
    }

    /// A whole record (every entry, both poolings), or nil when (model, prompt, text) has none.
    public func record(model: ModelID, prompt: PromptID, text: String) throws -> PooledRecord? {
        defer { finishStatements() }
        guard let shape = try modelShape(model), let textID = try textID(of: text, create: false) else { return nil }
        let header = try statement("SELECT token_count, truncated FROM records WHERE model_id = ? AND prompt_id = ? AND text_id = ?")
        try header.bind(1, model.rawValue)
        try header.bind(2, prompt.rawValue)
        try header.bind(3, textID)
        guard try header.step() else { return nil }
        let tokenCount = header.int(0), truncated = header.int(1) != 0
        var hidden: [Pooling: [Float]] = [:], router: [Pooling: [Float]] = [:]
        for pooling in Pooling.allCases {
            var values: [Float] = []
            values.reserveCapacity(shape.hiddenEntries * shape.hiddenSize)
            for layer in 0..<shape.hiddenEntries {
                values += try hiddenStates(model: model, prompt: prompt, layer: layer, pooling: pooling, texts: [text]).values
            }
            hidden[pooling] = values
            router[pooling] = try routerLogits(model: model, prompt: prompt, pooling: pooling, texts: [text]).values
        }
        return PooledRecord(text: text, tokenCount: tokenCount, truncated: truncated, hiddenStates: hidden,
                            routerLogits: router, hiddenLayers: shape.hiddenEntries, hiddenSize: shape.hiddenSize,
                            routerLayers: shape.routerLayers, experts: shape.experts)
    }

    /// Reads one blob per text in text-id order (sequential in the B-tree) and decodes them on several threads.
    private func bulkRead(texts: [String], model: ModelID, prompt: PromptID, query: SQLiteStatement, dimension: Int,
                          shape: [Int], key: (String, String, String) -> TensorKey,
                          bind: (SQLiteStatement, Int64) throws -> Void) throws -> [Float] {
        try snapshot {
            try bulkReadInSnapshot(texts: texts, model: model, prompt: prompt, query: query, dimension: dimension,
                                   shape: shape, key: key, bind: bind)
        }
    }

    private func bulkReadInSnapshot(texts: [String], model: ModelID, prompt: PromptID, query: SQLiteStatement,
                                    dimension: Int, shape: [Int], key: (String, String, String) -> TensorKey,
                                    bind: (SQLiteStatement, Int64) throws -> Void) throws -> [Float] {
        let ids = try textIDs(texts)
        var missing = ids.indices.filter { ids[$0] < 0 }
        if !missing.isEmpty {
            try throwMissing(model: model, prompt: prompt, missingIndices: missing, texts: texts)
        }
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        var failure: (row: Int, error: TensorCodecError)?
        // A merge join of the sorted wanted ids with a cursor over the table's range: the cursor steps over
        // small gaps and seeks again over large ones, so dense requests read leaf pages in order without a
        // B-tree descent per text, and sparse ones cost one descent each.
        var current: Int64?
        func seek(_ id: Int64) throws {
            query.reset()
            try bind(query, id)
            current = try query.step() ? query.int64(0) : nil
        }
        let values = try [Float](unsafeUninitializedCapacity: texts.count * dimension) { buffer, initialized in
            guard let output = buffer.baseAddress else { return }
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            var batch = BlobBatch(reservingBytes: Self.readChunk * dimension * 2)
            var position = 0
            var positioned = false
            while position < order.count {
                batch.removeAll()
                let end = min(position + Self.readChunk, order.count)
                for row in order[position..<end] {
                    let wanted = ids[row]
                    if !positioned {
                        try seek(wanted)
                        positioned = true
                    } else if let at = current, at < wanted {
                        if wanted - at > Self.seekGap {
                            try seek(wanted)
                        } else {
                            while let at = current, at < wanted { current = try query.step() ? query.int64(0) : nil }
                        }
                    }
                    if current == wanted { batch.append(query.blob(1), tag: row) } else { missing.append(row) }
                }
                position = end
                let failures = batch.decode(threads: decodeThreads, expectedShape: { _ in shape }, elementCount: dimension,
                                            destination: { output + $0 * dimension })
                if let first = failures.first, failure.map({ first.tag < $0.row }) ?? true { failure = (first.tag, first.error) }
            }
            query.reset()
            // Rows of missing texts stay unwritten; they never leave this function (it throws below).
            initialized = texts.count * dimension
        }
        if !missing.isEmpty {
            try throwMissing(model: model, prompt: prompt, missingIndices: missing.sorted(), texts: texts)
        }
        if let failure {
            throw StoreError.corruptTensor(path: path, key: key(modelName(model), promptName(prompt), texts[failure.row]),
                                           reason: failure.error)
        }
        return values
    }

    /// Asks the kernel for transparent huge pages on a large output buffer: hundreds of faults instead of
    /// ~100k for the 400-800 MB a bulk read of 100k texts writes. Advisory; failure changes nothing.
    private func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        let huge = 2 << 20
        guard let base = buffer.baseAddress, buffer.count >= 8 * huge else { return }
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
        if end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) {
            _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        }
        #endif
    }

    func throwMissing(model: ModelID, prompt: PromptID, missingIndices: [Int], texts: [String]) throws {
        guard !missingIndices.isEmpty else { return }
        throw StoreError.missingRecords(path: path, model: modelName(model), prompt: promptName(prompt),
                                        missing: missingIndices.count, requested: texts.count,
                                        examples: missingIndices.prefix(5).map { texts[$0] })
    }
}
