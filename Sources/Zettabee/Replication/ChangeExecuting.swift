import CommandGraph
import Foundation
import GraphRunner

/// Where the replicator's changes go. Every command that changes a host's state and every transfer
/// passes through one of these: `LiveChanges` runs them, `RenderedChanges` (the dry run) prints the
/// shell text of the very argv the live executor would run, lowered by the same code for the same
/// session (its shared ssh connection's options included). Reads are not changes: they run in both.
public protocol ChangeExecuting: Sendable {
    /// Runs a state-changing control command on `session`, or renders it. A failure is returned, not
    /// thrown: what a failure means (fatal, tolerated, retried) is the replicator's call.
    func change(_ command: Command, on session: HostSession) -> CommandFailure?
    /// Runs a transfer graph, or renders it (then nil: nothing ran).
    func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult?
    /// Tells of something that is not a change but explains the printout (a shared ssh master).
    func note(_ text: String)
    /// True when changes only print: later reads then show the hosts as they were.
    var rendersOnly: Bool { get }
}

/// Runs every change.
public struct LiveChanges: ChangeExecuting {
    public init() {}

    public func change(_ command: Command, on session: HostSession) -> CommandFailure? {
        do {
            try session.run(command)
            return nil
        } catch {
            return error
        }
    }

    public func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult? {
        try executor.run(graph, options: options)
    }

    public func note(_ text: String) {}

    public var rendersOnly: Bool { false }
}

/// The dry run: prints each change as the shell text that would run, one line each (a transfer's
/// pipelines on lines of their own), and runs none.
public struct RenderedChanges: ChangeExecuting {
    let output: @Sendable (String) -> Void

    public init(output: @escaping @Sendable (String) -> Void) { self.output = output }

    public func change(_ command: Command, on session: HostSession) -> CommandFailure? {
        output(session.render(command))
        return nil
    }

    public func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult? {
        output(Rendering.render(graph))
        return nil
    }

    public func note(_ text: String) { output("# " + text) }

    public var rendersOnly: Bool { true }
}

/// Runs every change through `LiveChanges` and keeps, in order, the text `RenderedChanges` would have
/// printed for it: what a test compares with a dry run of the same state.
public final class RecordedChanges: ChangeExecuting, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private let live = LiveChanges()

    public init() {}

    /// What ran so far, as the dry run prints it.
    public var recorded: [String] { lock.withLock { lines } }

    public func change(_ command: Command, on session: HostSession) -> CommandFailure? {
        let rendered = session.render(command)
        lock.withLock { lines.append(rendered) }
        return live.change(command, on: session)
    }

    public func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult? {
        let rendered = Rendering.render(graph)
        lock.withLock { lines.append(rendered) }
        return try live.transfer(graph, executor: executor, options: options)
    }

    public func note(_ text: String) {}

    public var rendersOnly: Bool { false }
}
