import CKernels
import Foundation

/// The AVX-512 BF16 matmul (`Sources/CKernels/gemm_bf16.c`): weights packed once at load into 16-column panels of
/// BF16 pairs, activations rounded to BF16 per call, products accumulated in float32 (`vdpbf16ps`), as
/// transformers computes a bf16 model. Used by default for BF16 checkpoints (without quantization) on CPUs with
/// AVX-512 BF16, and for every quantized model there; `MOEE_BF16_KERNEL=0` turns it off (weights are then widened
/// or dequantized to float32 for sgemm, as before). Its float32 sibling for F32 checkpoints is `F32Kernel`.
public enum BF16Kernel {
    /// The CPU and OS support AVX-512 BF16.
    public static let supported = ck_cpu_has_avx512bf16() != 0

    /// `MOEE_BF16_KERNEL=0` (or `false`/`off`/`no`) opts out.
    public static var allowedByEnvironment: Bool { kernelAllowed(byEnvironment: "MOEE_BF16_KERNEL") }

    /// Whether a model with this dominant weight dtype ("BF16", "F32", ...) and quantization runs on the kernel
    /// by default: BF16 checkpoints, and every quantized model (its runs of panels dequantized to BF16 just before
    /// the microkernel reads them). What `MoEModel.load` decides, available before loading (for cache keys).
    public static func appliesByDefault(weightDType: String, quantization: Quantization) -> Bool {
        supported && allowedByEnvironment && (weightDType == TensorDType.bf16.rawValue || quantization != .none)
    }

    /// The suffix the model's variant carries when the kernel computes it ("BF16+bf16", "BF16+q4k+bf16").
    public static let variantSuffix = "bf16"
}

/// Whether the opt-out `variable` of a kernel leaves it on: unset, or anything but `0`/`false`/`off`/`no`.
func kernelAllowed(byEnvironment variable: String) -> Bool {
    guard let value = ProcessInfo.processInfo.environment[variable]?.lowercased() else { return true }
    return !["0", "false", "off", "no"].contains(value)
}

/// One (rows, cols) weight matrix packed at load for a panel kernel, in owned 64-byte-aligned memory: for
/// `ck_gemm_bf16` (`.bf16`: ceil(cols/2) lines of 16 columns' BF16 pairs per panel) or `ck_gemm_f32` (`.f32`: cols
/// lines of 16 columns' floats per panel, `F32Kernel`). Both kernels take the same 16-column panels and 3-panel runs,
/// so `multiply` hands out the runs of either.
final class PackedMatrix: @unchecked Sendable {
    /// `.bf16`: BF16 pairs for the AVX-512 BF16 kernel (x rounded to BF16); `.f32`: floats for the F32 kernel;
    /// `.bf16Widened`: the same BF16 pairs read by the F32 kernel's AVX2 path, widened in registers with x in
    /// float32 (BF16 checkpoints on CPUs without AVX-512 BF16: half the bytes of `.f32`, the same bits).
    enum Element: Sendable { case bf16, f32, bf16Widened }

    /// Output columns of one panel (CK_BF16_PANEL = CK_F32_PANEL, checked in CKernels.h).
    static let panelWidth = Int(CK_BF16_PANEL)

    let element: Element
    let rows: Int
    let cols: Int
    let panels: Int
    private let data: UnsafeMutableRawPointer
    var byteCount: Int { panels * Self.panelBytes(element, cols: cols) }
    var bf16Panels: UnsafeMutablePointer<UInt16> { data.assumingMemoryBound(to: UInt16.self) }
    var f32Panels: UnsafeMutablePointer<Float> { data.assumingMemoryBound(to: Float.self) }

    static func panelBytes(_ element: Element, cols: Int) -> Int {
        switch element {
        case .bf16, .bf16Widened: (cols + 1) / 2 * 2 * panelWidth * 2
        case .f32: cols * panelWidth * 4
        }
    }

