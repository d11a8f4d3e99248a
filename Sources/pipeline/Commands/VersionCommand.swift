/// `pipeline version`: prints the tool's version, for bug reports and result files.
struct VersionCommand: Command {
    static let path = ["version"]
    static let abstract = "print the version of moee"
    static let help = """
        Usage: pipeline version

        Prints the version of moee.
        """

    init(arguments: inout Arguments) throws {
        try arguments.finish()
    }

    func run() throws {
        print(moeeVersion)
    }
}

let moeeVersion = "0.1.0"
