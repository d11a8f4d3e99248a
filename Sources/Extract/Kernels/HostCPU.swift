import Foundation

/// The CPU a measurement ran on, for benchmark output: every speed claim names its CPU (DEVELOPERS.md).
public enum HostCPU {
    /// `/proc/cpuinfo`'s model name (e.g. "AMD EPYC"), or "unknown CPU".
    public static let modelName: String = cpuinfoField("model name") ?? "unknown CPU"

    /// The SIMD features the kernels choose by, as the kernel reports them ("avx2 fma avx512f avx512_bf16").
    public static let simdFlags: String = {
        let flags = Set((cpuinfoField("flags") ?? "").split(separator: " ").map(String.init))
        let wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]
        let present = wanted.filter(flags.contains)
        return present.isEmpty ? "none of avx2/fma/avx512" : present.joined(separator: " ")
    }()

    /// One line: "AMD EPYC, 2 cores, flags avx2 fma ...".
    public static var summary: String {
        "\(modelName), \(ProcessInfo.processInfo.activeProcessorCount) cores, flags \(simdFlags)"
    }

    private static func cpuinfoField(_ name: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}

extension MoEModel {
    /// Which kernel computes the large products: "BF16 kernel (AVX-512 BF16)", "F32 kernel (AVX-512F)",
    /// "F32 kernel (AVX2/FMA)" (naming BF16 weights widened or quantized ones dequantized per panel) or
    /// "OpenBLAS sgemm" (every host without AVX-512, and MOEE_BF16_KERNEL=0 / MOEE_F32_KERNEL=0).
    public var kernelDescription: String {
        if usesBF16Kernel { return "BF16 kernel (AVX-512 BF16)" }
        if usesF32Kernel, let isa = F32Kernel.isa {
            if usesInt8Activations {
                let path = Int8Activations.usesAVX2 ? "AVX2 vpmaddubsw" : "portable"
                return "F32 kernel (\(isa.rawValue)) with q4 MLPs x int8 activations (\(path); int8 attention dequantized a panel at a time)"
            }
            if quantization != .none { return "F32 kernel (\(isa.rawValue), \(quantization.rawValue) weights dequantized a panel at a time)" }
            let element = F32Kernel.weightElement(weightDType: weightDType)
            return element == .bf16Widened ? "F32 kernel (AVX2/FMA, BF16 weights widened in registers)" : "F32 kernel (\(isa.rawValue))"
        }
        return "OpenBLAS sgemm (core \(BLASCore.current))"
    }
}
