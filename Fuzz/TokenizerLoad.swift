import Foundation
@testable import Extract

/// Arbitrary bytes as tokenizer.json: parsed by the tokenizer's own JSON reader and assembled into a
/// tokenizer, which must either throw a TokenizerError or encode a few texts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerLoad(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let url = FuzzScratch.write(UnsafeRawBufferPointer(fuzzInput: data, size), name: "tokenizer.json")
    guard let root = try? JSONNode.load(url),
          let tokenizer = try? Tokenizer(tokenizer: root, config: nil, specialTokensMap: nil) else { return 0 }
    for text in ["", "Hello world", " a\u{0}b ", "héllo 日本語 🙂", "<unk></s>"] {
        let ids = tokenizer.encode(text)
        _ = try? tokenizer.decode(ids)
    }
    return 0
}