    /// Packs `source` one panel of rows at a time. For `.bf16`, BF16 rows are copied as they are and other dtypes
    /// widened and rounded to BF16; for `.f32`, aligned float32 rows are read in place and other dtypes widened.
    init(packing source: WeightMatrix, element: Element, scratch: FloatBuffer) {
        self.element = element
        rows = source.rows
        cols = source.cols
        let width = Self.panelWidth, panelBytes = Self.panelBytes(element, cols: cols)
        panels = (rows + width - 1) / width
        data = UnsafeMutableRawPointer.allocate(byteCount: max(64, panels * panelBytes), alignment: 64)
        switch element {
        case .bf16, .bf16Widened: data.bindMemory(to: UInt16.self, capacity: max(32, panels * panelBytes / 2))
        case .f32: data.bindMemory(to: Float.self, capacity: max(16, panels * panelBytes / 4))
        }
        let bf16Source = element != .f32 && source.dtype == .bf16 && source.quantized == nil
        let direct = element == .f32 ? source.directFloats : nil
        if !bf16Source && direct == nil { scratch.reserve(width * cols) }
        for p in 0..<panels {
            let first = p * width, valid = min(width, rows - first), panel = data + p * panelBytes
            if bf16Source {
                let rowsAt = (source.base + first * cols * 2).assumingMemoryBound(to: UInt16.self)
                ck_bf16_pack_panel_bf16(rowsAt, valid, cols, panel.assumingMemoryBound(to: UInt16.self))
                continue
            }
            let floats: UnsafePointer<Float>
            if let direct {
                floats = direct + first * cols
            } else {
                source.widenRows(first, count: valid, into: scratch.pointer)
                floats = UnsafePointer(scratch.pointer)
            }
            switch element {
            case .bf16, .bf16Widened: ck_bf16_pack_panel(floats, valid, cols, panel.assumingMemoryBound(to: UInt16.self))
            case .f32: ck_f32_pack_panel(floats, valid, cols, panel.assumingMemoryBound(to: Float.self))
            }
        }
    }

    deinit { data.deallocate() }

    /// One output of `multiply`: `y (n, rows)` with row stride `ldy`, from weights packed at load or quantized
    /// weights (dequantized into a per-worker packed scratch just before the microkernel reads them: each 3-panel
    /// run for the BF16 kernel, each panel for the F32 kernel).
    struct Product {
        let weights: Weights
        let y: UnsafeMutablePointer<Float>
        let ldy: Int

        enum Weights {
            case packed(PackedMatrix)
            case quantized(QuantizedMatrix, QuantizedMatrix.Kernel)
        }

        init(matrix: PackedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int) {
            (weights, self.y, self.ldy) = (.packed(matrix), y, ldy)
        }

        init(quantized: QuantizedMatrix, on kernel: QuantizedMatrix.Kernel, y: UnsafeMutablePointer<Float>, ldy: Int) {
            (weights, self.y, self.ldy) = (.quantized(quantized, kernel), y, ldy)
        }

        var rows: Int {
            switch weights { case let .packed(m): m.rows; case let .quantized(m, _): m.rows }
        }
        var cols: Int {
            switch weights { case let .packed(m): m.cols; case let .quantized(m, _): m.cols }
        }
        var panels: Int { (rows + PackedMatrix.panelWidth - 1) / PackedMatrix.panelWidth }
        /// Read x rounded to BF16 (what the BF16 kernel multiplies; the F32 kernel reads x in place).
        var readsBF16Activations: Bool {
            switch weights {
            case let .packed(m): m.element == .bf16
            case let .quantized(_, kernel): kernel == .bf16
            }
        }
        var readsInt8Activations: Bool {
            if case .quantized(_, .int8Activations) = weights { return true }
            return false
        }
    }

