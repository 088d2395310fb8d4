import Foundation
import ZettabeeCLI

exit(ZettabeeMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
