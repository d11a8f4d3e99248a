import CKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An on-disk copy of a model's quantized weights, so a reload maps them instead of quantizing again
/// (`MoEModel.Options.quantizedCache`, `--quantized-cache DIR`, manifest `"quantized_cache"`).
///
/// One file per checkpoint and format, `DIR/<fingerprint>-<format>.moeq`:
///
///     bytes 0..<8    "MOEQUANT"
///     8..<12         format version (UInt32, little-endian) = `QuantizedCache.version`
///     12..<16        0
///     16..<24        header length n (UInt64)
///     24..<32        checksum of the data area (UInt64, `combinedChecksum`)
///     32..<32+n      JSON header: version, quantization, the checkpoint fingerprint, group sizes, data bytes and the
///                    tensor table (name, format, rows, cols, offsets of codes and scales in the data area)
///     then, from the next multiple of 64: the data area, every block 64-byte aligned
///
/// Written to a temporary file in DIR and renamed into place, so a reader never sees a partial file (a write
/// killed midway leaves only `.<name>.tmp-<pid>`, removed by the next write once that process is gone).
/// A file that does not match (other version, fingerprint, format or tensor table) or is corrupt (bad magic,
/// unreadable header, wrong size, checksum mismatch) is NOT used: the model quantizes again and rewrites it, and
/// `MoEModel.quantizedCacheStatus` says why (`pipeline` prints it as a warning naming the file).
public enum QuantizedCache {
    /// 2: the token embedding is in the file (int8); version-1 files (no embedding) are rebuilt.
    /// 3: q4 group scales are int8 codes under a BF16 super-scale per 8 groups (version 2: a BF16 scale per group).
    public static let version = 3
    static let magic = Array("MOEQUANT".utf8)
    static let prefixBytes = 32

    /// `DIR/<fingerprint>-<format>.moeq`.
    public static func url(directory: URL, fingerprint: String, format: Quantization) -> URL {
        directory.appendingPathComponent("\(fingerprint)-\(format.rawValue).moeq")
    }

    struct Header: Codable {
        struct Tensor: Codable {
            var name: String
            var format: Quantization
            var rows: Int
            var cols: Int
            var codes: Int
            var scales: Int
        }
        var version: Int
        var quantization: Quantization
        var fingerprint: String
        var groupInt8: Int
        var groupQ4: Int
        var dataBytes: Int
        var tensors: [Tensor]

        enum CodingKeys: String, CodingKey {
            case version, quantization, fingerprint, tensors
            case groupInt8 = "group_int8", groupQ4 = "group_q4", dataBytes = "data_bytes"
        }
    }

    static func aligned(_ n: Int) -> Int { (n + 63) / 64 * 64 }

