// Whole-store operations: statistics, a full verification, and merging stores.
import CSQLite
import Foundation

/// What `stats()` reports.
public struct StoreStats: Sendable {
    public struct Group: Sendable {
        public var model: String
        public var prompt: String
        public var records: Int
    }

    /// One registered model: the variant is what `extract` recorded as computing its tensors.
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var variant: String
        public var fingerprint: String
        public var records: Int
    }

    public struct Kind: Sendable {
        public var name: String
        /// The codec new blobs of this kind are written with.
        public var codec: String
        public var blobs: Int
        public var values: Int
        /// The values as plain float32 arrays.
        public var float32Bytes: Int
        /// Blob bytes as stored (headers included).
        public var storedBytes: Int
        public var ratio: Double { storedBytes > 0 ? Double(float32Bytes) / Double(storedBytes) : 0 }
    }

    public var path: String
    public var schemaVersion: Int
    public var fileBytes: Int
    public var models: Int
    public var prompts: Int
    public var texts: Int
    public var records: Int
    public var groups: [Group]
    /// Every registered model (name, variant, fingerprint) with its record count, in registration order.
    public var variants: [Variant]
    public var kinds: [Kind]

    /// A plain-text table for `pipeline store stats`.
    public var table: String {
        var lines = ["store \(path): schema version \(schemaVersion), \(fileBytes) bytes on disk",
                     "\(models) models, \(prompts) prompts, \(texts) texts, \(records) records", "",
                     "model | variant | fingerprint | records"]
        for model in variants {
            lines.append("\(model.name) | \(model.variant) | \(model.fingerprint.prefix(16)) | \(model.records)")
        }
        lines += ["", "model | prompt | records"]
        for group in groups { lines.append("\(group.model) | \(group.prompt) | \(group.records)") }
        lines += ["", "tensor kind | codec | blobs | values | bytes as float32 | bytes stored | ratio"]
        for kind in kinds {
            lines.append("\(kind.name) | \(kind.codec) | \(kind.blobs) | \(kind.values) | \(kind.float32Bytes) | "
                + "\(kind.storedBytes) | \(String(format: "%.3f", kind.ratio))")
        }
        return lines.joined(separator: "\n")
    }
}

/// What `verify()` found.
public struct VerifyReport: Sendable {
    public var records: Int
    public var blobsChecked: Int
    /// SQLite's `PRAGMA quick_check` result ("ok" when the file is sound).
    public var sqliteCheck: String
    /// Damaged or missing tensors and inconsistent records, as "key: reason" lines.
    public var problems: [String]
    public var isOK: Bool { problems.isEmpty && sqliteCheck == "ok" }
}

extension EmbeddingStore {
    /// Counts, and bytes raw vs stored per tensor kind. Reads every row (blob lengths), not the blob contents.
    public func stats() throws -> StoreStats {
        defer { finishStatements() }
        func count(_ table: String) throws -> Int { Int(try db.scalarInt("SELECT count(*) FROM \(table)") ?? 0) }
        var groups: [StoreStats.Group] = []
        let grouped = try statement("""
            SELECT m.name || ' (' || m.variant || ', ' || substr(m.fingerprint, 1, 12) || ')', p.name, count(*)
            FROM records r JOIN models m ON m.id = r.model_id JOIN prompts p ON p.id = r.prompt_id
            GROUP BY r.model_id, r.prompt_id ORDER BY r.model_id, r.prompt_id
            """)
        while try grouped.step() {
            groups.append(.init(model: grouped.text(0), prompt: grouped.text(1), records: grouped.int(2)))
        }
        let registered = try models()
        let variants = try registered.map { model in
            StoreStats.Variant(name: model.identity.name, variant: model.identity.variant,
                               fingerprint: model.identity.fingerprint, records: try recordCount(model: model.id))
        }
        let shapesByModel = Dictionary(uniqueKeysWithValues: registered.map { ($0.id, $0.shape) })
        var kinds: [StoreStats.Kind] = []
        for (table, codec) in [("hidden_states", hiddenCodec), ("router_logits", routerCodec)] {
            var kind = StoreStats.Kind(name: table, codec: Self.describe(codec), blobs: 0, values: 0, float32Bytes: 0, storedBytes: 0)
            let sums = try db.prepare("SELECT model_id, count(*), sum(length(tensor)) FROM \(table) GROUP BY model_id")
            while try sums.step() {
                let blobs = sums.int(1)
                let shape = shapesByModel[ModelID(rawValue: sums.int64(0))] ?? nil
                let perBlob = table == "hidden_states" ? (shape?.hiddenSize ?? 0) : (shape?.routerDimension ?? 0)
                kind.blobs += blobs
                kind.values += blobs * perBlob
                kind.storedBytes += sums.int(2)
            }
            kind.float32Bytes = kind.values * 4
            kinds.append(kind)
        }
        let pageCount = Int(try db.scalarInt("PRAGMA page_count") ?? 0)
        let pageSize = Int(try db.scalarInt("PRAGMA page_size") ?? 0)
        return StoreStats(path: path, schemaVersion: Schema.version, fileBytes: pageCount * pageSize,
                          models: try count("models"), prompts: try count("prompts"), texts: try count("texts"),
                          records: try count("records"), groups: groups, variants: variants, kinds: kinds)
    }

