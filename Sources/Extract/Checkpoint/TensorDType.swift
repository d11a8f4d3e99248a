/// The element types a safetensors header may name (the `dtype` field), with their sizes.
///
/// Only F32, F16 and BF16 can hold weights; the integer types are read for fixtures (`input_ids`, `router_layers`).
public enum TensorDType: String, Sendable, CaseIterable, Codable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Whether weights of this type can be multiplied (converted to float32 per tile).
    public var isWeightType: Bool { self == .f32 || self == .f16 || self == .bf16 }
}
