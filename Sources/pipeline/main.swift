import Foundation

BLASReexec.selectFastKernels(arguments: CommandLine.arguments)
exit(CLI.main(CommandLine.arguments))
