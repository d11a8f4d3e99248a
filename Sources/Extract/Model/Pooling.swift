/// One sequence's vectors pooled over its tokens, for the store.
public struct PooledVectors: Sendable, Equatable, Codable {
    /// `[(L+1) * H]`: every hidden-state entry (HF convention), concatenated.
    public var hiddenStates: [Float]
    /// `[Lmoe * E]`: every MoE layer's raw router logits, in layer order, concatenated.
    public var routerLogits: [Float]
}

/// A sequence's pooled outputs: the last valid token, and the mean over its tokens.
public struct PooledOutput: Sendable, Equatable, Codable {
    public var tokenCount: Int
    public var lastToken: PooledVectors
    public var mean: PooledVectors
}

/// Accumulates pooled vectors for each sequence of a packed batch from the capture stream.
final class PoolingCollector {
    private let batch: PackedBatch
    private let layerCount: Int
    private let hiddenSize: Int
    private let expertCount: Int
    private let routerIndex: [Int: Int]
    private(set) var outputs: [PooledOutput]

    init(batch: PackedBatch, spec: ModelSpec) {
        self.batch = batch
        layerCount = spec.layerCount
        hiddenSize = spec.hiddenSize
        expertCount = spec.expertCount
        routerIndex = Dictionary(uniqueKeysWithValues: spec.moeLayers.enumerated().map { ($1, $0) })
        let empty = PooledVectors(hiddenStates: [Float](repeating: 0, count: (spec.layerCount + 1) * spec.hiddenSize),
                                  routerLogits: [Float](repeating: 0, count: spec.moeLayers.count * spec.expertCount))
        outputs = (0..<batch.sequenceCount).map { PooledOutput(tokenCount: batch.length($0), lastToken: empty, mean: empty) }
    }

    var sink: CaptureSink {
        CaptureSink(wants: { [layerCount] name, layer in
            name == .routerLogits || hiddenStateIndex(name, layer: layer, layerCount: layerCount) != nil
        }, receive: { [self] tensor in receive(tensor) })
    }

    private func receive(_ tensor: CapturedTensor) {
        let slot: Int, width: Int, isHidden: Bool
        if tensor.name == .routerLogits {
            guard let index = routerIndex[tensor.layer] else { return }
            slot = index; width = expertCount; isHidden = false
        } else {
            guard let index = hiddenStateIndex(tensor.name, layer: tensor.layer, layerCount: layerCount) else { return }
            slot = index; width = hiddenSize; isHidden = true
        }
        for s in 0..<batch.sequenceCount {
            let start = batch.offsets[s], length = batch.length(s)
            guard length > 0 else { continue }
            // Accumulate in double, in token order: the mean of a text does not depend on its batch.
            var sum = [Double](repeating: 0, count: width)
            for r in start..<(start + length) {
                let row = tensor.row(r)
                for i in 0..<width { sum[i] += Double(row[i]) }
            }
            let last = tensor.row(start + length - 1)
            let base = slot * width
            for i in 0..<width {
                let meanValue = Float(sum[i] / Double(length))
                if isHidden {
                    outputs[s].lastToken.hiddenStates[base + i] = last[i]
                    outputs[s].mean.hiddenStates[base + i] = meanValue
                } else {
                    outputs[s].lastToken.routerLogits[base + i] = last[i]
                    outputs[s].mean.routerLogits[base + i] = meanValue
                }
            }
        }
    }
}

/// Groups sequences into batches: sorted by length (longest first) so a batch holds similar lengths, each batch at
/// most `tokenBudget` tokens (the forward pass packs sequences without padding; a longer sequence goes alone).
/// Returns batches of input indices. The one batch planner: `pipeline extract` plans with it and commits per batch.
public func planBatches(lengths: [Int], tokenBudget: Int) -> [[Int]] {
    let order = lengths.indices.sorted { (lengths[$0], $1) > (lengths[$1], $0) }
    var batches: [[Int]] = [], current: [Int] = [], tokens = 0
    for index in order {
        if !current.isEmpty && tokens + lengths[index] > tokenBudget {
            batches.append(current)
            current = []
            tokens = 0
        }
        current.append(index)
        tokens += lengths[index]
    }
    if !current.isEmpty { batches.append(current) }
    return batches
}
