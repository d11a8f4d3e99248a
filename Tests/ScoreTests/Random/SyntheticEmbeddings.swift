import Foundation
import TestSupport
@testable import Score

/// The fixed embeddings of the Classification / Clustering parity tests, made exactly as
/// scripts/reference/make_ml_parity.py makes them (NumPy RandomState streams, so no vectors are stored):
/// a centroid per label (labels sorted by code point) from RandomState(1234), a noise vector per record from
/// RandomState(5678) in stream order, and each text gets float32(centroid + scale * noise) of its first record.
struct SyntheticEmbeddings {
    let dimension: Int
    private var table: [[UInt8]: [Float]] = [:]

    init(records: [(text: String, label: String)], scale: Double, dimension: Int, centroidSeed: UInt32 = 1234,
         noiseSeed: UInt32 = 5678) {
        self.dimension = dimension
        let labels = Set(records.map(\.label)).sorted {
            $0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.unicodeScalars.map(\.value))
        }
        var centroidStream = NumPyRandomState(seed: centroidSeed)
        var centroids = [String: [Double]]()
        for label in labels { centroids[label] = centroidStream.randomSample(count: dimension).map { $0 * 2.0 - 1.0 } }
        var noiseStream = NumPyRandomState(seed: noiseSeed)
        for record in records {
            let noise = noiseStream.randomSample(count: dimension).map { $0 * 2.0 - 1.0 }
            let key = Array(record.text.utf8)   // Python compares code points, not canonical equivalence
            guard table[key] == nil, let centroid = centroids[record.label] else { continue }
            table[key] = (0..<dimension).map { Float(centroid[$0] + scale * noise[$0]) }
        }
    }

    func matrix(_ texts: [String]) -> EmbeddingMatrix {
        EmbeddingMatrix(stacking: texts.map { table[Array($0.utf8)] ?? [] }, dimension: dimension)
    }
}

/// Records of the real task files in ../shared/data/mteb (labels as strings, integers printed as integers).
enum SharedTaskFile {
    static func lines(_ task: String, _ split: String) throws -> [[String: Any]] {
        let url = SharedData.url("data/mteb/\(task)/\(split).jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CocoaError(.fileReadCorruptFile)
            }
            return object
        }
    }

    static func label(_ value: Any?) -> String {
        if let string = value as? String { return string }
        if let number = value as? Int { return String(number) }
        return "\(value ?? "")"
    }

    /// Classification split: (text, label) per record.
    static func classification(_ task: String, _ split: String) throws -> [(text: String, label: String)] {
        try lines(task, split).map { (($0["text"] as? String) ?? "", label($0["label"])) }
    }

    /// Clustering subsets: per line, (sentences, labels).
    static func clustering(_ task: String) throws -> [(sentences: [String], labels: [String])] {
        try lines(task, "test").map { line in
            let sentences = (line["sentences"] as? [String]) ?? []
            let labels = ((line["labels"] as? [Any]) ?? []).map { label($0) }
            return (sentences, labels)
        }
    }
}
