import Foundation
import Testing
@testable import Store

@Suite struct SchemaTests {
    @Test func aNewStoreHasTheDocumentedTablesAndVersion() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        _ = try EmbeddingStore(path: path)
        let db = try SQLiteDatabase(path: path, readOnly: true, create: false)
        #expect(try db.scalarInt("PRAGMA user_version") == Int64(Schema.version))
        #expect(try db.scalarInt("PRAGMA application_id") == Schema.applicationID)
        #expect(try db.scalarText("SELECT value FROM meta WHERE key = 'schema_version'") == "\(Schema.version)")
        #expect(try db.scalarText("PRAGMA journal_mode") == "wal")
        let tables = try db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0)) }
        #expect(names == ["hidden_states", "meta", "models", "prompts", "records", "router_logits", "texts"])
    }

    @Test func aNewerSchemaIsRefusedAndLeftAlone() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("a.sqlite")
        _ = try EmbeddingStore(path: path)
        try rawSQL(path, "PRAGMA user_version = 99")
        for readOnly in [false, true] {
            #expect { try EmbeddingStore(path: path, readOnly: readOnly) } throws: {
                "\($0)".contains(path) && "\($0)".contains("schema version 99 is newer")
            }
        }
        #expect(try SQLiteDatabase(path: path, readOnly: true, create: false).scalarInt("PRAGMA user_version") == 99)
    }

    @Test func aFileThatIsNotSQLiteIsRefusedUntouched() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("notes.txt")
        let content = Data("these are my notes, not a database\n".utf8)
        try content.write(to: URL(fileURLWithPath: path))
        for readOnly in [false, true] {
            #expect { try EmbeddingStore(path: path, readOnly: readOnly) } throws: {
                "\($0)".contains(path) && "\($0)".contains("not a SQLite database")
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aSQLiteFileOfAnotherProgramIsRefusedUntouched() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("other.sqlite")
        try rawSQLCreating(path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices VALUES (1, 9.5)")
        #expect { try EmbeddingStore(path: path) } throws: {
            "\($0)".contains(path) && "\($0)".contains("another program") && "\($0)".contains("invoices")
        }
        let db = try SQLiteDatabase(path: path, readOnly: true, create: false)
        #expect(try db.scalarInt("SELECT count(*) FROM invoices") == 1)
        #expect(try db.scalarInt("SELECT count(*) FROM sqlite_schema") == 1)
    }

    @Test func anUnwritablePlaceIsReportedWithThePath() throws {
        let directory = try TemporaryDirectory()
        let inMissingDirectory = directory.path("no/such/dir/a.sqlite")
        #expect { try EmbeddingStore(path: inMissingDirectory) } throws: {
            "\($0)".contains(inMissingDirectory) && "\($0)".contains("does not exist")
        }
        let file = directory.path("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect { try EmbeddingStore(path: file + "/a.sqlite") } throws: { "\($0)".contains(file) }
        #expect { try EmbeddingStore(path: directory.path("absent.sqlite"), readOnly: true) } throws: {
            "\($0)".contains("no such store")
        }
        if getuid() != 0 {  // root may write anywhere
            let locked = directory.path("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o500])
            #expect { try EmbeddingStore(path: locked + "/a.sqlite") } throws: { "\($0)".contains("not writable") }
        }
    }
}

/// Creates a plain SQLite file (not a store) with `sql`.
func rawSQLCreating(_ path: String, _ sql: String) throws {
    try SQLiteDatabase(path: path, readOnly: false, create: true).execute(sql)
}
