import Foundation
@testable import Score

/// Arbitrary bytes as a `--embeddings FILE.jsonl`: must throw a ScoreError or give a consistent table.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmbeddingsJSONL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let url = FuzzScratch.write(UnsafeRawBufferPointer(fuzzInput: data, size), name: "embeddings.jsonl")
    guard let table = try? EmbeddingsFile.read(url) else { return 0 }
    precondition(table.matrix.rows >= 1 && table.matrix.dimension >= 1, "empty table accepted")
    return 0
}
