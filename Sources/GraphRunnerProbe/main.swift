// Runs one command through ProcessRunner with the signal trap installed, so tests can interrupt a
// real run: `GraphRunnerProbe <grace-seconds> <executable> [arguments…]`.
// Exits 0 on success, 128+n when interrupted by signal n, 1 on any other failure.
import CommandGraph
import Foundation
import GraphRunner

let arguments = CommandLine.arguments
guard arguments.count >= 3, let grace = Double(arguments[1]) else {
    FileHandle.standardError.write("usage: GraphRunnerProbe <grace-seconds> <executable> [arguments...]\n".data(using: .utf8)!)
    exit(2)
}
SignalTrap.install()
let pipeline = LoweredPipeline(stages: [ProcessSpec(executable: arguments[2], arguments: Array(arguments.dropFirst(3)))])
do {
    _ = try ProcessRunner().run(LoweredGraph(pipeline), options: RunOptions(gracePeriod: grace))
    exit(0)
} catch let failure as RunFailure {
    FileHandle.standardError.write((failure.description + "\n").data(using: .utf8)!)
    if case .interrupted(let signal) = failure.kind { exit(128 + signal) }
    exit(1)
}
