import Foundation

/// The memory a model needs for a run: its weights resident (memory-mapped, paged in as used) plus the
/// activations of one batch of `tokenBudget` packed tokens with a longest sequence of `longestSequence`.
public struct MemoryRequirement: Sendable, Equatable, CustomStringConvertible {
    public var weightBytes: Int
    public var activationBytes: Int
    public var physicalBytes: Int
    public var totalBytes: Int { weightBytes + activationBytes }
    public var fits: Bool { totalBytes <= physicalBytes }

    init(spec: ModelSpec, weightBytes: Int, tokenBudget: Int, longestSequence: Int) {
        self.weightBytes = weightBytes
        // Saturating arithmetic: an absurd budget must read as "too big", not wrap around.
        let floats = Double(tokenBudget) * Double(RunState.floatsPerToken(spec))
            + Double(RunState.fixedFloats(spec, longest: longestSequence))
        activationBytes = Int(clamping: Int64(min(floats * Double(MemoryLayout<Float>.size), Double(Int64.max / 2))))
        physicalBytes = Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    public var description: String {
        func gib(_ n: Int) -> String { String(format: "%.2f GiB", Double(n) / 1_073_741_824) }
        return "weights \(gib(weightBytes)) + activations \(gib(activationBytes)) = \(gib(totalBytes)) needed, \(gib(physicalBytes)) of physical memory"
            + (fits ? "" : "; use a smaller token budget, a smaller dtype, or a machine with more memory")
    }
}
