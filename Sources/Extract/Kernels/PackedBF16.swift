import CKernels
import Foundation

/// The AVX-512 BF16 matmul (`Sources/CKernels/gemm_bf16.c`): weights packed once at load into 16-column panels of
/// BF16 pairs, activations rounded to BF16 per call, products accumulated in float32 (`vdpbf16ps`), as
/// transformers computes a bf16 model. Used by default for BF16 checkpoints (without quantization) on CPUs with
/// AVX-512 BF16, and for every quantized model there; `MOEE_BF16_KERNEL=0` turns it off (weights are then widened
/// or dequantized to float32 for sgemm, as before).
public enum BF16Kernel {
    /// The CPU and OS support AVX-512 BF16.
    public static let supported = ck_cpu_has_avx512bf16() != 0

    /// `MOEE_BF16_KERNEL=0` (or `false`/`off`/`no`) opts out.
    public static var allowedByEnvironment: Bool {
        guard let value = ProcessInfo.processInfo.environment["MOEE_BF16_KERNEL"]?.lowercased() else { return true }
        return !["0", "false", "off", "no"].contains(value)
    }

    /// Whether a model with this dominant weight dtype ("BF16", "F32", ...) and quantization runs on the kernel
    /// by default: BF16 checkpoints, and every quantized model (its runs of panels dequantized to BF16 just before
    /// the microkernel reads them). What `MoEModel.load` decides, available before loading (for cache keys).
    public static func appliesByDefault(weightDType: String, quantization: Quantization) -> Bool {
        supported && allowedByEnvironment && (weightDType == TensorDType.bf16.rawValue || quantization != .none)
    }

    /// The suffix the model's variant carries when the kernel computes it ("BF16+bf16", "BF16+q4k+bf16").
    public static let variantSuffix = "bf16"
}

/// One (rows, cols) weight matrix packed for `ck_gemm_bf16`, in owned 64-byte-aligned memory.
final class PackedBF16Matrix: @unchecked Sendable {
    let rows: Int
    let cols: Int
    let panels: Int
    let data: UnsafeMutablePointer<UInt16>
    private var panelElements: Int { (cols + 1) / 2 * 2 * Int(CK_BF16_PANEL) }
    var byteCount: Int { panels * panelElements * 2 }

    /// Packs `source` (BF16 copied as is; other dtypes widened and rounded to BF16), one panel of rows at a time.
    init(packing source: WeightMatrix, scratch: FloatBuffer) {
        rows = source.rows
        cols = source.cols
        let width = Int(CK_BF16_PANEL)
        panels = (rows + width - 1) / width
        let elements = max(1, panels * ((cols + 1) / 2) * 2 * width)  // = panels * panelElements
        let raw = UnsafeMutableRawPointer.allocate(byteCount: elements * 2, alignment: 64)
        data = raw.bindMemory(to: UInt16.self, capacity: elements)
        let bf16 = source.dtype == .bf16 && source.quantized == nil
        if !bf16 { scratch.reserve(width * cols) }
        for p in 0..<panels {
            let first = p * width, valid = min(width, rows - first)
            if bf16 {
                let rowsAt = (source.base + first * cols * 2).assumingMemoryBound(to: UInt16.self)
                ck_bf16_pack_panel_bf16(rowsAt, valid, cols, data + p * panelElements)
            } else {
                source.widenRows(first, count: valid, into: scratch.pointer)
                ck_bf16_pack_panel(scratch.pointer, valid, cols, data + p * panelElements)
            }
        }
    }

    deinit { data.deallocate() }

    /// One output of `multiply`: `y (n, rows)` with row stride `ldy`, from weights packed at load or quantized
    /// weights (each 3-panel run dequantized into a per-worker packed scratch just before the microkernel reads it).
    struct Product {
        let weights: Weights
        let y: UnsafeMutablePointer<Float>
        let ldy: Int

        enum Weights {
            case packed(PackedBF16Matrix)
            case quantized(QuantizedMatrix)
        }

        init(matrix: PackedBF16Matrix, y: UnsafeMutablePointer<Float>, ldy: Int) {
            (weights, self.y, self.ldy) = (.packed(matrix), y, ldy)
        }

        init(quantized: QuantizedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int) {
            (weights, self.y, self.ldy) = (.quantized(quantized), y, ldy)
        }

        var rows: Int {
            switch weights { case let .packed(m): m.rows; case let .quantized(m): m.rows }
        }
        var cols: Int {
            switch weights { case let .packed(m): m.cols; case let .quantized(m): m.cols }
        }
        var panels: Int { (rows + Int(CK_BF16_PANEL) - 1) / Int(CK_BF16_PANEL) }
    }

