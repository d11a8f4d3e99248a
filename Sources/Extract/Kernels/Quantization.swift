import CKernels
import Foundation

/// Weight quantization applied at load: symmetric per-group int8 or 4-bit (`q4`), groups of 64 (int8) or 32 (q4)
/// weights along a row sharing one scale (see `Sources/CKernels/quantize.c`): a BF16 scale (int8), an 8-bit code
/// times a BF16 super-scale per 8 groups (q4). Resident bytes per weight: 1.03125 (int8), 0.5390625 (q4), against 2
/// for BF16. The format applies to the MLPs; attention gets `attentionFormat`. q4 had a BF16 scale per group (0.5625
/// B/weight) until the 4-layer benchmark model had to fit in 0.3x of its BF16 bytes with the whole embedding counted
/// (docs/performance.md, "Resident weight bytes").
public enum Quantization: String, Sendable, Codable, CaseIterable {
    case none, int8, q4

    /// Weights sharing one scale along a row.
    public var groupSize: Int { self == .int8 ? Int(CK_GROUP_Q8) : Int(CK_GROUP) }

    /// The format's name in the model's variant (`MoEModel.variant`, the store's model variant): "q4k" for q4 (8-bit
    /// group scales under a super-scale, as llama.cpp's K-quants), since the store keys records by the checkpoint's
    /// fingerprint and the variant only, and records computed with BF16 group scales (variant "q4") are other numbers
    /// that must not be reused as these. Manifests and `--quantize` still say "q4".
    public var variantName: String { self == .q4 ? "q4k" : rawValue }

    /// The variant the store keys a model's records by (SPEC.md §4): "f32" (no quantization), "int8", "q4k", or
    /// when the BF16 kernel computed the tensors (AVX-512 BF16 hosts, unless MOEE_BF16_KERNEL=0: BF16 checkpoints and
    /// every quantized model) "bf16", "int8+bf16", "q4k+bf16"; "q4k+act8" when q4 MLPs multiplied int8-rounded
    /// activations (`Int8Activations`: q4 on the F32 kernel, AVX2 hosts by default). The F32 kernel leaves "f32": it
    /// computes float32 products as sgemm does, only summing in another order. `extract` records it; `score` reads
    /// it back and never re-derives it from the CPU it runs on.
    public func storeVariant(bf16Kernel: Bool, int8Activations: Bool = false) -> String {
        let suffix = BF16Kernel.variantSuffix
        if self == .none { return bf16Kernel ? suffix : "f32" }
        if int8Activations { return "\(variantName)+\(Self.int8ActivationSuffix)" }
        return bf16Kernel ? "\(variantName)+\(suffix)" : variantName
    }

    /// The variant suffix of tensors computed with int8 activations (`Int8Activations`): "q4k+act8".
    public static let int8ActivationSuffix = "act8"

    /// Whether a stored variant was computed under this quantization (with or without the BF16 kernel or int8
    /// activations).
    public func matches(storeVariant variant: String) -> Bool {
        variant == storeVariant(bf16Kernel: false) || variant == storeVariant(bf16Kernel: true)
            || variant == storeVariant(bf16Kernel: false, int8Activations: true)
    }

    /// The format of the attention projections under this one: int8 under both (under q4 a step more precise than
    /// the MLPs, as llama.cpp's mixes keep some tensors at higher precision; see `ModelWeights.quantized`).
    public var attentionFormat: Quantization { self == .none ? .none : .int8 }

    /// The format of the token embedding under this one: int8 (groups of 64) under q4, as llama.cpp quantizes
    /// token_embd; the checkpoint's dtype under int8. Measured on the fixtures (docs/performance.md): a q4 embedding
    /// misses the q4 bar (mean cosine 0.987 on mixtral-tiny), an int8 one under int8 flips a near-tied layer-0 route
    /// on mixtral-tiny (0.9969 < 0.999), where int8 attention instead keeps >= 0.9996 and saves more bytes.
    public var embeddingFormat: Quantization { self == .q4 ? .int8 : .none }
}

/// The quantized codes and scales of one (rows, cols) matrix: in owned memory, or in a mapped cache file
/// (`QuantizedCache`), which `storage` keeps alive.
final class QuantizedMatrix: @unchecked Sendable {
    let format: Quantization
    let rows: Int
    let cols: Int
    /// BF16 values in `scales` per row: one per group (int8), one per CK_Q4_SUPER groups (q4).
    let scalesPerRow: Int
    let codeBytesPerRow: Int
    let codes: UnsafeRawPointer
    let scales: UnsafePointer<UInt16>
    /// nil: `codes` and `scales` were allocated here and are freed with it.
    private let storage: AnyObject?

    var byteCount: Int { rows * (codeBytesPerRow + scalesPerRow * 2) }
    var codeBytes: Int { rows * codeBytesPerRow }
    var scaleBytes: Int { rows * scalesPerRow * 2 }

    /// Code bytes and BF16 scales per row of a (rows, cols) matrix in `format`, as quantize.c lays them out (q4: the
    /// 4-bit codes then one int8 scale code per group in the code bytes).
    static func layout(cols: Int, format: Quantization) -> (codeBytesPerRow: Int, scalesPerRow: Int) {
        let group = format.groupSize, groups = (cols + group - 1) / group
        if format == .int8 { return (groups * group, groups) }
        let perScale = Int(CK_Q4_SUPER)
        return (groups * (group / 2 + 1), (groups + perScale - 1) / perScale)
    }

