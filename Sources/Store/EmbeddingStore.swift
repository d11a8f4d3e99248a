// The embedding cache: one SQLite file keyed by (model, prompt, text). Opening, identities, writes, lookups.
import CSQLite
import Foundation

/// The cache joining stage one (extract) to stage two (score). See SPEC.md §4 and `Schema.create`.
///
/// - One instance owns one SQLite connection; use it from one thread at a time (bulk reads decode on several
///   threads internally). Any number of reader processes may work while one writer writes (WAL).
/// - Each `put` is one transaction: killing the writer loses at most that batch and never corrupts the file.
///   `synchronous = NORMAL`: durable against a killed process; a power cut may lose the last batches, not the file.
/// - Two writers: SQLite serialises their transactions (busy timeout), and keys are primary keys, so nothing is
///   corrupted or duplicated even without a lock. `StoreOptions.exclusiveWriter` additionally takes `DB.lock`
///   (flock) and makes a second writer fail at once with the holder's pid, instead of silently sharing the work.
/// - Codecs are fixed per store at creation (`meta`); every blob also records its own dtype, shuffle and shape.
///   Defaults: hidden states F16 (half the bytes of F32, 11-bit precision; values beyond the F16 range are refused
///   with an error naming the text, never stored as infinity), router logits F32 (exact logits for top-k and
///   softmax; they are 3% of a record's bytes). `pipeline bench store` measures the alternatives.
public final class EmbeddingStore {
    /// The file path.
    public let path: String
    public let readOnly: Bool
    /// Codecs new blobs are written with (fixed when the store was created).
    public let hiddenCodec: TensorCodec
    public let routerCodec: TensorCodec

    let db: SQLiteDatabase
    let decodeThreads: Int
    private let writerLock: WriterLock?
    private var statements: [String: SQLiteStatement] = [:]
    private var shapes: [ModelID: TensorShape] = [:]
    private var modelNames: [ModelID: String] = [:]
    private var promptNames: [PromptID: String] = [:]
    /// Text ids found by bulk reads, so that the several reads of one task resolve their texts once.
    var knownTextIDs: [String: Int64] = [:]
    private lazy var hiddenEncoder = TensorEncoder(hiddenCodec)
    private lazy var routerEncoder = TensorEncoder(routerCodec)

