// A thin wrapper over the SQLite C API: one final class owns the connection, one owns each prepared statement,
// and every return code other than success becomes a `StoreError.sqlite` carrying SQLite's message and the file.
import CSQLite
import Foundation

/// One SQLite connection. Not thread-safe: use it from one thread at a time (the store opens it NOMUTEX).
final class SQLiteDatabase {
    let path: String
    private(set) var handle: OpaquePointer?

    /// Opens (and with `create`, creates) the database file at `path`; `immutable` for read-only media
    /// (SQLite then takes no locks and needs no -shm file).
    init(path: String, readOnly: Bool, create: Bool, immutable: Bool = false) throws {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        flags |= readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        var db: OpaquePointer?
        let name = immutable ? URL(fileURLWithPath: path).absoluteString + "?immutable=1" : path
        let code = sqlite3_open_v2(name, &db, flags, nil)
        if code != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw StoreError.sqlite(path: path, code: code, message: message, context: "opening the database")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// The last error message of this connection.
    var lastMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed" }

    /// Turns a return code into an error unless it is one of `accepted`.
    @discardableResult
    func check(_ code: Int32, _ context: @autoclosure () -> String, accepted: Set<Int32> = [SQLITE_OK]) throws -> Int32 {
        if accepted.contains(code) { return code }
        throw StoreError.sqlite(path: path, code: code, message: lastMessage, context: context())
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(errorMessage)
            throw StoreError.sqlite(path: path, code: code, message: message, context: sql)
        }
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil), sql)
        guard let statement else {
            throw StoreError.sqlite(path: path, code: SQLITE_MISUSE, message: "empty statement", context: sql)
        }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// The first column of the first row of `sql` as an integer, nil when there is no row or it is NULL.
    func scalarInt(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int64(0)
    }

    /// The first column of the first row of `sql` as text.
    func scalarText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.text(0)
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one read transaction (one snapshot, and no lock round trip per statement); joins the
    /// transaction already open, if any.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        guard sqlite3_get_autocommit(handle) != 0 else { return try body() }
        try execute("BEGIN")
        defer {
            // A read transaction changes nothing: if COMMIT cannot end it, ROLLBACK must.
            if (try? execute("COMMIT")) == nil { try? execute("ROLLBACK") }
        }
        return try body()
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// One prepared statement, reused across calls: `reset()`, bind, `step()` until false.
final class SQLiteStatement {
    unowned let database: SQLiteDatabase
    let handle: OpaquePointer
    let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Clears the previous run and its bindings.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Ends the current run (releasing its read snapshot) but keeps the bindings.
    func finish() { sqlite3_reset(handle) }

    func bind(_ index: Int32, _ value: Int64) throws {
        try database.check(sqlite3_bind_int64(handle, index, value), "binding parameter \(index) of \(sql)")
    }

    func bind(_ index: Int32, _ value: Int) throws { try bind(index, Int64(value)) }

    /// Binds text (copied by SQLite, so the Swift string may go away before `step`).
    func bind(_ index: Int32, _ value: String) throws {
        let code = value.utf8.withContiguousStorageIfAvailable { buffer in
            sqlite3_bind_text(handle, index, buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                              Int32(buffer.count), csqlite_transient())
        } ?? sqlite3_bind_text(handle, index, value, -1, csqlite_transient())
        try database.check(code, "binding parameter \(index) of \(sql)")
    }

    /// Binds a blob without copying: the caller keeps `bytes` alive and unchanged until the statement is reset.
    func bindNoCopy(_ index: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        try database.check(sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                                              Int32(bytes.count), nil),
                           "binding parameter \(index) of \(sql)")
    }

    /// Advances to the next row; false when the statement is done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        throw StoreError.sqlite(path: database.path, code: code, message: database.lastMessage, context: sql)
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The UTF-8 bytes of a text column, valid only until the next `step`/`reset`.
    func textBytes(_ column: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_column_text(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return UnsafeRawBufferPointer(start: count > 0 ? UnsafeRawPointer(pointer) : nil, count: count)
    }

    /// The blob of `column`, valid only until the next `step`/`reset`.
    func blob(_ column: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return UnsafeRawBufferPointer(start: count > 0 ? pointer : nil, count: count)
    }
}
