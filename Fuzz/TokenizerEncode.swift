import Foundation
@testable import Extract

/// Arbitrary bytes (decoded as UTF-8 with replacement, as the CLI does for invalid input) through a real
/// tokenizer loaded once: encode must not crash, produce ids inside the vocabulary, and decode back.
let fuzzTokenizer: Tokenizer = {
    do { return try Tokenizer(directory: FuzzScratch.folder("MOEE_FUZZ_TOKENIZER")) } catch {
        FileHandle.standardError.write(Data("fuzz harness: \(error)\n".utf8))
        exit(2)
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerEncode(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeRawBufferPointer(fuzzInput: data, size), as: UTF8.self)
    for addSpecial in [true, false] {
        let ids = fuzzTokenizer.encode(text, addSpecialTokens: addSpecial)
        precondition(ids.allSatisfy { $0 >= 0 && $0 < fuzzTokenizer.vocabularySize }, "id outside the vocabulary")
        _ = try? fuzzTokenizer.decode(ids)
    }
    return 0
}
