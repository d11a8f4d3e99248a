/// The activations of one forward pass, allocated once for a token capacity and reused batch after batch
/// (grown only when a batch needs more). Shapes are per packed token row.
final class RunState {
    let spec: ModelSpec
    private(set) var tokenCapacity = 0
    private(set) var sequenceCapacity = 0

    let x: FloatBuffer          // (N, H) the residual stream
    let xb: FloatBuffer         // (N, H) normed input of a block
    let q: FloatBuffer          // (N, heads * head_dim)
    let k: FloatBuffer          // (N, kv_heads * head_dim)
    let v: FloatBuffer          // (N, kv_heads * head_dim)
    let attention: FloatBuffer  // (N, heads * v_head_dim) attention output before o_proj
    let latent: FloatBuffer     // (N, latentFloats) MLA's latent, kv_b output and q_a output; unused otherwise
    let blockOut: FloatBuffer   // (N, H) a block's output before the residual add
    let gate: FloatBuffer       // (N, I_max) MLP gate projection
    let up: FloatBuffer         // (N, I_max) MLP up projection
    let routerLogits: FloatBuffer  // (N, E)
    let probabilities: FloatBuffer // (E) one token's router scores
    let rankedScores: FloatBuffer  // (E) one token's scores + selection bias
    let gathered: FloatBuffer   // (N, H) tokens routed to one expert
    let expertOut: FloatBuffer  // (N, H) one expert's output / the shared experts' output
    let scores: FloatBuffer     // (S, S) one head's attention scores
    let weightTile: FloatBuffer // F16/BF16 weight rows widened for one sgemm
    var chosen: [Int] = []      // (N, k) chosen experts per token (first N * k entries)
    var chosenWeights: [Float] = [] // (N, k) their routing weights
    var tokenOf: [Int] = []         // (N * k) token of each routing slot, grouped by expert
    var weightOf: [Float] = []      // (N * k) its routing weight
    let rope: RopeTable

    /// Floats per token of every (N, ·) buffer, and the fixed ones: the single source of the memory estimate.
    static func floatsPerToken(_ spec: ModelSpec) -> Int {
        let h = spec.hiddenSize, e = spec.expertCount
        return 6 * h + spec.qWidth + spec.attentionOutputWidth + spec.kvWidth + spec.vWidth + 2 * maxIntermediate(spec) + e
            + latentFloats(spec)
    }

    /// Per token, MLA's scratch: latent c and k_pe, kv_b's output, q_a's output (0 without MLA).
    static func latentFloats(_ spec: ModelSpec) -> Int {
        guard let l = spec.attention.latent else { return 0 }
        return l.kvLoraRank + l.qkRopeHeadDim + spec.headCount * (l.qkNopeHeadDim + l.vHeadDim) + (l.qLoraRank ?? 0)
    }

    static func fixedFloats(_ spec: ModelSpec, longest: Int) -> Int {
        longest * longest + tileFloats(spec) + spec.expertCount
    }

    static func maxIntermediate(_ spec: ModelSpec) -> Int {
        spec.layers.map { layer -> Int in
            switch layer {
            case let .dense(intermediate): return intermediate
            case let .moe(moe): return max(moe.expertIntermediate, moe.shared?.intermediate ?? 0)
            }
        }.max() ?? 0
    }

    static func tileFloats(_ spec: ModelSpec) -> Int {
        // 16 MiB: a whole OLMoE-sized projection (2048 x 2048) widens at once, so each is one sgemm of full width.
        max(LinearTiling.floats, LinearTiling.minimumRows * max(spec.hiddenSize, maxIntermediate(spec),
                                                      spec.attentionMatrices.map(\.cols).max() ?? 0))
    }

    init(spec: ModelSpec) {
        self.spec = spec
        x = FloatBuffer(count: 1); xb = FloatBuffer(count: 1)
        q = FloatBuffer(count: 1); k = FloatBuffer(count: 1); v = FloatBuffer(count: 1)
        attention = FloatBuffer(count: 1); blockOut = FloatBuffer(count: 1)
        gate = FloatBuffer(count: 1); up = FloatBuffer(count: 1)
        routerLogits = FloatBuffer(count: 1); probabilities = FloatBuffer(count: max(1, spec.expertCount))
        rankedScores = FloatBuffer(count: max(1, spec.expertCount))
        gathered = FloatBuffer(count: 1); expertOut = FloatBuffer(count: 1)
        scores = FloatBuffer(count: 1)
        weightTile = FloatBuffer(count: Self.tileFloats(spec))
        rope = RopeTable(headDim: spec.ropeDim, theta: spec.ropeTheta, layout: spec.attention.rope, yarn: spec.yarn)
        latent = FloatBuffer(count: 1)
    }

    /// Makes room for `slots` routing choices (`chosen`, `chosenWeights`).
    func reserveChoices(_ slots: Int) {
        if chosen.count < slots {
            chosen = [Int](repeating: 0, count: slots)
            chosenWeights = [Float](repeating: 0, count: slots)
        }
    }

    /// Makes room for `slots` (token, expert) routing pairs.
    func reserveRouting(_ slots: Int) {
        if tokenOf.count < slots {
            tokenOf = [Int](repeating: 0, count: slots)
            weightOf = [Float](repeating: 0, count: slots)
        }
    }

    /// Makes room for `tokens` packed rows whose longest sequence has `longest` tokens.
    func reserve(tokens: Int, longest: Int) {
        if tokens > tokenCapacity {
            let h = spec.hiddenSize, im = Self.maxIntermediate(spec)
            for buffer in [x, xb, blockOut, gathered, expertOut] { buffer.reserve(tokens * h) }
            q.reserve(tokens * spec.qWidth)
            attention.reserve(tokens * spec.attentionOutputWidth)
            k.reserve(tokens * spec.kvWidth)
            v.reserve(tokens * spec.vWidth)
            if Self.latentFloats(spec) > 0 { latent.reserve(tokens * Self.latentFloats(spec)) }
            for buffer in [gate, up] { buffer.reserve(tokens * im) }
            routerLogits.reserve(tokens * max(1, spec.expertCount))
            reserveChoices(tokens * max(1, spec.topK))
            tokenCapacity = tokens
        }
        if longest > sequenceCapacity {
            scores.reserve(longest * longest)
            rope.reserve(longest)
            sequenceCapacity = longest
        }
    }
}
