import Foundation

/// The tiny transformers reference checkpoints vendored in the repository (`Tests/Fixtures/models`), so that a
/// clone without `../shared` still runs the forward-pass parity tests. Each folder holds `config.json`,
/// `model.safetensors` and the outputs transformers computed (`expected.safetensors`, `expected-unpadded.safetensors`);
/// `Tests/Fixtures/models/README.md` says how they were made and lists their SHA-256.
public enum FixtureModels {
    /// `Tests/Fixtures/models` in the repository.
    public static let root: URL = SharedData.repository("Tests/Fixtures/models")

    /// The folder of one fixture, e.g. `url("olmoe-tiny")`.
    public static func url(_ name: String) -> URL { root.appendingPathComponent(name) }
}
