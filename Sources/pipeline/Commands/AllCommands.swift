/// Every command of `pipeline`, in the order `pipeline --help` lists them. Add one line per new command.
let allCommands: [any Command.Type] = [
    VersionCommand.self,
    ExtractCommand.self,
    ScoreCommand.self,
    RunCommand.self,
    DemoCommand.self,
    BenchScoreCommand.self,
    StoreStatsCommand.self,
    StoreVerifyCommand.self,
    StoreMergeCommand.self,
    StoreWriteLoopCommand.self,
    BenchStoreCommand.self,
    TokenizeCommand.self,
    BenchTokenizeCommand.self,
    BenchExtractCommand.self,
    ForwardCommand.self,
    InspectModelCommand.self,
]
