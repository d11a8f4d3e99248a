import Foundation

/// The input file of `pipeline forward`: `{"input_ids": [[int]], "attention_mask": [[0|1]]}`, left padded.
/// A missing `attention_mask` means every token is real.
public struct ForwardInput: Decodable, Sendable, Equatable {
    public var inputIDs: [[Int]]
    public var attentionMask: [[Int]]

    enum CodingKeys: String, CodingKey {
        case inputIDs = "input_ids"
        case attentionMask = "attention_mask"
    }

    public init(inputIDs: [[Int]], attentionMask: [[Int]]) {
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputIDs = try c.decode([[Int]].self, forKey: .inputIDs)
        attentionMask = try c.decodeIfPresent([[Int]].self, forKey: .attentionMask) ?? inputIDs.map { $0.map { _ in 1 } }
    }

    /// Reads and decodes `url`, with errors naming the file and key.
    public static func read(_ url: URL) throws -> ForwardInput {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decodeConfig(ForwardInput.self, from: data, file: url.path)
    }
}