    /// `product.y = x (n, cols) · product weightsᵀ` for each product (all with the same cols: q/k/v, gate/up), on
    /// every core. For the BF16 kernel x is rounded to BF16 once, into `scratch` (the F32 kernel reads x in place);
    /// the products' 3-panel runs (the microkernels' width) are handed out one at a time, so a core slowed by another
    /// process takes fewer of them.
    static func multiply(_ x: UnsafePointer<Float>, ldx: Int, rows n: Int, products: [Product], scratch: FloatBuffer) {
        guard let cols = products.first?.cols else { return }
        precondition(products.allSatisfy { $0.cols == cols }, "fused products need the same input width")
        let rounds = products.contains(where: \.readsBF16Activations)
        if rounds { scratch.reserve(n * ((cols + 1) / 2)) }  // n rows of 2 * ceil(cols / 2) BF16 values
        let activations = UnsafeMutableRawPointer(scratch.pointer).assumingMemoryBound(to: UInt16.self)
        if rounds { ck_bf16_round_rows(x, ldx, n, cols, activations) }
        // x quantized once for every product when all of them take int8 activations; otherwise (never in the forward
        // pass, whose fused products share one format) those products take the F32 kernel on dequantized panels.
        let int8 = !rounds && products.allSatisfy(\.readsInt8Activations)
            ? Int8Activations(x, ldx: ldx, rows: n, cols: cols, scratch: scratch) : nil
        var firstGroup: [Int] = [0]  // firstGroup[j] = index of product j's first run
        for product in products { firstGroup.append(firstGroup[firstGroup.count - 1] + (product.panels + 2) / 3) }
        let work = n * cols * products.reduce(0) { $0 + $1.rows }
        let parallel = work >= 1 << 20 && ProcessInfo.processInfo.activeProcessorCount > 1
        let quantized = products.contains { if case .quantized = $0.weights { true } else { false } }
        let workers = parallel ? ProcessInfo.processInfo.activeProcessorCount : 1
        let panelElements = (cols + 1) / 2 * 2 * Int(CK_BF16_PANEL)
        // A run of three panels: BF16 (for the BF16 kernel) or float32 (16 * cols floats = 32 * cols UInt16s each).
        // (Or, for int8 activations, CK_ACT8_ROWS packed q4 rows.)
        let unpacked = (Int8Activations.scratchBytes(cols: cols) + 1) / 2
        let runs = quantized ? PanelScratch.pool.take(workers, elements: max(3 * max(panelElements, 32 * cols), unpacked)) : []
        defer { PanelScratch.pool.give(runs) }
        forEachGroup(firstGroup[products.count], workers: workers) { worker, g in
            var j = 0
            while g >= firstGroup[j + 1] { j += 1 }
            let product = products[j], begin = 3 * (g - firstGroup[j]), end = min(product.panels, begin + 3)
            switch product.weights {
            case let .packed(matrix) where matrix.element == .f32:
                F32Kernel.multiply(on: F32Kernel.isa, x, ldx: ldx, rows: n, cols: cols, panels: matrix.f32Panels,
                                   outputs: matrix.rows, panelBegin: begin, panelEnd: end, y: product.y, ldy: product.ldy)
            case let .packed(matrix) where matrix.element == .bf16Widened:
                F32Kernel.multiplyWidening(on: F32Kernel.isa, x, ldx: ldx, rows: n, cols: cols, panels: matrix.bf16Panels,
                                           outputs: matrix.rows, panelBegin: begin, panelEnd: end, y: product.y, ldy: product.ldy)
            case let .packed(matrix):
                ck_gemm_bf16(activations, n, cols, matrix.bf16Panels, matrix.rows, begin, end, product.y, product.ldy)
            case let .quantized(matrix, .bf16):
                // The run alone, as panels 0..<end-begin of a matrix whose first column is 16 * begin.
                let run = runs[worker].pointer
                for p in begin..<end { matrix.packPanel(p, into: run + (p - begin) * panelElements) }
                let first = begin * Int(CK_BF16_PANEL)
                ck_gemm_bf16(activations, n, cols, run, matrix.rows - first, 0, end - begin, product.y + first, product.ldy)
            case let .quantized(matrix, .int8Activations) where int8 != nil:
                int8?.multiply(matrix, rows: (begin * Int(CK_F32_PANEL))..<min(matrix.rows, end * Int(CK_F32_PANEL)),
                               y: product.y, ldy: product.ldy,
                               scratch: UnsafeMutableRawPointer(runs[worker].pointer).assumingMemoryBound(to: UInt8.self))
            case let .quantized(matrix, _):
                // The run alone, as for the BF16 kernel: 3 * 16 * cols floats, which stay in L2 while x passes over them.
                let run = UnsafeMutableRawPointer(runs[worker].pointer).assumingMemoryBound(to: Float.self)
                for p in begin..<end { matrix.packF32Panel(p, into: run + (p - begin) * 16 * cols, on: F32Kernel.isa) }
                let first = begin * Int(CK_F32_PANEL)
                F32Kernel.multiply(on: F32Kernel.isa, x, ldx: ldx, rows: n, cols: cols, panels: run, outputs: matrix.rows - first,
                                   panelBegin: 0, panelEnd: end - begin, y: product.y + first, ldy: product.ldy)
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
            // A fresh array, filled by popping: `Array(free.suffix(n))` could share `free`'s storage (an empty or
            // whole slice keeps the buffer), which `give` then mutated on another thread (ThreadSanitizer).
            let taken: [PanelScratch] = lock.withLock {
                var taken: [PanelScratch] = []
                taken.reserveCapacity(workers)
                while taken.count < workers, let buffer = free.popLast() { taken.append(buffer) }
                return taken
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
    /// The panel kernel a quantized matrix is multiplied on: the BF16 kernel (each weight rounded to BF16, x too) or
    /// the F32 kernel (weights and x as they are: the bits of the F32 kernel on the dequantized floats).
    enum Kernel: Sendable {
        case bf16, f32
        /// q4 codes times int8 activations (`Int8Activations`); int8-format matrices take `.f32` instead.
        case int8Activations
    }

    /// Packs rows 16p..<16p+16 (those that exist) for the F32 kernel into `panel` (64-byte aligned, 16 * cols
    /// floats): bit for bit `ck_f32_pack_panel` of the dequantized floats, on AVX2 where the kernel runs, else the
    /// portable loop.
    func packF32Panel(_ p: Int, into panel: UnsafeMutablePointer<Float>, on isa: F32Kernel.ISA?) {
        let first = p * Int(CK_F32_PANEL), valid = min(Int(CK_F32_PANEL), rows - first)
        let code = codes + first * codeBytesPerRow, scale = scales + first * scalesPerRow
        let avx2 = isa != nil && F32Kernel.ISA.avx2.supported
        switch (format, avx2) {
        case (.int8, true): ck_f32_pack_panel_q8_avx2(code.assumingMemoryBound(to: Int8.self), scale, valid, cols, panel)
        case (.int8, false): ck_f32_pack_panel_q8(code.assumingMemoryBound(to: Int8.self), scale, valid, cols, panel)
        case (_, true): ck_f32_pack_panel_q4_avx2(code.assumingMemoryBound(to: UInt8.self), scale, valid, cols, panel)
        case (_, false): ck_f32_pack_panel_q4(code.assumingMemoryBound(to: UInt8.self), scale, valid, cols, panel)
        }
    }

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
    /// This matrix packed for the BF16 or F32 kernel; the memory-mapped pages of the original are released (the
    /// packed copy replaces them, so resident memory stays at the packed size). Quantized and MXFP4 matrices stay as
    /// they are (a packed MXFP4 expert would take 4 to 8 times its bytes).
    func packedForKernel(_ element: PackedMatrix.Element, scratch: FloatBuffer) -> WeightMatrix {
        guard packed == nil, quantized == nil, mxfp4 == nil else { return self }
        let matrix = PackedMatrix(packing: self, element: element, scratch: scratch)
        if owner is SafetensorsFile || owner is MappedFile { releasePages(base, byteCount: releasableByteCount) }
        return WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: base, owner: owner, packed: matrix)
    }

    func packedBF16(scratch: FloatBuffer) -> WeightMatrix { packedForKernel(.bf16, scratch: scratch) }

    /// `packedForKernel` as a model's load applies it: unless `includingSmall`, small weights bound for the F32
    /// kernel (at most `LinearTiling.rowwiseLimit` values) stay on the rowwise kernel, whose sums are the same bits
    /// on every host (the F32 kernel needs AVX2/FMA or AVX-512F), so a tiny model stores the same tensors everywhere.
    func packedForModel(_ element: PackedMatrix.Element, includingSmall: Bool, scratch: FloatBuffer) -> WeightMatrix {
        if element != .bf16 && !includingSmall && rows * cols <= LinearTiling.rowwiseLimit { return self }
        return packedForKernel(element, scratch: scratch)
    }
}

extension ModelWeights {
    /// Every projection packed for the BF16 or F32 kernel: attention q, k, v, o, experts, shared experts and dense
    /// MLPs. Routers and the shared-expert gate stay unpacked in float32 (their logits are what the store keeps, and
    /// they are small); the embedding is only read row by row. Experts are packed on every core.
    /// `includingSmall` packs small float32 weights too (tests of the kernel on tiny checkpoints).
    func packedForKernel(_ element: PackedMatrix.Element, includingSmall: Bool = false) -> ModelWeights {
        var result = self
        let scratch = FloatBuffer(count: 1)
        func pack(_ m: WeightMatrix) -> WeightMatrix { m.packedForModel(element, includingSmall: includingSmall, scratch: scratch) }
        for l in layers.indices {
            var layer = layers[l]
            layer.attention = layer.attention.mapMatrices { pack($1) }
            switch layer.feedForward {
            case let .dense(w):
                layer.feedForward = .dense(w.packedForKernel(element, includingSmall: includingSmall, scratch: scratch))
            case var .moe(moe):
                moe.experts = Self.packConcurrently(moe.experts, element, includingSmall: includingSmall)
                moe.shared = moe.shared.map { $0.packedForKernel(element, includingSmall: includingSmall, scratch: scratch) }
                layer.feedForward = .moe(moe)
            }
            result.layers[l] = layer
        }
        result.usedBytes = usedBytes - byteCount + result.byteCount
        return result
    }

    private static func packConcurrently(_ experts: [MLPWeights], _ element: PackedMatrix.Element,
                                         includingSmall: Bool) -> [MLPWeights] {
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
                let done = experts[e].packedForKernel(element, includingSmall: includingSmall, scratch: scratch)
                slots.lock.withLock { slots.values[e] = done }
            }
        }
        return zip(experts, slots.values).map { $1 ?? $0 }
    }
}

extension ModelWeights {
    /// Every quantized matrix marked to run on a panel kernel (nothing is copied: the codes stay as they are).
    /// Unless `includingSmall`, small matrices bound for the F32 kernel stay where `packedForModel` leaves small
    /// weights (dequantized for the rowwise kernel: the same bits on every host).
    func quantizedOnKernel(_ kernel: QuantizedMatrix.Kernel, includingSmall: Bool = false) -> ModelWeights {
        mapQuantized(.q4, scope: [.all, .router], concurrent: false) { _, m, _, _ in
            guard let q = m.quantized else { return m }
            if kernel != .bf16 && !includingSmall && m.rows * m.cols <= LinearTiling.rowwiseLimit { return m }
            // int8 activations multiply q4 codes only; int8-format matrices (attention) take the F32 kernel.
            let onKernel: QuantizedMatrix.Kernel = kernel == .int8Activations && q.format != .q4 ? .f32 : kernel
            return WeightMatrix(rows: m.rows, cols: m.cols, dtype: m.dtype, base: m.base, owner: m.owner, quantized: q,
                                quantizedKernel: onKernel)
        }
    }
}

extension MLPWeights {
    func packedForKernel(_ element: PackedMatrix.Element, includingSmall: Bool, scratch: FloatBuffer) -> MLPWeights {
        MLPWeights(gate: gate.packedForModel(element, includingSmall: includingSmall, scratch: scratch),
                   up: up.packedForModel(element, includingSmall: includingSmall, scratch: scratch),
                   down: down.packedForModel(element, includingSmall: includingSmall, scratch: scratch))
    }
}
