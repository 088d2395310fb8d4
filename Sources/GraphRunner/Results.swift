import CommandGraph

/// How a process ended. Exit code 2 and death by SIGINT are different cases, never one number.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by \(signalName(signal))"
        }
    }
}

/// The position of a stage in a `LoweredGraph`: `graph.pipelines[pipeline].stages[stage]`.
public struct StageID: Sendable, Hashable, CustomStringConvertible {
    public var pipeline: Int
    public var stage: Int

    public init(pipeline: Int, stage: Int) {
        self.pipeline = pipeline
        self.stage = stage
    }

    public var description: String { "\(pipeline).\(stage)" }
}

/// What became of one process of the graph.
public struct StageResult: Sendable {
    public var spec: ProcessSpec
    /// `nil` when the stage never started (its pipeline was still waiting for its start condition).
    public var pid: Int32?
    /// `nil` when the stage never started, or did not end even after SIGKILL (then it is reported, not awaited).
    public var termination: Termination?
    /// The last 64 KiB of the stage's stderr, without remote status marker lines.
    public var stderrTail: String
    /// Seconds from the stage's start until its exit was seen; 0 when it never started.
    public var duration: Double
    /// One entry per `spec.remoteStageLabels`: the status each remote stage reported in its marker line,
    /// `nil` where no marker arrived (normal for the last remote stage, whose status is the ssh's own).
    public var remoteStatuses: [Int32?]
    /// True when the runner itself signalled this process during teardown: its failure is a consequence.
    public var stoppedByRunner: Bool
    /// The process's read/write counters as it ended (taken from its zombie), for the stages named in
    /// `RunOptions.finalCounters`; `nil` for the others, or when they could not be read.
    public var finalIO: StageIO?
    /// Every byte the stage wrote to its stderr (which the runner drains).
    public var stderrBytes: UInt64 = 0

    /// For executors other than `ProcessRunner` (fakes in tests): a stage that ran and ended so.
    public init(
        spec: ProcessSpec, pid: Int32? = nil, termination: Termination?, stderrTail: String = "", duration: Double = 0,
        remoteStatuses: [Int32?] = [], stoppedByRunner: Bool = false
    ) {
        self.spec = spec
        self.pid = pid
        self.termination = termination
        self.stderrTail = stderrTail
        self.duration = duration
        self.remoteStatuses = remoteStatuses
        self.stoppedByRunner = stoppedByRunner
    }

    /// The first remote stage (by index) that reported a non-zero status or, when the ssh itself
    /// exited 0, failed to report one. `nil` when every remote stage is accounted for.
    public var failedRemoteStage: (index: Int, status: Int32?)? {
        let reportingStages = max(spec.remoteStageLabels.count - 1, 0)
        for (index, status) in remoteStatuses.enumerated() {
            if let status, status != 0 { return (index, status) }
            if status == nil, index < reportingStages, termination == .exited(0) { return (index, nil) }
        }
        return nil
    }

    /// Exited 0 and every remote stage reported status 0.
    public var succeeded: Bool {
        termination == .exited(0) && failedRemoteStage == nil
    }

    /// The last non-empty line of `stderrTail`, or `nil` when it has none.
    public var lastStderrLine: String? {
        stderrTail.split(separator: "\n", omittingEmptySubsequences: true).last.map(String.init)
    }
}

/// What became of a whole graph.
public struct GraphResult: Sendable {
    /// `stages[p][s]` for `graph.pipelines[p].stages[s]`.
    public var stages: [[StageResult]]
    /// The captured stdout of every pipeline whose output is `.capture`, keyed by pipeline index.
    public var captured: [Int: [UInt8]]
    /// Seconds from the start of the run until its last process ended.
    public var elapsed: Double

    public init(stages: [[StageResult]], captured: [Int: [UInt8]] = [:], elapsed: Double = 0) {
        self.stages = stages
        self.captured = captured
        self.elapsed = elapsed
    }

    /// Every stage of every pipeline started and succeeded.
    public var succeeded: Bool {
        stages.allSatisfy { $0.allSatisfy(\.succeeded) }
    }

    /// The captured stdout of pipeline `pipeline`, decoded as UTF-8 (invalid bytes replaced).
    public func capturedText(_ pipeline: Int = 0) -> String {
        String(decoding: captured[pipeline] ?? [], as: UTF8.self)
    }
}

/// Read/write counters of one running process, from `/proc/<pid>/io` (`rchar`/`wchar`): every byte it
/// passed through read/write calls, pipes included. This is how progress is shown without touching the stream.
public struct StageIO: Sendable, Hashable {
    public var bytesRead: UInt64
    public var bytesWritten: UInt64

    public init(bytesRead: UInt64, bytesWritten: UInt64) {
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
    }
}

/// One progress report, taken about every half second while a graph runs.
public struct ProgressSample: Sendable {
    /// Seconds since the run started.
    public var elapsed: Double
    /// `stages[p][s]`: the counters of that process, `nil` when it is not running (not started or ended).
    public var stages: [[StageIO?]]
}

/// A readable name for a signal number: `SIGTERM`, or `signal 42` for uncommon ones.
func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    ]
    return names[signal] ?? "signal \(signal)"
}
