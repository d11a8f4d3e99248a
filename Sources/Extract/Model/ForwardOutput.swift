/// Per-token outputs of a padded batch, in the layout of `pipeline forward` and of the reference fixtures.
///
/// `hiddenStates` is `[L+1, B, T, H]` row-major: entry 0 the embeddings, entry i the output of decoder layer i-1,
/// entry L the final norm (Hugging Face `output_hidden_states=True`). `routerLogits` is `[Lmoe, B, T, E]`: the raw
/// gate logits of each MoE layer, layer `routerLayers[i]`. Pad positions hold 0.
public struct ForwardOutput: Sendable {
    public let hiddenStateCount: Int
    public let batchSize: Int
    public let sequenceLength: Int
    public let hiddenSize: Int
    public let expertCount: Int
    public let routerLayers: [Int]
    public var hiddenStates: [Float]
    public var routerLogits: [Float]

    public var hiddenStatesShape: [Int] { [hiddenStateCount, batchSize, sequenceLength, hiddenSize] }
    public var routerLogitsShape: [Int] { [routerLayers.count, batchSize, sequenceLength, expertCount] }

    /// The output as the safetensors tensors `pipeline forward` writes.
    public func safetensors(metadata: [String: String] = [:]) -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: metadata)
        writer.add(.init(name: "hidden_states", floats: hiddenStates, shape: hiddenStatesShape))
        writer.add(.init(name: "router_logits", floats: routerLogits, shape: routerLogitsShape))
        writer.add(.init(name: "router_layers", int64s: routerLayers, shape: [routerLayers.count]))
        return writer
    }
}

/// Which `hidden_states` entry a captured tensor is, in the Hugging Face convention (nil: not a hidden state).
/// The output of the last decoder layer is not one: HF stores the final norm's output in its place.
func hiddenStateIndex(_ name: CaptureName, layer: Int, layerCount: Int) -> Int? {
    switch name {
    case .embeddings: return 0
    case .layerOutput: return layer < layerCount - 1 ? layer + 1 : nil
    case .finalNorm: return layerCount
    default: return nil
    }
}
