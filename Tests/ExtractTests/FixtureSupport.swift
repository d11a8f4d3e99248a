import Foundation
import TestSupport
@testable import Extract

/// The reference fixtures (Tests/Fixtures/models: the shared ones vendored, and this project's own) and helpers to compare against them.
enum Fixtures {
    /// The shared reference fixtures (`../shared/fixtures/models`, vendored byte for byte).
    static let sharedNames = ["olmoe-tiny", "qwen2moe-tiny", "mixtral-tiny", "qwen3moe-tiny", "deepseekmoe-tiny"]
    /// Every fixture: the shared ones and those this project made with transformers
    /// (`scripts/reference/make_moe_fixture.py`, same format).
    static let names = sharedNames + ["granitemoe-tiny", "ernie4_5_moe-tiny", "deepseek_v2-tiny", "deepseek_v3-tiny",
                                      "gpt_oss-tiny", "gpt_oss-mxfp4-tiny"]

    static func url(_ name: String) -> URL { FixtureModels.url(name) }

    /// Rows of a 2-D I64 tensor.
    static func matrix(_ file: SafetensorsFile, _ name: String) throws -> [[Int]] {
        let info = try file.info(name)
        let values = try file.integers(name)
        let columns = info.shape.last ?? 0
        return stride(from: 0, to: values.count, by: max(columns, 1)).map { Array(values[$0..<($0 + columns)]) }
    }

    /// `max|ours - ref|` over the rows `rows` of a `[count, width]` slab, and `max|ref|`.
    static func delta(_ ours: ArraySlice<Float>, _ reference: ArraySlice<Float>) -> (delta: Float, scale: Float) {
        var delta: Float = 0, scale: Float = 0
        for (a, b) in zip(ours, reference) {
            delta = max(delta, abs(a - b))
            scale = max(scale, abs(b))
        }
        return (delta, scale)
    }

    /// The SPEC §2 bar: `max|ours - ref| <= 1e-4 * max(1, max|ref|)`.
    static func withinBar(_ d: (delta: Float, scale: Float)) -> Bool { d.delta <= 1e-4 * max(1, d.scale) }

    /// The top-k expert set of one router-logit row (top-k of logits = top-k of softmax).
    static func experts(_ row: ArraySlice<Float>, k: Int) -> [Int] { topK(Array(row), k: k).sorted() }
}
