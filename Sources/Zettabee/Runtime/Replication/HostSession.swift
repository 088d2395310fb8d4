import CommandGraph
import GraphRunner

/// A control command that failed: on which host, what ran, and what the program said.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    /// The host, as named in the configuration (`localhost` side is the destination host).
    public var host: String
    /// The command as shell text, secrets masked.
    public var command: String
    /// The runner's one-line account, e.g. `zfs get (zfs get …) failed: it exited with status 1: cannot open …`.
    public var runnerMessage: String
    /// What the failing program said, as one line (zfs's two-line messages joined).
    public var lastStderrLine: String?
    /// The full stderr tail, for the log.
    public var stderrTail: String
    /// The exit status of the failing command when it exited (nil when killed, or when it never started).
    public var exitStatus: Int32?
    /// True when the failure is the runner's doing (interrupted, timed out) rather than the command's.
    public var interruptedBySignal: Int32?
    /// The command succeeded but printed more than is read of it: its answer is not to be trusted.
    public var outputTooLarge = false

    /// One line: what failed and why.
    public var description: String {
        if let interruptedBySignal { return "interrupted by signal \(interruptedBySignal)" }
        if let lastStderrLine { return "\(commandLabel) on \(host) failed: \(lastStderrLine)" }
        return "\(commandLabel) on \(host) failed: \(runnerMessage)"
    }

    var commandLabel: String
    /// What the command printed on stdout before it failed.
    public var capturedStdout = ""

    /// True when zfs said the dataset does not exist.
    public var isMissingDataset: Bool {
        stderrTail.contains("dataset does not exist")
    }
}

/// Runs control commands (`zfs get`, `zfs snapshot`, …) on one host: the source over ssh, or the local
/// destination. Every command is lowered by the command graph and run by the process runner, and reported
/// to `observer` (the pair's log) before it runs.
public final class HostSession: @unchecked Sendable {
    /// The host name, as in the configuration.
    public let host: String
    /// Where commands run: changes to the shared connection's client while a master is up.
    public internal(set) var location: Location
    /// Where the session was opened to, whatever connection it goes through now: names the host.
    public let origin: Location
    let executor: any GraphExecuting
    let runOptions: RunOptions
    let observer: (String) -> Void
    /// Set by `shareConnection`: the ssh master the control commands multiplex over.
    var connection: SharedConnection?
    /// False for a connection of the run's `HostConnections` (`update --all`), which outlives the pair.
    var ownsConnection = true

    public init(
        host: String, location: Location, executor: any GraphExecuting, runOptions: RunOptions = RunOptions(),
        observer: @escaping (String) -> Void = { _ in }
    ) {
        self.host = host
        self.location = location
        origin = location
        self.executor = executor
        self.runOptions = runOptions
        self.observer = observer
    }

    /// The most that is read of a control command's stdout.
    public static let outputLimit = 16 << 20

    /// Runs `command` here and returns its stdout (at most `limit` bytes).
    @discardableResult
    public func run(_ command: Command, limit: Int = HostSession.outputLimit) throws(CommandFailure) -> String {
        if let connection { location = connection.clientLocation() }
        let lowered = Lowering.lower(Graph(Pipeline([Stage(command, on: location)])))
        let pipeline = lowered.pipelines[0]
        observer(Rendering.render(pipeline))
        do {
            return try executor.capture(pipeline, limit: limit, options: runOptions).stdout
        } catch let failure as RunFailure {
            throw commandFailure(failure, command: command, rendered: Rendering.render(pipeline))
        } catch {
            throw CommandFailure(
                host: host, command: Rendering.render(pipeline), runnerMessage: "\(error)", lastStderrLine: nil,
                stderrTail: "", exitStatus: nil, interruptedBySignal: nil, commandLabel: command.label)
        }
    }

    /// What `command` would look like when run here, as shell text.
    public func render(_ command: Command) -> String {
        Rendering.render(process(command))
    }

    /// The process that runs `command` here (an ssh for a remote session), as it would be started.
    public func process(_ command: Command) -> ProcessSpec {
        if let connection { location = connection.clientLocation() }
        return Lowering.lower(Graph(Pipeline([Stage(command, on: location)]))).pipelines[0].stages[0]
    }

    func commandFailure(_ failure: RunFailure, command: Command, rendered: String) -> CommandFailure {
        var signal: Int32?
        if case .interrupted(let number) = failure.kind { signal = number }
        let stage = failure.stage ?? failure.result?.stages.first?.first
        var status: Int32?
        if case .exited(let code)? = stage?.termination { status = code }
        // An ssh that could not connect exits 255 with ssh's own message: name the host then.
        var result = CommandFailure(
            host: host, command: rendered, runnerMessage: failure.description,
            lastStderrLine: stage.flatMap { ZFSErrorText.summary($0.stderrTail) } ?? stage?.lastStderrLine, stderrTail: stage?.stderrTail ?? "", exitStatus: status,
            interruptedBySignal: signal, commandLabel: command.label)
        result.capturedStdout = failure.result?.capturedText(0) ?? ""
        if case .outputTooLarge = failure.kind { result.outputTooLarge = true }
        return result
    }
}

