import Foundation

/// `pipeline demo`
struct DemoCommand: Command {
    static let path = ["demo"]
    static let abstract = "extract + score the committed demo (tiny random model, slices of real tasks)"
    static let help = """
        Usage: pipeline demo [--keep-cache]

        Runs manifests/demo.json from the repository this executable was built in (or MOEE_HOME): a tiny
        OLMoE-shaped model with random weights and a slice of six real MTEB tasks, all committed in demo/.
        Needs no download and no ../shared. Writes to out/demo in the repository (a temporary folder if that is
        not writable) and prints the summary table.

        Options:
          --keep-cache  reuse out/demo/cache.sqlite instead of starting from an empty store
        """

    let keepCache: Bool

    init(arguments: inout Arguments) throws {
        keepCache = arguments.flag("--keep-cache")
        try arguments.finish()
    }

    func run() throws {
        try Demo.run(backends: RealBackends(), executable: URL(fileURLWithPath: CommandLine.arguments[0]),
                     freshStore: !keepCache)
    }
}