    /// `product.y = x (n, cols) · product weightsᵀ` for each product (all with the same cols: q/k/v, gate/up), on
    /// every core. x is rounded to BF16 once, into `scratch`; the products' 3-panel runs (the microkernel's width)
    /// are handed out one at a time, so a core slowed by another process takes fewer of them.
    static func multiply(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int, products: [Product], scratch: FloatBuffer) {
        guard let cols = products.first?.cols else { return }
        precondition(products.allSatisfy { $0.cols == cols }, "fused BF16 products need the same input width")
        scratch.reserve(n * ((cols + 1) / 2))  // n rows of 2 * ceil(cols / 2) BF16 values
        let activations = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: UInt16.self)
        ck_bf16_round_rows(x, ldx, n, cols, activations)
        var firstGroup: [Int] = [0]  // firstGroup[j] = index of product j's first run
        for product in products { firstGroup.append(firstGroup[firstGroup.count - 1] + (product.panels + 2) / 3) }
        let work = n * cols * products.reduce(0) { $0 + $1.rows }
        let parallel = work >= 1 << 20 && ProcessInfo.processInfo.activeProcessorCount > 1
        let quantized = products.contains { if case .quantized = $0.weights { true } else { false } }
        let workers = parallel ? ProcessInfo.processInfo.activeProcessorCount : 1
        let panelElements = (cols + 1) / 2 * 2 * Int(CK_BF16_PANEL)
        let runs = quantized ? PanelScratch.pool.take(workers, elements: 3 * panelElements) : []
        defer { PanelScratch.pool.give(runs) }
        forEachGroup(firstGroup[products.count], workers: workers) { worker, g in
            var j = 0
            while g >= firstGroup[j + 1] { j += 1 }
            let product = products[j], begin = 3 * (g - firstGroup[j]), end = min(product.panels, begin + 3)
            switch product.weights {
            case let .packed(matrix):
                ck_gemm_bf16(activations, n, cols, matrix.data, matrix.rows, begin, end, product.y, product.ldy)
            case let .quantized(matrix):
                // The run alone, as panels 0..<end-begin of a matrix whose first column is 16 * begin.
                let run = runs[worker].pointer
                for p in begin..<end { matrix.packPanel(p, into: run + (p - begin) * panelElements) }
                let first = begin * Int(CK_BF16_PANEL)
                ck_gemm_bf16(activations, n, cols, run, matrix.rows - first, 0, end - begin, product.y + first, product.ldy)
            }
        }
    }

    /// `body(worker, g)` for g in 0..<groups on `workers` threads, each g handed out when a worker is free.
    private static func forEachGroup(_ groups: Int, workers: Int, _ body: (Int, Int) -> Void) {
        guard workers > 1, groups > 1 else {
            for g in 0..<groups { body(0, g) }
            return
        }
        final class Counter: @unchecked Sendable {
            private var next = 0
            private let lock = NSLock()
            func take() -> Int { lock.withLock { defer { next += 1 }; return next } }
        }
        struct Body: @unchecked Sendable { let call: (Int, Int) -> Void }  // runs only inside concurrentPerform
        let counter = Counter()
        withoutActuallyEscaping(body) { body in
            let task = Body(call: body)
            DispatchQueue.concurrentPerform(iterations: min(workers, groups)) { worker in
                while true {
                    let g = counter.take()
                    guard g < groups else { return }
                    task.call(worker, g)
                }
            }
        }
    }
}

/// A 64-byte-aligned buffer of packed BF16 panels: where a run of quantized rows is dequantized for the kernel.
/// Kept in a pool shared by every model, so a forward pass allocates only while the pool is warming up.
final class PanelScratch: @unchecked Sendable {
    private(set) var pointer: UnsafeMutablePointer<UInt16>
    private(set) var count: Int

    static let pool = Pool()

    init(count: Int) {
        self.count = max(count, 32)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.count * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: self.count)
    }

    func reserve(_ needed: Int) {
        guard needed > count else { return }
        pointer.deallocate()
        count = needed
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: count)
    }

    deinit { pointer.deallocate() }

    final class Pool: @unchecked Sendable {
        private var free: [PanelScratch] = []
        private let lock = NSLock()

        /// `workers` buffers of at least `elements` values each, for the caller alone until `give`.
        func take(_ workers: Int, elements: Int) -> [PanelScratch] {
            let taken: [PanelScratch] = lock.withLock {
                let n = min(workers, free.count)
                defer { free.removeLast(n) }
                return Array(free.suffix(n))
            }
            let all = taken + (taken.count..<workers).map { _ in PanelScratch(count: elements) }
            for buffer in all { buffer.reserve(elements) }
            return all
        }

        func give(_ buffers: [PanelScratch]) {
            guard !buffers.isEmpty else { return }
            lock.withLock { free.append(contentsOf: buffers) }
        }
    }
}

