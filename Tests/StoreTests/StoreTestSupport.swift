import Foundation
@testable import Store

/// A fresh temporary directory per test, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("moee-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Small records for API tests: 4 hidden-state entries of 8, router logits of 3 MoE layers x 4 experts.
let tinyGenerator = SyntheticRecords(hiddenLayers: 4, hiddenSize: 8, routerLayers: [1, 2, 3], experts: 4, seed: 5)

/// Opens a store with lossless codecs, so values read back must equal values written, bit for bit.
func losslessStore(_ path: String) throws -> EmbeddingStore {
    try EmbeddingStore(path: path, options: StoreOptions(hiddenStates: TensorCodec(dtype: .f32, shuffle: true),
                                                         routerLogits: TensorCodec(dtype: .f32, shuffle: false)))
}

/// Runs raw SQL on a store file, for tests that damage it on purpose.
func rawSQL(_ path: String, _ sql: String) throws {
    try SQLiteDatabase(path: path, readOnly: false, create: false).execute(sql)
}

/// Flips one byte of one blob in `table`, chosen by a WHERE clause.
func corruptBlob(_ path: String, table: String, where condition: String, byteFromEnd: Int = 3) throws {
    let db = try SQLiteDatabase(path: path, readOnly: false, create: false)
    let select = try db.prepare("SELECT tensor FROM \(table) WHERE \(condition) LIMIT 1")
    guard try select.step() else { throw StoreError.noSuchStore(path: "no row for \(condition)") }
    var bytes = Array(select.blob(0))
    select.reset()
    bytes[bytes.count - byteFromEnd] ^= 0x40
    let update = try db.prepare("UPDATE \(table) SET tensor = ? WHERE \(condition)")
    try bytes.withUnsafeBytes { buffer in
        try update.bindNoCopy(1, buffer)
        try update.run()
    }
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
