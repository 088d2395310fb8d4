/// The lowered form of a command graph: exactly what the process runner executes.
///
/// Lowering (see `Lowering.swift`) is the one pure function that turns typed commands into these
/// values; the runner and the `--dry-run` renderer both consume them, so what is printed is what runs.

/// One process to start, with its exact argv.
public struct ProcessSpec: Sendable, Hashable {
    /// A bare program name, resolved on `PATH` by the runner before anything starts, or an absolute path.
    public var executable: String
    /// The arguments after argv[0], exactly as passed to exec.
    public var arguments: [String]
    /// `[executable] + arguments` with every secret replaced by `***`; for rendering and error messages only.
    public var display: [String]
    /// A short human name for logs and errors, e.g. `zfs receive` or `ssh src1: zfs send | mbuffer`.
    public var label: String
    /// When this process is an ssh carrying a remote pipeline of more than one stage: the label of each
    /// remote stage. Every remote stage but the last reports its exit status on the ssh's stderr as a
    /// marker line (`RemoteStageStatus`), so a failing early stage is never hidden by a later one.
    public var remoteStageLabels: [String]
    /// See `Command.inputEndedEarlyMessages`.
    public var inputEndedEarlyMessages: [String]

    public init(
        executable: String, arguments: [String], display: [String]? = nil, label: String? = nil,
        remoteStageLabels: [String] = [], inputEndedEarlyMessages: [String] = []
    ) {
        self.executable = executable
        self.arguments = arguments
        self.display = display ?? ([executable] + arguments)
        self.label = label ?? executable
        self.remoteStageLabels = remoteStageLabels
        self.inputEndedEarlyMessages = inputEndedEarlyMessages
    }
}

/// The marker a remote stage prints on stderr after it ends: `@zettabee-stage <index> <status>`.
/// `index` counts the remote stages of one ssh process from 0; `status` is the shell's `$?`.
public enum RemoteStageStatus {
    public static let prefix = "@zettabee-stage "

    /// Parses a marker line; `nil` for any other line.
    public static func parse(_ line: Substring) -> (index: Int, status: Int32)? {
        guard line.hasPrefix(prefix) else { return nil }
        let fields = line.dropFirst(prefix.count).split(separator: " ")
        guard fields.count == 2, let index = Int(fields[0]), let status = Int32(fields[1]) else { return nil }
        return (index, status)
    }
}

/// Where the first stage of a pipeline reads from.
public enum StreamSource: Sendable, Hashable {
    /// `/dev/null`.
    case null
    /// A small payload written into a pipe before the process starts (e.g. send_nsca's input).
    case bytes([UInt8])
    /// A file opened for reading.
    case file(String)
}

/// Where the last stage of a pipeline writes to.
public enum StreamSink: Sendable, Hashable {
    /// `/dev/null`.
    case null
    /// Captured in memory, at most `limit` bytes (the rest is drained and dropped).
    case capture(limit: Int)
    /// A file, truncated or appended to.
    case file(String, append: Bool)
    /// zettabee's own stdout.
    case inherit
}

/// When a pipeline of a graph may start.
public enum StartCondition: Sendable, Hashable {
    case immediately
    /// Once a process of pipeline `pipelineIndex` (the listener) listens on TCP `port` on this machine
    /// (a handshake, not a sleep): its own socket, never a stale or foreign listener on the same port.
    /// The runner gives up after `timeout` seconds, or as soon as the listener pipeline has ended.
    case afterTCPListening(port: Int, pipelineIndex: Int, timeout: Double)
}

/// One pipeline: stdout of each stage feeds stdin of the next through one pipe.
public struct LoweredPipeline: Sendable, Hashable {
    public var stages: [ProcessSpec]
    public var input: StreamSource
    public var output: StreamSink
    public var start: StartCondition

    public init(
        stages: [ProcessSpec], input: StreamSource = .null, output: StreamSink = .null,
        start: StartCondition = .immediately
    ) {
        self.stages = stages
        self.input = input
        self.output = output
        self.start = start
    }
}

/// Pipelines that run at the same time and succeed or fail together (e.g. a local
/// `mbuffer -I | zfs receive` and a remote `zfs send | mbuffer -O`): if any stage fails, the runner
/// tears all of them down.
public struct LoweredGraph: Sendable, Hashable {
    public var pipelines: [LoweredPipeline]

    public init(pipelines: [LoweredPipeline]) {
        self.pipelines = pipelines
    }

    public init(_ pipeline: LoweredPipeline) {
        self.pipelines = [pipeline]
    }
}
