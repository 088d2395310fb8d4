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
    /// Runs state-changing commands on a remote `session` as one round trip that stops at the first
    /// failure (`RemoteSequence`), or renders that one line; one outcome per command.
    func change(sequence commands: [Command], on session: HostSession) -> [StepOutcome]
    /// Runs a transfer graph, or renders it (then nil: nothing ran).
    func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult?
    /// Tells of something that is not a change but explains the printout (a shared ssh master).
    func note(_ text: String)
    /// True when changes only print: later reads then show the hosts as they were.
    var rendersOnly: Bool { get }
}

/// What became of one command of a sequence.
public enum StepOutcome: Sendable {
    /// It ran and exited 0; what it printed (nothing in a dry run, where it did not run).
    case succeeded(stdout: String)
    case failed(CommandFailure)
    /// An earlier command failed and the line stopped.
    case notRun

    var succeeded: Bool { if case .succeeded = self { true } else { false } }
}

/// Runs every change.
public struct LiveChanges: ChangeExecuting {
    public init() {}

    public func change(sequence commands: [Command], on session: HostSession) -> [StepOutcome] {
        do {
            let steps = try session.runSequence(commands, continueAfterFailure: false)
            return zip(steps, commands).map { step, command in
                switch step.exitStatus {
                case 0?: .succeeded(stdout: step.stdout)
                case nil: .notRun
                case _?: .failed(session.failure(of: step, command))
                }
            }
        } catch {
            return [.failed(error)] + Array(repeating: .notRun, count: max(0, commands.count - 1))
        }
    }

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

/// One change of a plan, as the dry run renders it.
public enum PlannedChange: Sendable, Hashable {
    /// A control command on a host: the process that would start (an ssh for the source) and its text.
    case command(host: String, process: ProcessSpec)
    /// A transfer: its pipelines, each started at once or after its listener's port opens.
    case transfer(LoweredGraph)
    /// A comment that explains the plan (the shared ssh master).
    case note(String)

    /// The text `--dry-run` prints for it.
    public var text: String {
        switch self {
        case .command(_, let process): Rendering.render(process)
        case .transfer(let graph): Rendering.render(graph)
        case .note(let text): "# " + text
        }
    }

    /// The form `--dry-run --json` prints: `{"command": {"host", "argv", "shell"}}`, `{"transfer":
    /// {"pipelines": [{"argv": [[…]], "start": "immediately" | "after port N listens"}], "shell"}}`, or
    /// `{"note": "…"}`.
    public var jsonObject: [String: Any] {
        switch self {
        case .command(let host, let process):
            return ["command": ["host": host, "argv": process.display, "shell": text]]
        case .transfer(let graph):
            let pipelines: [[String: Any]] = graph.pipelines.map { pipeline in
                var start = "immediately"
                if case .afterTCPListening(let port, _, _) = pipeline.start { start = "after port \(port) listens" }
                return ["argv": pipeline.stages.map(\.display), "start": start]
            }
            return ["transfer": ["pipelines": pipelines, "shell": text]]
        case .note(let text):
            return ["note": text]
        }
    }
}

/// The dry run: renders each change as what would run and runs none. The text form prints one line
/// per change (a transfer's pipelines on lines of their own); the plan form hands over each change.
public struct RenderedChanges: ChangeExecuting {
    let plan: @Sendable (PlannedChange) -> Void

    /// Prints each change's text.
    public init(output: @escaping @Sendable (String) -> Void) { plan = { output($0.text) } }

    /// Hands each change over as it is planned (for `--dry-run --json`).
    public init(plan: @escaping @Sendable (PlannedChange) -> Void) { self.plan = plan }

    public func change(_ command: Command, on session: HostSession) -> CommandFailure? {
        plan(.command(host: session.host, process: session.process(command)))
        return nil
    }

    public func change(sequence commands: [Command], on session: HostSession) -> [StepOutcome] {
        plan(.command(host: session.host, process: session.sequenceProcess(commands)))
        return commands.map { _ in .succeeded(stdout: "") }
    }

    public func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult? {
        plan(.transfer(graph))
        return nil
    }

    public func note(_ text: String) { plan(.note(text)) }

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

    public func change(sequence commands: [Command], on session: HostSession) -> [StepOutcome] {
        let rendered = Rendering.render(session.sequenceProcess(commands))
        lock.withLock { lines.append(rendered) }
        return live.change(sequence: commands, on: session)
    }

    public func transfer(_ graph: LoweredGraph, executor: any GraphExecuting, options: RunOptions) throws -> GraphResult? {
        let rendered = Rendering.render(graph)
        lock.withLock { lines.append(rendered) }
        return try live.transfer(graph, executor: executor, options: options)
    }

    public func note(_ text: String) {}

    public var rendersOnly: Bool { false }
}
