/// The intermediates the forward pass hands to a capture sink, named as llama.cpp names them.
public enum CaptureName: String, Sendable, CaseIterable {
    /// The token embeddings (hidden_states[0]); layer -1.
    case embeddings = "inp_embd"
    /// The attention block's output before the residual add.
    case attentionOutput = "attn_out"
    /// The feed-forward (MLP or MoE) block's output before the residual add.
    case feedForwardOutput = "ffn_out"
    /// The raw router logits of a MoE layer: gate(h), before softmax and top-k. Width = experts.
    case routerLogits = "ffn_moe_logits"
    /// The residual stream after decoder layer `layer`.
    case layerOutput = "l_out"
    /// The final RMSNorm's output (the last entry of hidden_states); layer -1.
    case finalNorm = "result_norm"
}

/// One intermediate: `rows` packed tokens (see `PackedBatch`) by `columns` values.
/// `values` is valid only during the sink's callback; copy what you keep.
public struct CapturedTensor {
    public let name: CaptureName
    public let layer: Int
    public let rows: Int
    public let columns: Int
    public let values: UnsafeBufferPointer<Float>

    /// Row `r` (token `r` of the packed batch).
    public func row(_ r: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(rebasing: values[(r * columns)..<((r + 1) * columns)])
    }
}

/// Where the forward pass sends its intermediates: `wants` filters (so nothing is copied for unwanted tensors),
/// `receive` gets each wanted one. This is how hidden states and router logits are captured without forking the pass.
public struct CaptureSink {
    public let wants: (CaptureName, Int) -> Bool
    public let receive: (CapturedTensor) -> Void

    public init(wants: @escaping (CaptureName, Int) -> Bool, receive: @escaping (CapturedTensor) -> Void) {
        self.wants = wants
        self.receive = receive
    }

    func emit(_ name: CaptureName, layer: Int, _ values: UnsafePointer<Float>, rows: Int, columns: Int) {
        guard wants(name, layer) else { return }
        receive(CapturedTensor(name: name, layer: layer, rows: rows, columns: columns,
                               values: UnsafeBufferPointer(start: values, count: rows * columns)))
    }
}

/// Sequences concatenated without padding: token `i` of sequence `s` is row `offsets[s] + i` and has position `i`.
/// Only attention looks across rows, and only within a sequence, so no pad token is ever computed.
public struct PackedBatch: Sendable {
    public let tokens: [Int32]
    public let offsets: [Int]

    public init(sequences: [[Int]]) {
        var tokens: [Int32] = []
        var offsets = [0]
        for sequence in sequences {
            tokens.append(contentsOf: sequence.map { Int32(truncatingIfNeeded: $0) })
            offsets.append(tokens.count)
        }
        self.tokens = tokens
        self.offsets = offsets
    }

    public var sequenceCount: Int { offsets.count - 1 }
    public var tokenCount: Int { tokens.count }
    public func length(_ s: Int) -> Int { offsets[s + 1] - offsets[s] }
    public var longest: Int { (0..<sequenceCount).map(length).max() ?? 0 }
}
