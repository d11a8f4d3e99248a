// The store's tables, how a file is recognised as a moee store, and how older schemas are migrated.
import CSQLite
import Foundation

enum Schema {
    /// The schema this build writes. Bump it and add a migration step for every change.
    static let version = 1
    /// `PRAGMA application_id` of a moee store: the ASCII bytes "moee".
    static let applicationID: Int64 = 0x6D6F_6565
    static let applicationName = "moee-embedding-store"

    /// Tensor rows are ~2-8 KB; 64 KB pages keep each one inside its B-tree leaf (no overflow chains), so a layer
    /// of many texts is read from a run of consecutive leaf pages.
    static let pageSize = 65536

    /// Version 1, as `sqlite3 DB .schema` shows it.
    static let create = """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE models (
            id                 INTEGER PRIMARY KEY,
            name               TEXT NOT NULL,
            variant            TEXT NOT NULL,   -- dtype / quantization the forward pass ran in
            fingerprint        TEXT NOT NULL,   -- of config and weights: a different checkpoint is a different model
            architecture_json  TEXT NOT NULL,
            hidden_entries     INTEGER,         -- L+1 hidden-state entries per record (set by the first record)
            hidden_size        INTEGER,
            router_layers_json TEXT,            -- decoder-layer index of each router entry, e.g. [0,1,...,15]
            experts            INTEGER,
            UNIQUE (name, variant, fingerprint)
        );
        CREATE TABLE prompts (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL,
            specification TEXT NOT NULL,        -- canonical rendering spec: template, instruction, preprocessing
            UNIQUE (name, specification)
        );
        CREATE TABLE texts (
            id   INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        );
        CREATE TABLE records (
            model_id    INTEGER NOT NULL REFERENCES models(id),
            prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
            text_id     INTEGER NOT NULL REFERENCES texts(id),
            token_count INTEGER NOT NULL,
            truncated   INTEGER NOT NULL CHECK (truncated IN (0, 1)),
            created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (model_id, prompt_id, text_id)
        ) WITHOUT ROWID;
        -- One row per (record, pooling, hidden-state entry); keyed so that one layer of many texts is contiguous.
        CREATE TABLE hidden_states (
            model_id  INTEGER NOT NULL,
            prompt_id INTEGER NOT NULL,
            pooling   TEXT NOT NULL,            -- 'last' (last valid token) or 'mean' (over valid tokens)
            layer     INTEGER NOT NULL,         -- 0 = embedding output, i = decoder layer i, last = final norm
            text_id   INTEGER NOT NULL,
            tensor    BLOB NOT NULL,            -- encoded [hidden_size] (see TensorCodec.swift)
            PRIMARY KEY (model_id, prompt_id, pooling, layer, text_id)
        ) WITHOUT ROWID;
        -- One row per (record, pooling): the logits of every MoE layer, in layer order.
        CREATE TABLE router_logits (
            model_id  INTEGER NOT NULL,
            prompt_id INTEGER NOT NULL,
            pooling   TEXT NOT NULL,
            text_id   INTEGER NOT NULL,
            tensor    BLOB NOT NULL,            -- encoded [moe_layers, experts]
            PRIMARY KEY (model_id, prompt_id, pooling, text_id)
        ) WITHOUT ROWID;
        CREATE VIEW record_overview AS
            SELECT m.name AS model, m.variant, p.name AS prompt, t.text, r.token_count, r.truncated, r.created_at
            FROM records r
            JOIN models m ON m.id = r.model_id
            JOIN prompts p ON p.id = r.prompt_id
            JOIN texts t ON t.id = r.text_id;
        """

    /// Steps from version `n` to `n + 1`, indexed by `n` (version 0 = an empty file). None beyond creation yet.
    static let migrations: [Int: @Sendable (SQLiteDatabase) throws -> Void] = [
        0: { db in try db.execute(create) },
    ]

    /// What an existing file is.
    enum Kind {
        case empty
        case store(version: Int)
        case foreign(details: String)
    }

    /// Whether the file starts with the SQLite header (an empty file counts as a new database).
    static func looksLikeSQLite(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return true }  // unreadable: SQLite will say
        defer { try? handle.close() }
        let head = handle.readData(ofLength: 16)
        return head.isEmpty || head == Data("SQLite format 3\0".utf8)
    }

    static func classify(_ db: SQLiteDatabase) throws -> Kind {
        let application = try db.scalarInt("PRAGMA application_id") ?? 0
        let version = try db.scalarInt("PRAGMA user_version") ?? 0
        if application == applicationID { return .store(version: Int(version)) }
        let tables = try db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0)) }
        if application == 0 && names.isEmpty { return .empty }
        let shown = names.prefix(6).joined(separator: ", ") + (names.count > 6 ? ", ..." : "")
        let hex = String(UInt32(truncatingIfNeeded: application), radix: 16)
        return .foreign(details: "application_id 0x\(hex), tables: \(names.isEmpty ? "none" : shown)")
    }

    /// Creates or migrates up to `version` in one transaction.
    static func migrate(_ db: SQLiteDatabase, from found: Int, meta: [String: String]) throws {
        if found == 0 {
            // Page size only takes effect before the first table exists and before WAL is switched on.
            try db.execute("PRAGMA page_size = \(pageSize)")
        }
        try db.transaction {
            for step in found..<version {
                guard let migration = migrations[step] else {
                    throw StoreError.olderSchema(path: db.path, found: found, supported: version)
                }
                try migration(db)
            }
            try db.execute("PRAGMA application_id = \(applicationID)")
            try db.execute("PRAGMA user_version = \(version)")
            let put = try db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")
            var entries = meta
            entries["application"] = applicationName
            entries["schema_version"] = String(version)
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
                put.reset()
                try put.bind(1, key)
                try put.bind(2, value)
                try put.run()
            }
        }
    }
}
