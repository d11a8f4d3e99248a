import Foundation
import Store

/// `pipeline store verify DB`: decodes every blob; exit status 1 listing the bad keys.
struct StoreVerifyCommand: Command {
    static let path = ["store", "verify"]
    static let abstract = "decode every blob of a store; exit 1 listing damaged keys"
    static let help = """
        Usage: pipeline store verify DB

        Runs SQLite's quick_check on DB, decodes every tensor blob (checksum, shape, LZ4), and checks that every
        record has all its tensors. Prints "ok" and the counts, or every problem with its key
        (model, prompt, text, tensor kind, pooling, layer) and exits with status 1. Opens DB read-only.
        """

    let database: String

    init(arguments: inout Arguments) throws {
        database = try arguments.requiredPositional("DB")
        try arguments.finish()
    }

    func run() throws {
        // Progress on a terminal only: "verify: N blobs decoded", rewritten in place.
        let showProgress = isatty(STDERR_FILENO) != 0
        let report = try EmbeddingStore(path: database, readOnly: true).verify { checked in
            if showProgress { FileHandle.standardError.write(Data("\rverify: \(checked) blobs decoded".utf8)) }
        }
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        guard report.isOK else {
            if report.sqliteCheck != "ok" { print("sqlite quick_check: \(report.sqliteCheck)") }
            for problem in report.problems { print(problem) }
            throw ExitStatus(code: 1, description: "\(database): \(report.problems.count) problems in \(report.records) "
                + "records (\(report.blobsChecked) blobs decoded), sqlite quick_check: \(report.sqliteCheck)")
        }
        print("ok: \(report.records) records, \(report.blobsChecked) blobs decoded, sqlite quick_check ok")
    }
}
