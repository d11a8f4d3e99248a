import Extract

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
