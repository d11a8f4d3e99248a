import Foundation

/// How far a quantized model's outputs are from the unquantized ones on the same padded batch (issue 6's bars):
/// per hidden state, the cosine of each real token's vector averaged over real tokens (and its minimum), and the
/// share of top-k experts the two runs have in common, per MoE layer and overall.
public struct QuantizationAccuracy: Sendable, Codable {
    /// Mean cosine over real tokens, one per hidden-state entry (0 = embeddings, L = final norm).
    public var meanCosine: [Double]
    /// Smallest cosine of any real token, one per hidden-state entry.
    public var minCosine: [Double]
    /// Top-k agreement per MoE layer (`routerLayers` order), and over all of them.
    public var layerAgreement: [Double]
    public var agreement: Double

    public var worstMeanCosine: Double { meanCosine.min() ?? 1 }

    enum CodingKeys: String, CodingKey {
        case meanCosine = "mean_cosine", minCosine = "min_cosine", layerAgreement = "layer_agreement", agreement
    }

    /// Compares `quantized` with `reference` (same batch, same model) on the tokens where `mask` is 1. `choose`
    /// gives the experts a router picks from one token's logits (router index, logits): `MoEModel.chosenExperts`
    /// for the router's own policy (bias, groups); by default the top-k of the logits.
    public init(reference: ForwardOutput, quantized: ForwardOutput, mask: [[Int]], topK k: Int,
                choose: ((Int, ArraySlice<Float>) -> [Int])? = nil) {
        let choose = choose ?? { _, logits in Extract.topK(Array(logits), k: k) }
        let b = reference.batchSize, t = reference.sequenceLength, h = reference.hiddenSize, e = reference.expertCount
        let real = (0..<b).flatMap { r in (0..<t).filter { mask[r][$0] == 1 }.map { r * t + $0 } }
        meanCosine = []
        minCosine = []
        for layer in 0..<reference.hiddenStateCount {
            let cosines = real.map { flat -> Double in
                let base = (layer * b * t + flat) * h
                return Self.cosine(quantized.hiddenStates[base..<(base + h)], reference.hiddenStates[base..<(base + h)])
            }
            meanCosine.append(cosines.reduce(0, +) / Double(max(1, cosines.count)))
            minCosine.append(cosines.min() ?? 1)
        }
        var shared = 0, total = 0
        layerAgreement = []
        for index in reference.routerLayers.indices {
            var layerShared = 0
            for flat in real {
                let base = (index * b * t + flat) * e
                let ours = Set(choose(index, quantized.routerLogits[base..<(base + e)]))
                let theirs = Set(choose(index, reference.routerLogits[base..<(base + e)]))
                layerShared += ours.intersection(theirs).count
            }
            layerAgreement.append(Double(layerShared) / Double(max(1, real.count * k)))
            shared += layerShared
            total += real.count * k
        }
        agreement = Double(shared) / Double(max(1, total))
    }

    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return na == 0 && nb == 0 ? 1 : dot / max(1e-30, (na * nb).squareRoot())
    }

    /// One line per hidden state, then the agreement.
    public var report: String {
        var lines = meanCosine.indices.map { String(format: "hidden state %d: mean cosine %.5f, min %.5f", $0, meanCosine[$0], minCosine[$0]) }
        lines.append("top-k agreement " + String(format: "%.4f", agreement) + " (by MoE layer: "
                     + layerAgreement.map { String(format: "%.3f", $0) }.joined(separator: ", ") + ")")
        return lines.joined(separator: "\n")
    }
}

extension QuantizationAccuracy {
    /// One quantized format against the unquantized model: accuracy and the weight bytes either way.
    public struct Measurement: Sendable, Codable {
        public var format: Quantization
        public var accuracy: QuantizationAccuracy
        /// Bytes of every weight the forward pass reads (embedding included), unquantized and quantized.
        public var referenceWeightBytes: Int
        public var weightBytes: Int
        /// The same without the embedding (read row by row: only the rows of tokens seen become resident).
        public var referenceBytesWithoutEmbedding: Int
        public var bytesWithoutEmbedding: Int
        public var loadSeconds: Double

        enum CodingKeys: String, CodingKey {
            case format, accuracy, referenceWeightBytes = "reference_weight_bytes", weightBytes = "weight_bytes"
            case referenceBytesWithoutEmbedding = "reference_bytes_without_embedding"
            case bytesWithoutEmbedding = "bytes_without_embedding", loadSeconds = "load_seconds"
        }
    }

    /// Runs `sequences` (left-padded into one batch) through the model in `directory` unquantized, then in each of
    /// `formats`, one model loaded at a time, and compares (`pipeline bench quantization`).
    public static func measure(directory: URL, sequences: [[Int]], formats: [Quantization], options: MoEModel.Options = .init(),
                               progress: ((String) -> Void)? = nil) throws -> [Measurement] {
        let width = sequences.map(\.count).max() ?? 0
        let ids = sequences.map { Array(repeating: 0, count: width - $0.count) + $0 }
        let mask = sequences.map { Array(repeating: 0, count: width - $0.count) + Array(repeating: 1, count: $0.count) }
        var plain = options
        plain.quantize = .none
        let (reference, referenceBytes, referenceEmbedding) = try {
            let model = try MoEModel.load(directory: directory, options: plain)
            progress?("unquantized: running \(sequences.count) sequences")
            return (try model.forward(inputIDs: ids, attentionMask: mask), model.weightBytes, model.embeddingBytes)
        }()
        return try formats.map { format in
            var quantized = options
            quantized.quantize = format
            let start = DispatchTime.now().uptimeNanoseconds
            let model = try MoEModel.load(directory: directory, options: quantized)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress?("\(format.rawValue): loaded in \(String(format: "%.1f", seconds)) s, running")
            let k = model.spec.layers.compactMap(\.moe).first?.topK ?? 1
            let accuracy = QuantizationAccuracy(reference: reference, quantized: try model.forward(inputIDs: ids, attentionMask: mask),
                                                mask: mask, topK: k, choose: model.chosenExperts)
            return Measurement(format: format, accuracy: accuracy, referenceWeightBytes: referenceBytes, weightBytes: model.weightBytes,
                               referenceBytesWithoutEmbedding: referenceBytes - referenceEmbedding,
                               bytesWithoutEmbedding: model.weightBytes - model.embeddingBytes, loadSeconds: seconds)
        }
    }
}
