import Foundation
import ZettabeeCLI

let code = ZettabeeMain.run(arguments: Array(CommandLine.arguments.dropFirst()))
ResourceReport.writeIfRequested()
exit(code)
