import Extract
import Foundation

extension Quantization {
    /// The value of `--quantize` (absent = none); a usage error names the accepted values.
    init(argument: String?) throws {
        let name = argument ?? "none"
        guard let value = Quantization(rawValue: name) else {
            throw UsageError("--quantize must be one of \(Quantization.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
        }
        self = value
    }
}

/// The load time and what happened with the quantized-weight cache, on stderr (`forward`, `bench extract`).
func reportLoad(_ model: MoEModel, seconds: Double) {
    if let warning = model.quantizedCacheStatus.warning { stderr(warning) }
    let cache: String
    switch model.quantizedCacheStatus {
    case .unused: cache = ""
    case let .loaded(url): cache = "; quantized weights mapped from \(url.path)"
    case let .written(url), let .rebuilt(url, _): cache = "; quantized weights written to \(url.path)"
    case .notWritten: cache = ""
    }
    stderr(String(format: "load: %.2f s (%@)", seconds, model.variant) + cache)
}
