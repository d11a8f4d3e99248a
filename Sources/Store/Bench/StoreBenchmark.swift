// `pipeline bench store`: codec comparison on a sample, then the stage-two read bars on a full-size store.
import Foundation

/// Measures the store on OLMoE-1B-7B-shaped synthetic records (see `SyntheticRecords` for why they compress
/// like real ones). Part 1 writes `sample` records with every codec, including uncompressed BLOBs as the
/// baseline, and reads them all back. Part 2 builds a store of `records` records with the default codecs and
/// times the two bulk reads stage two depends on (bars: router logits of 100k texts < 1 s, one hidden-state
/// layer of 100k texts < 5 s). Files go to `directory` and are deleted afterwards.
public struct StoreBenchmark {
    public var records: Int
    public var sample: Int
    public var batch: Int
    public var directory: String
    public var keep: Bool
    /// Reuse the part-2 store of an earlier `keep` run when it holds `records` records (and skip part 1).
    public var reuse: Bool
    public var progress: (String) -> Void

    public init(records: Int = 100_000, sample: Int = 1000, batch: Int = 64, directory: String,
                keep: Bool = false, reuse: Bool = false, progress: @escaping (String) -> Void = { _ in }) {
        self.records = records
        self.sample = sample
        self.batch = batch
        self.directory = directory
        self.keep = keep
        self.reuse = reuse
        self.progress = progress
    }

    /// One row of the codec table.
    public struct CodecRow: Sendable {
        public var name: String
        public var writeRecordsPerSecond: Double
        public var writeMBPerSecond: Double
        public var readRecordsPerSecond: Double
        public var readMBPerSecond: Double
        public var hiddenBytesPerRecord: Double
        public var routerBytesPerRecord: Double
        public var fileBytesPerRecord: Double
    }

    public struct Result: Sendable {
        public var codecRows: [CodecRow]
        public var sample: Int
        public var records: Int
        public var writeSeconds: Double
        public var fileBytes: Int
        public var routerReadSeconds: [Timing]
        public var hiddenReadSeconds: [Timing]
        public var float32BytesPerRecord: Int
    }

    let generator = SyntheticRecords.olmoe()

    static let codecs: [(String, TensorCodec)] = [
        ("F32 uncompressed BLOB", TensorCodec(dtype: .f32, shuffle: false, compress: false)),
        ("F32 LZ4", TensorCodec(dtype: .f32, shuffle: false)),
        ("F32 shuffle+LZ4", TensorCodec(dtype: .f32, shuffle: true)),
        ("F16 uncompressed BLOB", TensorCodec(dtype: .f16, shuffle: false, compress: false)),
        ("F16 LZ4", TensorCodec(dtype: .f16, shuffle: false)),
        ("F16 shuffle+LZ4", TensorCodec(dtype: .f16, shuffle: true)),
        ("BF16 uncompressed BLOB", TensorCodec(dtype: .bf16, shuffle: false, compress: false)),
        ("BF16 LZ4", TensorCodec(dtype: .bf16, shuffle: false)),
        ("BF16 shuffle+LZ4", TensorCodec(dtype: .bf16, shuffle: true)),
    ]