    /// Decodes every blob (checksum, shape, decompression), checks that every record has all its tensors and
    /// every tensor a record, and runs SQLite's `quick_check`. Lists every problem with its key.
    public func verify(progress: ((Int) -> Void)? = nil) throws -> VerifyReport {
        defer { finishStatements() }
        // One read transaction, so one snapshot: run while `extract` commits, verify otherwise counted a record
        // committed after its tensors were read as "0 tensors stored" (found by the fault suite, issue 7).
        return try db.readTransaction { try verifySnapshot(progress: progress) }
    }

    private func verifySnapshot(progress: ((Int) -> Void)?) throws -> VerifyReport {
        let sqliteCheck = try db.scalarText("PRAGMA quick_check") ?? "no answer"
        let shapes = Dictionary(uniqueKeysWithValues: try models().map { ($0.id.rawValue, $0.shape) })
        var problems: [String] = []
        // Tensor rows seen per record, keyed by (model, prompt, text) ids.
        var seen: [RecordKey: Int] = [:]
        var checked = 0
        struct Row { var key: RecordKey; var pooling: String; var layer: Int? }

        for kind in [TensorKey.Kind.hiddenState, .routerLogits] {
            let hidden = kind == .hiddenState
            let query = try db.prepare(hidden
                ? "SELECT model_id, prompt_id, text_id, pooling, layer, tensor FROM hidden_states"
                : "SELECT model_id, prompt_id, text_id, pooling, NULL, tensor FROM router_logits")
            var batch = BlobBatch()
            var rows: [Row] = []
            var expected: [[Int]] = []
            var more = true
            while more {
                batch.removeAll()
                rows.removeAll(keepingCapacity: true)
                expected.removeAll(keepingCapacity: true)
                var elementCount = 1
                while batch.count < Self.readChunk {
                    guard try query.step() else { more = false; break }
                    let key = RecordKey(model: query.int64(0), prompt: query.int64(1), text: query.int64(2))
                    let row = Row(key: key, pooling: query.text(3), layer: hidden ? query.int(4) : nil)
                    seen[key, default: 0] += 1
                    guard let shapeOrNil = shapes[key.model], let shape = shapeOrNil else {
                        problems.append("\(try describe(row.key, kind: kind, pooling: row.pooling, layer: row.layer)): tensor of a model without records")
                        continue
                    }
                    if Pooling(rawValue: row.pooling) == nil
                        || (hidden && !(0..<shape.hiddenEntries).contains(row.layer ?? -1)) {
                        problems.append("\(try describe(row.key, kind: kind, pooling: row.pooling, layer: row.layer)): "
                            + "unknown pooling or layer out of range")
                    }
                    let dims = hidden ? [shape.hiddenSize] : [shape.routerLayers.count, shape.experts]
                    elementCount = max(elementCount, dims.reduce(1, *))
                    batch.append(query.blob(5), tag: rows.count)
                    rows.append(row)
                    expected.append(dims)
                }
                let failures = batch.decode(threads: decodeThreads, expectedShape: { expected[$0] },
                                            elementCount: elementCount, destination: { _ in nil })
                for failure in failures {
                    let row = rows[failure.tag]
                    problems.append("\(try describe(row.key, kind: kind, pooling: row.pooling, layer: row.layer)): \(failure.error)")
                }
                checked += batch.count
                progress?(checked)
            }
        }

        // Every record has both poolings of every entry and of the router logits; no tensor lacks a record.
        let records = try db.prepare("SELECT model_id, prompt_id, text_id FROM records")
        var recordCount = 0
        while try records.step() {
            recordCount += 1
            let key = RecordKey(model: records.int64(0), prompt: records.int64(1), text: records.int64(2))
            let found = seen.removeValue(forKey: key) ?? 0
            guard let shapeOrNil = shapes[key.model], let shape = shapeOrNil else {
                problems.append("\(try describe(key)): record of a model without a tensor shape")
                continue
            }
            let wanted = Pooling.allCases.count * (shape.hiddenEntries + 1)
            if found != wanted {
                problems.append("\(try describe(key)): \(found) tensors stored, expected \(wanted)")
            }
        }
        for key in seen.keys.sorted() {
            problems.append("\(try describe(key)): tensors without a record")
        }
        return VerifyReport(records: recordCount, blobsChecked: checked, sqliteCheck: sqliteCheck, problems: problems)
    }

