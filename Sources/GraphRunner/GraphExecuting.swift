import CommandGraph
import Foundation

/// Runs lowered graphs. Domain code depends only on this, so its tests can substitute a fake.
public protocol GraphExecuting: Sendable {
    /// Runs every pipeline of `graph` to its end and returns what became of each process.
    /// Throws `RunFailure` (carrying the result when anything started) unless every stage succeeded.
    func run(_ graph: LoweredGraph, options: RunOptions) throws -> GraphResult
    /// Starts a helper process that lives alongside an action (an ssh connection master) and is ended
    /// by `stop()`. Throws `RunFailure` when it cannot start.
    func startBackground(_ spec: ProcessSpec, environment: [String: String]) throws -> any BackgroundRunning
}

/// A helper process started by `GraphExecuting.startBackground`.
public protocol BackgroundRunning: AnyObject, Sendable {
    /// How it ended; nil while it runs.
    var terminationStatus: Termination? { get }
    /// The last few KiB of its stderr.
    var stderrTail: String { get }
    /// Waits at most `seconds` for it to end; returns whether it has.
    @discardableResult func waitForExit(seconds: Double) -> Bool
    /// Ends it (SIGTERM to its group, then SIGKILL) and waits for it.
    func stop()
}

extension GraphExecuting {
    /// Whether `executable` would be found on the PATH of `environment` (zettabee's own on top), as
    /// the runner resolves it before a run.
    public func canRun(_ executable: String, environment: [String: String]) -> Bool {
        let path = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return ExecutableResolver.resolve(executable, searchPath: path) != nil
    }

    public func run(_ graph: LoweredGraph) throws -> GraphResult {
        try run(graph, options: RunOptions())
    }

    /// Runs one short pipeline (a `zfs get`, a `zfs snapshot`) and returns its stdout as text.
    /// The pipeline's own output sink is replaced by a capture of at most `limit` bytes.
    public func capture(
        _ pipeline: LoweredPipeline, limit: Int = 1 << 20, options: RunOptions = RunOptions()
    ) throws -> (stdout: String, result: GraphResult) {
        var pipeline = pipeline
        pipeline.output = .capture(limit: limit)
        let result = try run(LoweredGraph(pipeline), options: options)
        return (result.capturedText(0), result)
    }
}