    public func run() throws -> Result {
        let mb = Double(generator.float32BytesPerRecord) / 1e6
        // Part 1: every codec on the same sample (generated once, outside the timings).
        if !reuse { progress("generating \(sample) sample records") }
        let samples = reuse ? [] : (0..<sample).map(generator.record)
        let texts = samples.map(\.text)
        var rows: [CodecRow] = []
        for (name, codec) in reuse ? [] : Self.codecs {
            progress("codec \(name): writing \(sample) records")
            let path = directory + "/bench-codec-\(rows.count).sqlite"
            try remove(path)
            let store = try EmbeddingStore(path: path, options: StoreOptions(hiddenStates: codec, routerLogits: codec))
            let model = try store.register(generator.model), prompt = try store.register(generator.prompt)
            let writeSeconds = try time {
                for start in stride(from: 0, to: samples.count, by: batch) {
                    try store.put(Array(samples[start..<min(start + batch, samples.count)]), model: model, prompt: prompt)
                }
            }
            progress("codec \(name): reading every tensor back")
            let readSeconds = try time {
                for pooling in Pooling.allCases {
                    for layer in 0..<generator.hiddenLayers {
                        _ = try store.hiddenStates(model: model, prompt: prompt, layer: layer, pooling: pooling, texts: texts)
                    }
                    _ = try store.routerLogits(model: model, prompt: prompt, pooling: pooling, texts: texts)
                }
            }
            let stats = try store.stats()
            try store.checkpoint()  // the file size below then holds everything, with no WAL beside it
            let n = Double(sample)
            rows.append(CodecRow(name: name, writeRecordsPerSecond: n / writeSeconds, writeMBPerSecond: n * mb / writeSeconds,
                                 readRecordsPerSecond: n / readSeconds, readMBPerSecond: n * mb / readSeconds,
                                 hiddenBytesPerRecord: Double(stats.kinds[0].storedBytes) / n,
                                 routerBytesPerRecord: Double(stats.kinds[1].storedBytes) / n,
                                 fileBytesPerRecord: Double(try fileSize(path)) / n))
            try remove(path)
        }

        // Part 2: a full-size store with the default codecs.
        let path = directory + "/bench-store.sqlite"
        var reusable = false
        if reuse && FileManager.default.fileExists(atPath: path) {
            reusable = try EmbeddingStore(path: path, readOnly: true).recordCount() == records
        }
        if !reusable { try remove(path) }
        let store = try EmbeddingStore(path: path)
        let model = try store.register(generator.model), prompt = try store.register(generator.prompt)
        var writeSeconds = 0.0
        var start = reusable ? records : 0
        while start < records {
            let chunk = (start..<min(start + batch, records)).map(generator.record)
            writeSeconds += try time { try store.put(chunk, model: model, prompt: prompt) }
            start += chunk.count
            if start % (batch * 160) < batch || start == records {
                progress("writing the \(records)-record store: \(start) records, \(Int(Double(start) / writeSeconds)) records/s")
            }
        }
        try store.checkpoint()
        let fileBytes = try fileSize(path)
        // Stage two asks in task order, not storage order: shuffle deterministically.
        var random = SplitMix64(seed: 42)
        var allTexts = (0..<records).map(generator.text)
        for i in stride(from: allTexts.count - 1, to: 0, by: -1) { allTexts.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        var routerSeconds: [Timing] = [], hiddenSeconds: [Timing] = []
        for round in 1...2 {
            progress("reading router logits of \(records) texts (round \(round))")
            routerSeconds.append(try timing { _ = try store.routerLogits(model: model, prompt: prompt, pooling: .last, texts: allTexts) })
            progress("reading the final hidden state of \(records) texts (round \(round))")
            hiddenSeconds.append(try timing {
                _ = try store.hiddenStates(model: model, prompt: prompt, layer: -1, pooling: .last, texts: allTexts)
            })
        }
        if !keep && !reuse { try remove(path) }
        return Result(codecRows: rows, sample: sample, records: records, writeSeconds: writeSeconds, fileBytes: fileBytes,
                      routerReadSeconds: routerSeconds, hiddenReadSeconds: hiddenSeconds,
                      float32BytesPerRecord: generator.float32BytesPerRecord)
    }

    /// Wall-clock and CPU seconds (user + system, all threads of this process) of one run.
    public struct Timing: Sendable, CustomStringConvertible {
        public var wall: Double
        public var cpu: Double
        public var description: String { String(format: "%.3f s (cpu %.3f s)", wall, cpu) }
    }

    private func timing(_ body: () throws -> Void) throws -> Timing {
        func cpu() -> Double {
            var usage = rusage()
            #if canImport(Glibc)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            #else
            getrusage(RUSAGE_SELF, &usage)
            #endif
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        let before = cpu()
        let wall = try time(body)
        return Timing(wall: wall, cpu: cpu() - before)
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func fileSize(_ path: String) throws -> Int {
        var total = 0
        for suffix in ["", "-wal"] {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            total += (attributes?[.size] as? NSNumber)?.intValue ?? 0
        }
        return total
    }

    private func remove(_ path: String) throws {
        for suffix in ["", "-wal", "-shm", ".lock"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}

extension StoreBenchmark.Result {
    /// The report `pipeline bench store` prints.
    public var table: String {
        func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        let rawPerRecord = Double(float32BytesPerRecord)
        var lines = [
            "Records shaped like OLMoE-1B-7B: 17 x 2048 hidden states and 16 x 64 router logits, each pooled 2 ways",
            "(\(float32BytesPerRecord) bytes as float32). Synthetic values: per-dimension means and scales with",
            "approximately Gaussian noise (not uniform noise), so compression ratios are those of smooth float data.",
            "",
            "1. Codecs on \(sample) records (the codec applies to both tensor kinds; read = every tensor of every record)",
            "",
            "| codec | write rec/s | write MB/s | read rec/s | read MB/s | hidden B/rec | router B/rec | file B/rec | vs F32 BLOB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        let baseline = codecRows.first.map { $0.hiddenBytesPerRecord + $0.routerBytesPerRecord } ?? 1
        for row in codecRows {
            let stored = row.hiddenBytesPerRecord + row.routerBytesPerRecord
            lines.append("| \(row.name) | \(f(row.writeRecordsPerSecond)) | \(f(row.writeMBPerSecond)) | "
                + "\(f(row.readRecordsPerSecond)) | \(f(row.readMBPerSecond)) | \(f(row.hiddenBytesPerRecord)) | "
                + "\(f(row.routerBytesPerRecord)) | \(f(row.fileBytesPerRecord)) | \(f(stored / baseline, 3)) |")
        }
        lines += [
            "", "MB = 10^6 bytes of float32 tensor data; B/rec = stored blob bytes per record; file B/rec includes SQLite overhead.",
            "",
            "2. Default store (hidden F16 shuffle+LZ4, router F32 shuffle+LZ4) with \(records) records",
            "",
            "| measure | value |", "|---|---:|",
            "| write | \(f(Double(records) / writeSeconds)) records/s, \(f(Double(records) * rawPerRecord / 1e6 / writeSeconds)) MB/s |",
            "| file size | \(fileBytes) bytes (\(f(Double(fileBytes) / Double(max(records, 1)))) per record) |",
            "| router logits (last), all \(records) texts, shuffled order | "
                + routerReadSeconds.map(\.description).joined(separator: ", ") + " (bar < 1 s at 100k) |",
            "| hidden state layer -1 (last), all \(records) texts | "
                + hiddenReadSeconds.map(\.description).joined(separator: ", ") + " (bar < 5 s at 100k) |",
        ]
        return lines.joined(separator: "\n")
    }
}