    /// Maps `url` and returns its matrices by name, after checking it against the checkpoint fingerprint, the
    /// format and `plan` (every matrix the model quantizes, with shape and format).
    static func load(_ url: URL, fingerprint: String, format: Quantization,
                     plan: [(name: String, rows: Int, cols: Int, format: Quantization)]) throws -> [String: QuantizedMatrix] {
        func bad(_ reason: String) -> QuantizedCacheError { .invalid(file: url.path, reason: reason) }
        let file: MappedFile
        do { file = try MappedFile(url: url) } catch { throw bad("cannot map: \(error)") }
        guard file.size >= prefixBytes, let base = file.base else { throw bad("truncated: \(file.size) bytes") }
        guard Array(UnsafeRawBufferPointer(start: base, count: 8)) == magic else { throw bad("not a quantized-weight cache (bad magic)") }
        let fileVersion = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard fileVersion == version else { throw bad("format version \(fileVersion), this build reads \(version)") }
        let headerBytes = Int(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        let checksum = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        guard headerBytes > 0, headerBytes <= file.size - prefixBytes else { throw bad("truncated header (\(headerBytes) bytes declared)") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(file.bytes(prefixBytes..<(prefixBytes + headerBytes))))
        } catch { throw bad("unreadable header: \(error)") }
        let dataStart = aligned(prefixBytes + headerBytes)
        guard header.version == version, header.groupInt8 == Quantization.int8.groupSize, header.groupQ4 == Quantization.q4.groupSize
        else { throw bad("written with other group sizes or version") }
        guard header.fingerprint == fingerprint else { throw bad("written for checkpoint \(header.fingerprint), not \(fingerprint)") }
        guard header.quantization == format else { throw bad("holds \(header.quantization.rawValue) weights, not \(format.rawValue)") }
        guard file.size == dataStart + header.dataBytes else {
            throw bad("\(file.size) bytes, the header implies \(dataStart + header.dataBytes) (truncated or extended)")
        }
        let expected = Dictionary(plan.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard header.tensors.count == plan.count else { throw bad("\(header.tensors.count) tensors, the model quantizes \(plan.count)") }
        var matrices: [String: QuantizedMatrix] = [:]
        for t in header.tensors {
            guard let want = expected[t.name], want.rows == t.rows, want.cols == t.cols, want.format == t.format, t.format != .none else {
                throw bad("tensor \(t.name) (\(t.format.rawValue) \(t.rows)x\(t.cols)) is not what the model quantizes")
            }
            let (codeBytesPerRow, scalesPerRow) = QuantizedMatrix.layout(cols: t.cols, format: t.format)
            let codeEnd = t.codes + t.rows * codeBytesPerRow, scaleEnd = t.scales + t.rows * scalesPerRow * 2
            guard t.codes >= 0, t.scales >= 0, t.codes % 64 == 0, t.scales % 64 == 0, codeEnd <= header.dataBytes, scaleEnd <= header.dataBytes
            else { throw bad("tensor \(t.name): blocks outside the data area") }
            matrices[t.name] = QuantizedMatrix(format: t.format, rows: t.rows, cols: t.cols, codes: base + dataStart + t.codes,
                                               scales: (base + dataStart + t.scales).assumingMemoryBound(to: UInt16.self), storage: file)
        }
        guard matrices.count == plan.count else { throw bad("duplicate tensor names") }
        let blocks = header.tensors.compactMap { matrices[$0.name] }.flatMap { m -> [(UnsafeRawPointer, Int)] in
            [(m.codes, m.codeBytes), (UnsafeRawPointer(m.scales), m.scaleBytes)]
        }
        guard combinedChecksum(blocks) == checksum else { throw bad("checksum mismatch (corrupt data)") }
        return matrices
    }

    /// Writes `matrices` to `url` atomically (temporary file in the same folder, then rename).
    static func write(_ url: URL, fingerprint: String, format: Quantization, matrices: [(name: String, matrix: QuantizedMatrix)]) throws {
        func fail(_ reason: String) -> QuantizedCacheError { .unwritable(file: url.path, reason: reason) }
        var tensors: [Header.Tensor] = [], offset = 0
        for (name, m) in matrices {
            let codes = offset
            offset = aligned(offset + m.codeBytes)
            tensors.append(.init(name: name, format: m.format, rows: m.rows, cols: m.cols, codes: codes, scales: offset))
            offset = aligned(offset + m.scaleBytes)
        }
        let header = Header(version: version, quantization: format, fingerprint: fingerprint, groupInt8: Quantization.int8.groupSize,
                            groupQ4: Quantization.q4.groupSize, dataBytes: offset, tensors: tensors)
        let json: Data
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { json = try encoder.encode(header) } catch { throw fail("cannot encode the header: \(error)") }
        let directory = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw fail("cannot create \(directory.path): \(error.localizedDescription)")
        }
        removeStaleTemporaries(of: url)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        var done = false
        defer {
            close(fd)
            if !done { unlink(temporary.path) }
        }
        func put(_ buffer: UnsafeRawBufferPointer) throws {
            guard let base = buffer.baseAddress else { return }
            try put(base, buffer.count)
        }
        func put(_ pointer: UnsafeRawPointer, _ count: Int) throws {
            var written = 0
            while written < count {
                let n = Glibc.write(fd, pointer + written, count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw fail("write failed: \(String(cString: strerror(errno)))") }
                written += n
            }
        }
        let zeros = [UInt8](repeating: 0, count: 64)
        func pad(to position: Int, from current: Int) throws {
            if position > current { try zeros.withUnsafeBytes { try put(UnsafeRawBufferPointer(rebasing: $0[0..<(position - current)])) } }
        }
        let dataStart = aligned(prefixBytes + json.count)
        var blocks: [(UnsafeRawPointer, Int, Int)] = []  // pointer, bytes, offset in the data area
        for (t, (_, m)) in zip(tensors, matrices) {
            blocks.append((m.codes, m.codeBytes, t.codes))
            blocks.append((UnsafeRawPointer(m.scales), m.scaleBytes, t.scales))
        }
        let checksum = combinedChecksum(blocks.map { ($0.0, $0.1) })
        var prefix = [UInt8](repeating: 0, count: prefixBytes)
        prefix.replaceSubrange(0..<8, with: magic)
        withUnsafeBytes(of: UInt32(version).littleEndian) { prefix.replaceSubrange(8..<12, with: $0) }
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.replaceSubrange(16..<24, with: $0) }
        withUnsafeBytes(of: checksum.littleEndian) { prefix.replaceSubrange(24..<32, with: $0) }
        try prefix.withUnsafeBytes { try put($0) }
        try json.withUnsafeBytes { try put($0) }
        try pad(to: dataStart, from: prefixBytes + json.count)
        var position = 0
        for (pointer, count, at) in blocks {
            try pad(to: at, from: position)
            try put(pointer, count)
            position = at + count
        }
        try pad(to: offset, from: position)
        guard fsync(fd) == 0 else { throw fail("fsync failed: \(String(cString: strerror(errno)))") }
        guard rename(temporary.path, url.path) == 0 else { throw fail("cannot rename \(temporary.path): \(String(cString: strerror(errno)))") }
        done = true
    }

    /// The checksum of the data area: `ck_checksum64` of every block (codes, then scales, tensor by tensor)
    /// folded in order; the zero padding between blocks is not covered (the file size is checked instead).
    static func combinedChecksum(_ blocks: [(UnsafeRawPointer, Int)]) -> UInt64 {
        blocks.reduce(UInt64(0x51_7c_c1_b7_27_22_0a_95)) { h, block in (h ^ ck_checksum64(block.0, block.1)) &* 0x9E37_79B9_7F4A_7C15 }
    }

    /// Removes `.<name>.tmp-<pid>` files left by writers that are no longer running.
    private static func removeStaleTemporaries(of url: URL) {
        let directory = url.deletingLastPathComponent(), prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory.appendingPathComponent(name).path) }
        }
    }
}