    /// "(model ..., prompt ..., text "...")" for a key given by ids.
    private func describe(_ key: RecordKey) throws -> String {
        let text = try db.prepare("SELECT text FROM texts WHERE id = \(key.text)")
        let shown = try text.step() ? quoted(text.text(0)) : "text#\(key.text)"
        return "(model \(modelName(ModelID(rawValue: key.model))), prompt \(promptName(PromptID(rawValue: key.prompt))), text \(shown))"
    }

    private func describe(_ key: RecordKey, kind: TensorKey.Kind, pooling: String, layer: Int?) throws -> String {
        "\(try describe(key)) \(kind.rawValue) \(pooling)" + (layer.map { " layer \($0)" } ?? "")
    }

    /// Copies every model, prompt, text, record and tensor of `inputs` into the store at `out` (created when
    /// absent). Idempotent: what `out` already holds is kept. One transaction per input. Refuses, before
    /// copying anything, when a model name and variant carry different fingerprints in two of the files.
    public static func merge(into out: String, from inputs: [String]) throws {
        let target = try EmbeddingStore(path: out, options: StoreOptions(exclusiveWriter: true))
        // name + variant -> (fingerprint, file), across the output and every input, in order.
        var owners: [String: (fingerprint: String, file: String)] = [:]
        func claim(_ models: [StoredModel], file: String) throws {
            for model in models {
                let identity = model.identity
                let key = identity.name + "\u{0}" + identity.variant
                if let owner = owners[key], owner.fingerprint != identity.fingerprint {
                    throw StoreError.fingerprintConflict(model: identity.name, variant: identity.variant,
                                                         fileA: owner.file, fingerprintA: owner.fingerprint,
                                                         fileB: file, fingerprintB: identity.fingerprint)
                }
                owners[key] = owners[key] ?? (identity.fingerprint, file)
            }
        }
        try claim(target.models(), file: out)
        for input in inputs {
            let source = try EmbeddingStore(path: input, readOnly: true)  // checks it is a store of a known schema
            try claim(source.models(), file: input)
        }
        for input in inputs { try target.copyAll(from: input) }
    }