    /// Codes and scales laid out as `layout` says, owned by `storage` (a mapped cache file).
    init(format: Quantization, rows: Int, cols: Int, codes: UnsafeRawPointer, scales: UnsafePointer<UInt16>, storage: AnyObject) {
        self.format = format
        self.rows = rows
        self.cols = cols
        (codeBytesPerRow, scalesPerRow) = Self.layout(cols: cols, format: format)
        self.codes = codes
        self.scales = scales
        self.storage = storage
    }

    /// Quantizes `source` row tile by row tile (widened to float32 in `scratch`, never whole).
    init(quantizing source: WeightMatrix, format: Quantization, scratch: FloatBuffer) {
        precondition(format != .none, "QuantizedMatrix needs int8 or q4")
        self.format = format
        rows = source.rows
        cols = source.cols
        storage = nil
        (codeBytesPerRow, scalesPerRow) = Self.layout(cols: cols, format: format)
        let codes = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * codeBytesPerRow), alignment: 64)
        let scales = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, rows * scalesPerRow))
        let tileRows = max(1, min(rows, (1 << 20) / max(1, cols)))
        scratch.reserve(tileRows * cols)
        var start = 0
        while start < rows {
            let count = min(tileRows, rows - start)
            source.widenRows(start, count: count, into: scratch.pointer)
            for r in start..<(start + count) {
                let row = scratch.pointer + (r - start) * cols
                let code = codes + r * codeBytesPerRow, scale = scales + r * scalesPerRow
                if format == .int8 {
                    ck_quantize_row_q8(row, cols, code.assumingMemoryBound(to: Int8.self), scale)
                } else {
                    ck_quantize_row_q4(row, cols, code.assumingMemoryBound(to: UInt8.self), scale)
                }
            }
            start += count
        }
        self.codes = UnsafeRawPointer(codes)
        self.scales = UnsafePointer(scales)
    }

    deinit {
        if storage == nil {
            UnsafeMutableRawPointer(mutating: codes).deallocate()
            UnsafeMutablePointer(mutating: scales).deallocate()
        }
    }

    func dequantize(rows start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let code = codes + start * codeBytesPerRow, scale = scales + start * scalesPerRow
        if format == .int8 {
            ck_dequantize_rows_q8(code.assumingMemoryBound(to: Int8.self), scale, count, cols, destination)
        } else {
            ck_dequantize_rows_q4(code.assumingMemoryBound(to: UInt8.self), scale, count, cols, destination)
        }
    }
}

extension WeightMatrix {
    /// This matrix quantized; the memory-mapped pages of the original are released (`MADV_DONTNEED`: the quantized
    /// copy replaces them, and the kernel rereads them from the file only if something touches them again).
    func quantized(_ format: Quantization, scratch: FloatBuffer) -> WeightMatrix {
        guard format != .none, quantized == nil else { return self }
        let matrix = QuantizedMatrix(quantizing: self, format: format, scratch: scratch)
        if owner is SafetensorsFile || owner is MappedFile { releasePages(base, byteCount: releasableByteCount) }
        return WeightMatrix(rows: rows, cols: cols, dtype: dtype, base: base, owner: owner, quantized: matrix)
    }
}

/// Drops the resident pages wholly inside `[base, base + byteCount)` of a read-only file mapping.
func releasePages(_ base: UnsafeRawPointer, byteCount: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let first = (Int(bitPattern: base) + page - 1) / page * page
    let last = (Int(bitPattern: base) + byteCount) / page * page
    guard last > first, let start = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(start, last - first, Int32(MADV_DONTNEED))
}

/// Resident weight bytes of a model quantized as `ModelWeights.quantized` does it, from its spec alone (no
/// weights): the projections in their formats, the embedding in `Quantization.embeddingFormat`, everything else
/// (routers, shared-expert gates, norms) at 2 bytes a weight, as in a BF16 checkpoint. `pipeline inspect-model`
/// prints it.
public struct QuantizedSize: Sendable, Equatable {
    public var projectionBytes = 0
    public var embeddingBytes = 0
    public var otherBytes = 0
    public var residentBytes: Int { projectionBytes + embeddingBytes + otherBytes }

    public init(spec: ModelSpec, format: Quantization) {
        let h = spec.hiddenSize
        func matrix(_ rows: Int, _ cols: Int, _ f: Quantization) -> Int {
            guard f != .none else { return rows * cols * 2 }
            let (codes, scales) = QuantizedMatrix.layout(cols: cols, format: f)
            return rows * (codes + scales * 2)
        }
        func mlp(_ intermediate: Int) -> Int { 2 * matrix(intermediate, h, format) + matrix(h, intermediate, format) }
        embeddingBytes = matrix(spec.vocabSize, h, format.embeddingFormat)
        otherBytes = h * 2
        for layer in spec.layers {
            let a = format.attentionFormat
            projectionBytes += spec.attentionMatrices.reduce(0) { $0 + matrix($1.rows, $1.cols, a) }
            otherBytes += 2 * h * 2
            switch layer {
            case let .dense(intermediate): projectionBytes += mlp(intermediate)
            case let .moe(moe):
                projectionBytes += moe.experts * mlp(moe.expertIntermediate) + (moe.shared.map { mlp($0.intermediate) } ?? 0)
                otherBytes += moe.experts * h * 2 + (moe.shared?.sigmoidGated == true ? h * 2 : 0)
            }
        }
    }
}
