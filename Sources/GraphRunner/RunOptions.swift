/// How a graph is run and watched.
public struct RunOptions: Sendable {
    /// Tear the graph down once it has run this many seconds.
    public var timeout: Double?
    /// Tear the graph down when, for this many seconds, no process's read/write counters moved and no
    /// stderr line arrived.
    public var stallTimeout: Double?
    /// Seconds between SIGTERM and SIGKILL during teardown.
    public var gracePeriod: Double
    /// Seconds a failure that only follows from a neighbour's (SIGPIPE, "Broken pipe", an input that
    /// ended early) waits for the stage that caused it to end by itself before the graph is torn down.
    public var consequenceSettleTime = 1.0
    /// Variables set for the children on top of zettabee's own environment. Also decides the `PATH`
    /// on which bare executable names are resolved.
    public var environment: [String: String]
    /// Called with every stderr line of every stage (without the trailing newline), from the thread
    /// draining that stage. Remote status marker lines are not passed on.
    public var stderrLines: (@Sendable (StageID, String) -> Void)?
    /// Called about every half second while the graph runs, from the thread that called `run`.
    public var progress: (@Sendable (ProgressSample) -> Void)?
    /// Called with each child's pid as soon as it started (e.g. to record it, so that a later run can
    /// clean up after a zettabee that was killed with SIGKILL).
    public var started: (@Sendable (StageID, Int32) -> Void)?
    /// Runs even though a trapped signal is pending (normally refused), and is torn down only by a signal
    /// that arrives while it runs: for the last report of an interrupted run (e.g. to Nagios).
    public var runsAfterSignal = false
    /// Stages whose final read/write counters are wanted (`StageResult.finalIO`): the runner starts these
    /// itself and reads their `/proc/<pid>/io` once they exited but before reaping them, so the counts are
    /// exact, not a sample's.
    public var finalCounters: Set<StageID> = []

    public init(
        timeout: Double? = nil, stallTimeout: Double? = nil, gracePeriod: Double = 5,
        environment: [String: String] = [:],
        stderrLines: (@Sendable (StageID, String) -> Void)? = nil,
        progress: (@Sendable (ProgressSample) -> Void)? = nil,
        started: (@Sendable (StageID, Int32) -> Void)? = nil
    ) {
        self.timeout = timeout
        self.stallTimeout = stallTimeout
        self.gracePeriod = gracePeriod
        self.environment = environment
        self.stderrLines = stderrLines
        self.progress = progress
        self.started = started
    }
}