    private func copyAll(from input: String) throws {
        let attach = try db.prepare("ATTACH DATABASE ? AS source")
        let uri = "file:" + (input.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? input) + "?mode=ro"
        try attach.bind(1, uri)
        try attach.run()
        defer { try? db.execute("DETACH DATABASE source") }
        try db.transaction {
            try db.execute("""
                INSERT OR IGNORE INTO main.models(name, variant, fingerprint, architecture_json)
                    SELECT name, variant, fingerprint, architecture_json FROM source.models;
                CREATE TEMP TABLE model_map AS
                    SELECT s.id AS source_id, m.id AS target_id, s.hidden_entries, s.hidden_size,
                           s.router_layers_json, s.experts,
                           m.hidden_entries AS target_entries, m.hidden_size AS target_size,
                           m.router_layers_json AS target_layers, m.experts AS target_experts, m.name AS name
                    FROM source.models s JOIN main.models m
                      ON m.name = s.name AND m.variant = s.variant AND m.fingerprint = s.fingerprint;
                """)
            let conflict = try db.prepare("""
                SELECT name FROM temp.model_map WHERE hidden_entries IS NOT NULL AND target_entries IS NOT NULL
                  AND (hidden_entries != target_entries OR hidden_size != target_size
                       OR router_layers_json != target_layers OR experts != target_experts)
                """)
            if try conflict.step() {
                throw StoreError.shapeConflict(model: conflict.text(0), source: input, target: path)
            }
            try db.execute("""
                UPDATE main.models SET
                    hidden_entries = (SELECT hidden_entries FROM temp.model_map WHERE target_id = models.id),
                    hidden_size = (SELECT hidden_size FROM temp.model_map WHERE target_id = models.id),
                    router_layers_json = (SELECT router_layers_json FROM temp.model_map WHERE target_id = models.id),
                    experts = (SELECT experts FROM temp.model_map WHERE target_id = models.id)
                WHERE hidden_entries IS NULL
                  AND id IN (SELECT target_id FROM temp.model_map WHERE hidden_entries IS NOT NULL);
                INSERT OR IGNORE INTO main.prompts(name, specification) SELECT name, specification FROM source.prompts;
                CREATE TEMP TABLE prompt_map AS
                    SELECT s.id AS source_id, p.id AS target_id FROM source.prompts s
                    JOIN main.prompts p ON p.name = s.name AND p.specification = s.specification;
                INSERT OR IGNORE INTO main.texts(text) SELECT text FROM source.texts ORDER BY id;
                CREATE TEMP TABLE text_map (source_id INTEGER PRIMARY KEY, target_id INTEGER NOT NULL);
                INSERT INTO temp.text_map SELECT s.id, t.id FROM source.texts s JOIN main.texts t ON t.text = s.text;
                INSERT OR IGNORE INTO main.records(model_id, prompt_id, text_id, token_count, truncated, created_at)
                    SELECT mm.target_id, pm.target_id, tm.target_id, r.token_count, r.truncated, r.created_at
                    FROM source.records r
                    JOIN temp.model_map mm ON mm.source_id = r.model_id
                    JOIN temp.prompt_map pm ON pm.source_id = r.prompt_id
                    JOIN temp.text_map tm ON tm.source_id = r.text_id;
                INSERT OR IGNORE INTO main.hidden_states(model_id, prompt_id, pooling, layer, text_id, tensor)
                    SELECT mm.target_id, pm.target_id, h.pooling, h.layer, tm.target_id, h.tensor
                    FROM source.hidden_states h
                    JOIN temp.model_map mm ON mm.source_id = h.model_id
                    JOIN temp.prompt_map pm ON pm.source_id = h.prompt_id
                    JOIN temp.text_map tm ON tm.source_id = h.text_id;
                INSERT OR IGNORE INTO main.router_logits(model_id, prompt_id, pooling, text_id, tensor)
                    SELECT mm.target_id, pm.target_id, g.pooling, tm.target_id, g.tensor
                    FROM source.router_logits g
                    JOIN temp.model_map mm ON mm.source_id = g.model_id
                    JOIN temp.prompt_map pm ON pm.source_id = g.prompt_id
                    JOIN temp.text_map tm ON tm.source_id = g.text_id;
                DROP TABLE temp.model_map;
                DROP TABLE temp.prompt_map;
                DROP TABLE temp.text_map;
                """)
        }
        resetCaches()
    }
}

/// A record's key by ids.
struct RecordKey: Hashable, Comparable {
    var model: Int64
    var prompt: Int64
    var text: Int64
    static func < (a: RecordKey, b: RecordKey) -> Bool { (a.model, a.prompt, a.text) < (b.model, b.prompt, b.text) }
}
