import Foundation
@testable import Score

/// Arbitrary bytes as the test split of a real task folder. The first byte picks the task (scripts/fuzz.sh
/// copies a few tasks of different types, keeping their task.json and other splits); loading must throw a
/// ScoreError or give a task.
let fuzzTaskFolders: [URL] = {
    let root = FuzzScratch.folder("MOEE_FUZZ_TASKS")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path))?.sorted() ?? []
    guard !names.isEmpty else { exit(2) }
    // Each process works on its own copies, so parallel fuzz jobs do not share files.
    return names.map { name in
        let copy = FuzzScratch.directory.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: copy)
        try? FileManager.default.copyItem(at: root.appendingPathComponent(name), to: copy)
        return copy
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaskJSONL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(fuzzInput: data, size)
    guard let selector = bytes.first else { return 0 }
    let folder = fuzzTaskFolders[Int(selector) % fuzzTaskFolders.count]
    _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("test.jsonl").path,
                                   contents: Data(bytes.dropFirst()))
    guard let task = try? ScoreTask.load(from: folder) else { return 0 }
    _ = task.name
    return 0
}