    /// Opens the store at `path`, creating it (when writable and absent) or migrating an older schema.
    ///
    /// Refuses, with an error naming the file: a file that is not SQLite, a SQLite database of another program,
    /// a newer schema, a missing file when `readOnly`, a directory where the store cannot be written, a store
    /// whose codec differs from an explicitly requested one, and (with `exclusiveWriter`) a store another
    /// process holds for writing.
    /// A store whose folder cannot be written (a read-only mount): WAL readers need a -shm file SQLite cannot
    /// create there, so such a store is opened immutable, which is exact only when no -wal with committed pages
    /// is left beside it; then it is refused with a clear reason (found by the fault suite, issue 7).
    private static func onReadOnlyMedia(_ path: String) throws -> Bool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(directory, W_OK) != 0 else { return false }
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0
        if wal > 0 {
            throw StoreError.notWritable(path: path, reason: "it is on read-only media with an un-checkpointed "
                + "\(path)-wal of \(wal) bytes; copy the store and its -wal to a writable folder to read it")
        }
        return true
    }

    public init(path: String, readOnly: Bool = false, options: StoreOptions = .init()) throws {
        self.path = path
        self.readOnly = readOnly
        decodeThreads = max(1, options.decodeThreads ?? ProcessInfo.processInfo.activeProcessorCount)
        let fileManager = FileManager.default
        let exists = fileManager.fileExists(atPath: path)
        if readOnly && !exists { throw StoreError.noSuchStore(path: path) }
        if exists && !Schema.looksLikeSQLite(path: path) { throw StoreError.notSQLite(path: path) }
        if !readOnly {
            let directory = (URL(fileURLWithPath: path).deletingLastPathComponent().path)
            if !fileManager.fileExists(atPath: directory) {
                throw StoreError.notWritable(path: path, reason: "directory \(directory) does not exist")
            }
            if access(directory, W_OK) != 0 {
                throw StoreError.notWritable(path: path, reason: "directory \(directory) is not writable (the store "
                    + "needs its -wal and -shm files beside it)")
            }
            if exists && access(path, W_OK) != 0 {
                throw StoreError.notWritable(path: path, reason: "the file is not writable")
            }
        }
        writerLock = (options.exclusiveWriter && !readOnly) ? try WriterLock(storePath: path) : nil

        db = try SQLiteDatabase(path: path, readOnly: readOnly, create: !readOnly,
                                immutable: readOnly && (try Self.onReadOnlyMedia(path)))
        try db.execute("PRAGMA busy_timeout = \(options.busyTimeoutMilliseconds)")
        let kind: Schema.Kind
        do {
            kind = try Schema.classify(db)
        } catch let StoreError.sqlite(_, code, _, _) where code & 0xFF == SQLITE_NOTADB {
            throw StoreError.notSQLite(path: path)
        }
        var found = 0
        switch kind {
        case .foreign(let details): throw StoreError.foreignDatabase(path: path, details: details)
        case .empty: found = 0
        case .store(let version): found = version
        }
        if found > Schema.version {
            throw StoreError.newerSchema(path: path, found: found, supported: Schema.version)
        }
        if !readOnly {
            // WAL before the schema is created: a writer killed while creating the store must not leave a hot
            // rollback journal, which read-only openers (`score`, `store verify`) cannot roll back ("attempt to
            // write a readonly database", SQLite 776). Only after the checks above: never on a foreign database.
            try db.execute("PRAGMA journal_mode = WAL")
        }
        if found < Schema.version {
            if readOnly {
                if found == 0 { throw StoreError.foreignDatabase(path: path, details: "an empty SQLite database") }
                throw StoreError.olderSchema(path: path, found: found, supported: Schema.version)
            }
            let hidden = options.hiddenStates ?? StoreOptions.defaultHiddenCodec
            let router = options.routerLogits ?? StoreOptions.defaultRouterCodec
            var meta = found == 0 ? Self.metaEntries(hidden: hidden, router: router) : [:]
            meta["created_by"] = found == 0 ? "moee" : nil
            try Schema.migrate(db, from: found, meta: meta)
        }
        if !readOnly {
            // WAL: readers never block the writer; NORMAL sync is durable against a killed process (the WAL
            // is in the OS cache) and never corrupts on power loss (it may lose the last transactions there).
            try db.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
        }
        try db.execute("PRAGMA cache_size = -65536")  // 64 MB: interior B-tree pages of big stores stay cached

        let meta = try Self.readMeta(db)
        hiddenCodec = try Self.codec(meta, kind: "hidden_states", path: path, requested: options.hiddenStates)
        routerCodec = try Self.codec(meta, kind: "router_logits", path: path, requested: options.routerLogits)
    }

    // MARK: - Identities

    /// Registers a model (idempotent) and returns its id in this file.
    public func register(_ model: ModelIdentity) throws -> ModelID {
        defer { finishStatements() }
        let find = try statement("SELECT id FROM models WHERE name = ? AND variant = ? AND fingerprint = ?")
        try find.bind(1, model.name)
        try find.bind(2, model.variant)
        try find.bind(3, model.fingerprint)
        if try find.step() { return ModelID(rawValue: find.int64(0)) }
        try requireWritable()
        let insert = try statement("INSERT INTO models(name, variant, fingerprint, architecture_json) VALUES (?, ?, ?, ?)")
        try insert.bind(1, model.name)
        try insert.bind(2, model.variant)
        try insert.bind(3, model.fingerprint)
        try insert.bind(4, model.architectureJSON)
        try insert.run()
        return ModelID(rawValue: db.lastInsertRowID)
    }

    /// Registers a prompt (idempotent) and returns its id in this file.
    public func register(_ prompt: PromptIdentity) throws -> PromptID {
        defer { finishStatements() }
        let find = try statement("SELECT id FROM prompts WHERE name = ? AND specification = ?")
        try find.bind(1, prompt.name)
        try find.bind(2, prompt.specification)
        if try find.step() { return PromptID(rawValue: find.int64(0)) }
        try requireWritable()
        let insert = try statement("INSERT INTO prompts(name, specification) VALUES (?, ?)")
        try insert.bind(1, prompt.name)
        try insert.bind(2, prompt.specification)
        try insert.run()
        return PromptID(rawValue: db.lastInsertRowID)
    }

    /// Every registered model, with its tensor shape once it has records.
    public func models() throws -> [StoredModel] {
        defer { finishStatements() }
        let query = try statement("""
            SELECT id, name, variant, fingerprint, architecture_json, hidden_entries, hidden_size,
                   router_layers_json, experts FROM models ORDER BY id
            """)
        var result: [StoredModel] = []
        while try query.step() {
            let identity = ModelIdentity(name: query.text(1), variant: query.text(2), fingerprint: query.text(3),
                                         architectureJSON: query.text(4))
            result.append(StoredModel(id: ModelID(rawValue: query.int64(0)), identity: identity,
                                      shape: try Self.shape(from: query, firstColumn: 5, path: path)))
        }
        return result
    }

    /// Every registered prompt.
    public func prompts() throws -> [StoredPrompt] {
        defer { finishStatements() }
        let query = try statement("SELECT id, name, specification FROM prompts ORDER BY id")
        var result: [StoredPrompt] = []
        while try query.step() {
            result.append(StoredPrompt(id: PromptID(rawValue: query.int64(0)),
                                       identity: PromptIdentity(name: query.text(1), specification: query.text(2))))
        }
        return result
    }

    /// Number of records, optionally of one model and/or prompt.
    public func recordCount(model: ModelID? = nil, prompt: PromptID? = nil) throws -> Int {
        defer { finishStatements() }
        let query = try statement("""
            SELECT count(*) FROM records WHERE (?1 IS NULL OR model_id = ?1) AND (?2 IS NULL OR prompt_id = ?2)
            """)
        if let model { try query.bind(1, model.rawValue) }
        if let prompt { try query.bind(2, prompt.rawValue) }
        _ = try query.step()
        return query.int(0)
    }

    // MARK: - Stage one

    /// The texts of `texts` that have no record for (model, prompt): input order kept, duplicates dropped.
    public func missingTexts(model: ModelID, prompt: PromptID, texts: [String]) throws -> [String] {
        defer { finishStatements() }
        return try snapshot { try missingTextsInSnapshot(model: model, prompt: prompt, texts: texts) }
    }

    /// Stores `records` for (model, prompt) in ONE transaction: all of them or none. A record already present
    /// is replaced. Every record must have both poolings and the model's tensor shape (the first record of a
    /// model sets it).
    public func put(_ records: [PooledRecord], model: ModelID, prompt: PromptID) throws {
        defer { finishStatements() }
        try requireWritable()
        guard !records.isEmpty else { return }
        let insertRecord = try statement("""
            INSERT OR REPLACE INTO records(model_id, prompt_id, text_id, token_count, truncated) VALUES (?, ?, ?, ?, ?)
            """)
        let insertHidden = try statement("""
            INSERT OR REPLACE INTO hidden_states(model_id, prompt_id, pooling, layer, text_id, tensor)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        let insertRouter = try statement("""
            INSERT OR REPLACE INTO router_logits(model_id, prompt_id, pooling, text_id, tensor) VALUES (?, ?, ?, ?, ?)
            """)
        do {
            try db.transaction {
                var shape = try modelShape(model)
                for record in records {
                    try validate(record)
                    if let shape, shape != record.shape {
                        throw StoreError.invalidRecord(path: path, text: record.text, reason: "its shape (\(record.shape)) "
                            + "differs from the shape of the model's records (\(shape))")
                    }
                    if shape == nil {
                        try setModelShape(model, record.shape)
                        shape = record.shape
                    }
                    let textID = try textID(of: record.text, create: true) ?? -1
                    insertRecord.reset()
                    try insertRecord.bind(1, model.rawValue)
                    try insertRecord.bind(2, prompt.rawValue)
                    try insertRecord.bind(3, textID)
                    try insertRecord.bind(4, record.tokenCount)
                    try insertRecord.bind(5, record.truncated ? 1 : 0)
                    try insertRecord.run()
                    for pooling in Pooling.allCases {
                        try record.hiddenStates[pooling, default: []].withUnsafeBufferPointer { all in
                            for layer in 0..<record.hiddenLayers {
                                let slice = UnsafeBufferPointer(rebasing: all[(layer * record.hiddenSize)..<((layer + 1) * record.hiddenSize)])
                                let blob = try encode(slice, shape: [record.hiddenSize], with: hiddenEncoder, text: record.text)
                                insertHidden.reset()
                                try insertHidden.bind(1, model.rawValue)
                                try insertHidden.bind(2, prompt.rawValue)
                                try insertHidden.bind(3, pooling.rawValue)
                                try insertHidden.bind(4, layer)
                                try insertHidden.bind(5, textID)
                                try insertHidden.bindNoCopy(6, blob)
                                try insertHidden.run()
                            }
                        }
                        try record.routerLogits[pooling, default: []].withUnsafeBufferPointer { all in
                            let blob = try encode(all, shape: [record.routerLayers.count, record.experts],
                                                  with: routerEncoder, text: record.text)
                            insertRouter.reset()
                            try insertRouter.bind(1, model.rawValue)
                            try insertRouter.bind(2, prompt.rawValue)
                            try insertRouter.bind(3, pooling.rawValue)
                            try insertRouter.bind(4, textID)
                            try insertRouter.bindNoCopy(5, blob)
                            try insertRouter.run()
                        }
                    }
                }
            }
        } catch {
            shapes[model] = nil  // the shape may have been set inside the rolled-back transaction
            insertHidden.reset()
            insertRouter.reset()
            throw error
        }
        insertHidden.reset()  // drop the no-copy blob bindings before the encoder's buffer changes
        insertRouter.reset()
    }

    private func encode(_ values: UnsafeBufferPointer<Float>, shape: [Int], with encoder: TensorEncoder,
                        text: String) throws -> UnsafeRawBufferPointer {
        do {
            return try encoder.encode(values, shape: shape)
        } catch let error as TensorCodecError {
            throw StoreError.invalidRecord(path: path, text: text, reason: error.description)
        }
    }

    private func validate(_ record: PooledRecord) throws {
        func refuse(_ reason: String) -> StoreError { .invalidRecord(path: path, text: record.text, reason: reason) }
        guard record.hiddenLayers > 0, record.hiddenSize > 0 else {
            throw refuse("hiddenLayers and hiddenSize must be positive (\(record.hiddenLayers), \(record.hiddenSize))")
        }
        guard !record.routerLayers.isEmpty, record.experts > 0 else {
            throw refuse("a record needs router logits of at least one MoE layer and one expert")
        }
        guard record.tokenCount >= 0 else { throw refuse("negative token count \(record.tokenCount)") }
        for pooling in Pooling.allCases {
            let hidden = record.hiddenStates[pooling]?.count ?? 0
            guard hidden == record.hiddenLayers * record.hiddenSize else {
                throw refuse("\(pooling.rawValue)-pooled hidden states have \(hidden) values, "
                    + "expected \(record.hiddenLayers) x \(record.hiddenSize)")
            }
            let router = record.routerLogits[pooling]?.count ?? 0
            guard router == record.routerLayers.count * record.experts else {
                throw refuse("\(pooling.rawValue)-pooled router logits have \(router) values, "
                    + "expected \(record.routerLayers.count) x \(record.experts)")
            }
        }
    }

    // MARK: - Helpers shared by the extensions

    /// A cached prepared statement, reset and ready to bind.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let prepared = try db.prepare(sql)
        statements[sql] = prepared
        return prepared
    }

    /// Ends every cached statement's run, so the connection holds no read snapshot between calls (WAL readers
    /// must see new commits, and checkpoints must not wait for us). Bindings are kept; they are rebound before use.
    func finishStatements() {
        for statement in statements.values { statement.finish() }
    }

    /// Runs `body` in one read transaction (one consistent snapshot, no lock round trip per lookup).
    func snapshot<T>(_ body: () throws -> T) throws -> T {
        try db.readTransaction {
            defer { finishStatements() }
            return try body()
        }
    }

    /// Writes the WAL back into the database file and truncates it.
    public func checkpoint() throws {
        finishStatements()
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Forgets cached shapes and names (after a merge changed the tables underneath).
    func resetCaches() {
        shapes.removeAll()
        modelNames.removeAll()
        promptNames.removeAll()
        statements.removeAll()
        knownTextIDs.removeAll()
    }

    func requireWritable() throws {
        if readOnly { throw StoreError.readOnly(path: path) }
    }

    /// The id of `text`, inserting it when `create`; nil when absent and not created.
    func textID(of text: String, create: Bool) throws -> Int64? {
        let find = try statement("SELECT id FROM texts WHERE text = ?")
        try find.bind(1, text)
        if try find.step() { return find.int64(0) }
        guard create else { return nil }
        let insert = try statement("INSERT INTO texts(text) VALUES (?)")
        try insert.bind(1, text)
        try insert.run()
        return db.lastInsertRowID
    }

    /// The tensor shape of a model's records; nil before its first record. Throws for an unknown model.
    public func modelShape(_ model: ModelID) throws -> TensorShape? {
        if let cached = shapes[model] { return cached }
        let query = try statement("""
            SELECT hidden_entries, hidden_size, router_layers_json, experts FROM models WHERE id = ?
            """)
        try query.bind(1, model.rawValue)
        guard try query.step() else { throw StoreError.unknownModel(path: path, model: model.description) }
        let shape = try Self.shape(from: query, firstColumn: 0, path: path)
        shapes[model] = shape
        return shape
    }

    private func setModelShape(_ model: ModelID, _ shape: TensorShape) throws {
        let update = try statement("""
            UPDATE models SET hidden_entries = ?, hidden_size = ?, router_layers_json = ?, experts = ? WHERE id = ?
            """)
        try update.bind(1, shape.hiddenEntries)
        try update.bind(2, shape.hiddenSize)
        try update.bind(3, "[" + shape.routerLayers.map(String.init).joined(separator: ",") + "]")
        try update.bind(4, shape.experts)
        try update.bind(5, model.rawValue)
        try update.run()
        shapes[model] = shape
    }

    static func shape(from query: SQLiteStatement, firstColumn c: Int32, path: String) throws -> TensorShape? {
        guard !query.isNull(c) else { return nil }
        let json = query.text(c + 2)
        let inner = json.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        var layers: [Int] = []
        for item in inner.split(separator: ",") {
            guard let value = Int(item.trimmingCharacters(in: .whitespaces)) else {
                throw StoreError.foreignDatabase(path: path, details: "models.router_layers_json is not a list of integers: \(json)")
            }
            layers.append(value)
        }
        return TensorShape(hiddenEntries: query.int(c), hiddenSize: query.int(c + 1), routerLayers: layers,
                           experts: query.int(c + 3))
    }

    /// "name (variant)" of a model, for messages.
    func modelName(_ model: ModelID) -> String {
        if let cached = modelNames[model] { return cached }
        var name = model.description
        if let query = try? statement("SELECT name, variant FROM models WHERE id = ?"),
           (try? query.bind(1, model.rawValue)) != nil, (try? query.step()) == true {
            name = "\(query.text(0)) (\(query.text(1)))"
        }
        modelNames[model] = name
        return name
    }

    /// The name of a prompt, for messages.
    func promptName(_ prompt: PromptID) -> String {
        if let cached = promptNames[prompt] { return cached }
        var name = prompt.description
        if let query = try? statement("SELECT name FROM prompts WHERE id = ?"),
           (try? query.bind(1, prompt.rawValue)) != nil, (try? query.step()) == true {
            name = query.text(0)
        }
        promptNames[prompt] = name
        return name
    }

    // MARK: - Codec bookkeeping in `meta`

    static func metaEntries(hidden: TensorCodec, router: TensorCodec) -> [String: String] {
        var entries: [String: String] = [:]
        for (kind, codec) in [("hidden_states", hidden), ("router_logits", router)] {
            entries["\(kind)_dtype"] = codec.dtype.description
            entries["\(kind)_shuffle"] = codec.shuffle ? "1" : "0"
            entries["\(kind)_lz4"] = codec.compress ? "1" : "0"
        }
        return entries
    }

    static func readMeta(_ db: SQLiteDatabase) throws -> [String: String] {
        let query = try db.prepare("SELECT key, value FROM meta")
        var meta: [String: String] = [:]
        while try query.step() { meta[query.text(0)] = query.text(1) }
        return meta
    }

    private static func codec(_ meta: [String: String], kind: String, path: String,
                              requested: TensorCodec?) throws -> TensorCodec {
        guard let name = meta["\(kind)_dtype"], let dtype = TensorDType(name: name) else {
            throw StoreError.foreignDatabase(path: path, details: "meta has no valid \(kind)_dtype")
        }
        let stored = TensorCodec(dtype: dtype, shuffle: meta["\(kind)_shuffle"] == "1", compress: meta["\(kind)_lz4"] != "0")
        if let requested, requested != stored {
            throw StoreError.codecMismatch(path: path, kind: kind, stored: describe(stored), requested: describe(requested))
        }
        return stored
    }

    static func describe(_ codec: TensorCodec) -> String {
        "\(codec.dtype)\(codec.shuffle ? "+shuffle" : "")\(codec.compress ? "+LZ4" : " uncompressed")"
    }
}