extension HostSession {
    /// What a probe command printed and how it ended, whether it succeeded or not.
    public struct ProbeOutcome: Sendable {
        public var stdout: String
        public var stderrTail: String
        /// nil when it did not exit normally.
        public var exitStatus: Int32?
        /// Set when it did not succeed.
        public var failure: CommandFailure?
    }

    /// Runs a command whose failure is an answer (e.g. `zfs version` on an old zfs).
    public func probe(_ command: Command) -> ProbeOutcome {
        do {
            let stdout = try run(command)
            return ProbeOutcome(stdout: stdout, stderrTail: "", exitStatus: 0, failure: nil)
        } catch {
            return ProbeOutcome(stdout: "", stderrTail: error.stderrTail, exitStatus: error.exitStatus, failure: error)
        }
    }
}

extension HostSession {
    /// Runs `commands` here: on a remote host as one round trip (`RemoteSequence`), locally one after
    /// another. Each command's own failure is in its step (use `failure(of:_:)`); this throws only when
    /// the sequence could not run at all (ssh could not connect, or was interrupted).
    public func runSequence(_ commands: [Command], continueAfterFailure: Bool) throws(CommandFailure) -> [RemoteStep] {
        if let connection { location = connection.clientLocation() }
        guard case .remote(let destination) = location else {
            var steps: [RemoteStep] = []
            for command in commands {
                let outcome = probe(command)
                steps.append(RemoteStep(stdout: outcome.stdout, stderr: outcome.stderrTail, exitStatus: outcome.failure == nil ? 0 : outcome.exitStatus ?? -1))
                if outcome.failure != nil, !continueAfterFailure { break }
            }
            return steps + Array(repeating: RemoteStep(stdout: "", stderr: "", exitStatus: nil), count: commands.count - steps.count)
        }
        let pipeline = LoweredPipeline(stages: [RemoteSequence.lower(commands, on: destination, continueAfterFailure: continueAfterFailure)])
        let rendered = Rendering.render(pipeline)
        observer(rendered)
        let stdout: String
        let stderr: String
        var runFailure: RunFailure?
        do {
            // Each command may print as much as one run alone may; the caller checks each step.
            let (text, result) = try executor.capture(pipeline, limit: HostSession.outputLimit * commands.count, options: runOptions)
            stdout = text
            stderr = result.stages.first?.first?.stderrTail ?? ""
        } catch let failure as RunFailure {
            runFailure = failure
            stdout = failure.result?.capturedText(0) ?? ""
            stderr = (failure.stage ?? failure.result?.stages.first?.first)?.stderrTail ?? ""
        } catch {
            throw CommandFailure(
                host: host, command: rendered, runnerMessage: "\(error)", lastStderrLine: nil,
                stderrTail: "", exitStatus: nil, interruptedBySignal: nil, commandLabel: commands.first?.label ?? "ssh")
        }
        let steps = RemoteSequenceOutput.split(stdout: stdout, stderr: stderr, count: commands.count)
        if let runFailure, steps.first?.exitStatus == nil || runFailure.isRunnersOwnDoing {
            throw commandFailure(runFailure, command: commands[0], rendered: rendered)
        }
        return steps
    }

    /// The process that runs `commands` here as one line that stops at the first failure (remote
    /// sessions; a local one has no line and gets the first command's process).
    public func sequenceProcess(_ commands: [Command]) -> ProcessSpec {
        if let connection { location = connection.clientLocation() }
        guard case .remote(let destination) = location else { return process(commands[0]) }
        return RemoteSequence.lower(commands, on: destination, continueAfterFailure: false)
    }

    /// A failed step of a sequence as a `CommandFailure`, worded as if `command` had run alone.
    public func failure(of step: RemoteStep, _ command: Command) -> CommandFailure {
        CommandFailure(
            host: host, command: render(command), runnerMessage: "it exited with status \(step.exitStatus ?? -1)",
            lastStderrLine: ZFSErrorText.summary(step.stderr) ?? step.stderr.split(separator: "\n").last.map(String.init),
            stderrTail: step.stderr, exitStatus: step.exitStatus, interruptedBySignal: nil, commandLabel: command.label)
    }
}

extension RunFailure {
    /// Interrupted, timed out or over a limit: the runner ended it, not the commands.
    var isRunnersOwnDoing: Bool {
        switch kind {
        case .interrupted, .timedOut, .outputTooLarge: true
        default: false
        }
    }
}
