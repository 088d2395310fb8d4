import CommandGraph
import Foundation
import GraphRunner
import XCTest
import ZettabeeCLI

/// Runs zettabee's entry point inside the test process, for the tests where the processes themselves
/// are not what is tested (command-line and configuration errors): what it prints is captured line by
/// line as the binary prints it, and every process it would start goes to an executor that starts
/// none and records the attempt.
enum InProcessZettabee {
    /// An executor that starts nothing: each attempt is recorded and fails as a program that is not there.
    final class StartsNothing: GraphExecuting, @unchecked Sendable {
        private let lock = NSLock()
        private var recorded: [String] = []

        /// Every process the action tried to start, as shell text.
        var attempts: [String] { lock.withLock { recorded } }

        func run(_ graph: LoweredGraph, options: RunOptions) throws -> GraphResult {
            lock.withLock { recorded.append(Rendering.render(graph)) }
            throw RunFailure(kind: .startFailed(StageID(pipeline: 0, stage: 0), reason: "no process may start in this test"),
                             result: nil)
        }

        func startBackground(_ spec: ProcessSpec, environment: [String: String]) throws -> any BackgroundRunning {
            lock.withLock { recorded.append(Rendering.render(spec)) }
            throw RunFailure(kind: .startFailed(StageID(pipeline: 0, stage: 0), reason: "no process may start in this test"),
                             result: nil)
        }
    }

    /// The exit code and output, as `TestProcess.run` reports a run of the binary, and what it tried to start.
    static func run(_ arguments: [String], environment: [String: String]) -> (outcome: ProcessOutcome, attempts: [String]) {
        let lock = NSLock()
        var out = "", err = ""
        let terminal = Terminal(
            out: { line in lock.withLock { out += line + "\n" } },
            err: { line in lock.withLock { err += line + "\n" } })
        let executor = StartsNothing()
        let code = ZettabeeMain.run(arguments: arguments, environment: environment, terminal: terminal, executor: executor)
        let outcome = lock.withLock { ProcessOutcome(exitCode: code, signaled: false, stdout: out, stderr: err) }
        return (outcome, executor.attempts)
    }
}
