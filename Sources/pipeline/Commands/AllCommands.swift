/// Every command of `pipeline`, in the order `pipeline --help` lists them. Add one line per new command.
let allCommands: [any Command.Type] = [
    VersionCommand.self,
    ExtractCommand.self,
    ScoreManifestCommand.self,
    RunCommand.self,
    DemoCommand.self,
]