/// What loading a model did with its quantized-weight cache.
public enum QuantizedCacheStatus: Sendable, Equatable {
    /// No cache folder, or no quantization.
    case unused
    /// Mapped from the file: nothing was quantized.
    case loaded(URL)
    /// No file yet: quantized, then written.
    case written(URL)
    /// The file was unusable (`reason`): quantized again and rewritten.
    case rebuilt(URL, reason: String)
    /// Quantized in memory, but the file could not be written (`reason`); the model works without it.
    case notWritten(URL, reason: String)

    /// A line for stderr when something went wrong, else nil.
    public var warning: String? {
        switch self {
        case .unused, .loaded, .written: return nil
        case let .rebuilt(_, reason): return "warning: \(reason); quantized again and rewrote it"
        case let .notWritten(_, reason): return "warning: \(reason); the weights were quantized in memory only"
        }
    }
}

extension QuantizedCache {
    /// `weights` quantized: from the cache file when `cache` names a folder holding a valid one, else quantized
    /// (and written there when `cache` is set).
    static func quantize(_ weights: ModelWeights, format: Quantization, scope: QuantizationScope, cache: URL?,
                         fingerprint: String) -> (ModelWeights, QuantizedCacheStatus) {
        guard format != .none, let cache else { return (weights.quantized(format, scope: scope), .unused) }
        let url = Self.url(directory: cache, fingerprint: fingerprint, format: format)
        var problem: String?
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let matrices = try load(url, fingerprint: fingerprint, format: format, plan: weights.quantizationPlan(format, scope: scope))
                let mapped = weights.mapQuantized(format, scope: scope, concurrent: false) { name, m, _, _ in
                    guard let q = matrices[name] else { return m }
                    return WeightMatrix(rows: m.rows, cols: m.cols, dtype: m.dtype, base: m.base, owner: m.owner, quantized: q)
                }
                return (mapped, .loaded(url))
            } catch {
                problem = "\(error)"
            }
        }
        let quantized = weights.quantized(format, scope: scope)
        do {
            try write(url, fingerprint: fingerprint, format: format, matrices: quantized.quantizedMatrices)
        } catch {
            return (quantized, .notWritten(url, reason: (problem.map { $0 + "; " } ?? "") + "\(error)"))
        }
        return (quantized, problem.map { .rebuilt(url, reason: $0) } ?? .written(url))
    }
}

/// Why a quantized-weight cache file was not used or not written; each names the file.
public enum QuantizedCacheError: Error, CustomStringConvertible, Equatable {
    case invalid(file: String, reason: String)
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(file, reason): return "\(file): quantized-weight cache not usable: \(reason)"
        case let .unwritable(file, reason): return "\(file): cannot write the quantized-weight cache: \(reason)"
        }
    }
}
