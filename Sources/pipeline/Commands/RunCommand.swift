import Foundation

/// `pipeline run MANIFEST`
struct RunCommand: Command {
    static let path = ["run"]
    static let abstract = "extract, then score"
    static let help = """
        Usage: pipeline run MANIFEST

        `pipeline extract MANIFEST` followed by `pipeline score MANIFEST`; prints the summary table.
        """

    let manifest: String

    init(arguments: inout Arguments) throws {
        manifest = try arguments.requiredPositional("MANIFEST")
        try arguments.finish()
    }

    func run() throws {
        let manifest = try Manifest.load(URL(fileURLWithPath: self.manifest))
        let backends = RealBackends()
        try Pipeline.extract(manifest, shard: .whole, backends: backends)
        print(Demo.mainTable(try Pipeline.score(manifest, backends: backends)))
    }
}