extension QuantizedMatrix {
    /// Packs rows 16p..<16p+16 (those that exist) for the BF16 kernel into `panel` (64-byte aligned,
    /// ceil(cols/2) * 32 values): bit for bit `ck_bf16_pack_panel` of the dequantized floats.
    func packPanel(_ p: Int, into panel: UnsafeMutablePointer<UInt16>) {
        let first = p * Int(CK_BF16_PANEL), valid = min(Int(CK_BF16_PANEL), rows - first)
        let code = codes + first * codeBytesPerRow, scale = scales + first * scalesPerRow
        if format == .int8 {
            ck_bf16_pack_panel_q8(code.assumingMemoryBound(to: Int8.self), scale, valid, cols, panel)
        } else {
            ck_bf16_pack_panel_q4(code.assumingMemoryBound(to: UInt8.self), scale, valid, cols, panel)
        }
    }
}

extension WeightMatrix {
    /// This matrix packed for the BF16 kernel; the memory-mapped pages of the original are released (the packed
    /// copy replaces them, so resident memory stays at the BF16 size).
    func packedBF16(scratch: FloatBuffer) -> WeightMatrix {
        guard packed == nil, quantized == nil else { return self }
        let matrix = PackedBF16Matrix(packing: self, scratch: scratch)
        if owner is SafetensorsFile || owner is MappedFile { releasePages(base, byteCount: rows * cols * dtype.byteSize) }
        return WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: base, owner: owner, packed: matrix)
    }
}

extension ModelWeights {
    /// Every projection packed for the BF16 kernel: attention q, k, v, o, experts, shared experts and dense MLPs.
    /// Routers and the shared-expert gate stay in float32 sgemm (their logits are what the store keeps, and they are
    /// small); the embedding is only read row by row. Experts are packed on every core.
    func packedBF16() -> ModelWeights {
        var result = self
        let scratch = FloatBuffer(count: 1)
        func pack(_ m: WeightMatrix) -> WeightMatrix { m.packedBF16(scratch: scratch) }
        for l in layers.indices {
            var layer = layers[l]
            layer.attention.q = pack(layer.attention.q)
            layer.attention.k = pack(layer.attention.k)
            layer.attention.v = pack(layer.attention.v)
            layer.attention.o = pack(layer.attention.o)
            switch layer.feedForward {
            case let .dense(w):
                layer.feedForward = .dense(w.packedBF16(scratch: scratch))
            case var .moe(moe):
                moe.experts = Self.packConcurrently(moe.experts)
                moe.shared = moe.shared.map { $0.packedBF16(scratch: scratch) }
                layer.feedForward = .moe(moe)
            }
            result.layers[l] = layer
        }
        result.usedBytes = usedBytes - byteCount + result.byteCount
        return result
    }

    private static func packConcurrently(_ experts: [MLPWeights]) -> [MLPWeights] {
        final class Slots: @unchecked Sendable {
            var values: [MLPWeights?]
            let lock = NSLock()
            init(_ count: Int) { values = Array(repeating: nil, count: count) }
        }
        let slots = Slots(experts.count)
        let workers = max(1, min(experts.count, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let scratch = FloatBuffer(count: 1)
            for e in stride(from: worker, to: experts.count, by: workers) {
                let done = experts[e].packedBF16(scratch: scratch)
                slots.lock.withLock { slots.values[e] = done }
            }
        }
        return zip(experts, slots.values).map { $1 ?? $0 }
    }
}

extension ModelWeights {
    /// Every quantized matrix marked to run on the BF16 kernel (nothing is copied: the codes stay as they are).
    func quantizedOnBF16Kernel() -> ModelWeights {
        mapQuantized(.q4, scope: [.all, .router], concurrent: false) { _, m, _, _ in
            guard let q = m.quantized else { return m }
            return WeightMatrix(rows: m.rows, cols: m.cols, dtype: m.dtype, base: m.base, owner: m.owner, quantized: q,
                                quantizedOnBF16Kernel: true)
        }
    }
}

extension MLPWeights {
    func packedBF16(scratch: FloatBuffer) -> MLPWeights {
        MLPWeights(gate: gate.packedBF16(scratch: scratch), up: up.packedBF16(scratch: scratch),
                   down: down.packedBF16(scratch: scratch))
    }
}
