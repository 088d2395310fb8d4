import CommandGraph
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs lowered graphs as real processes with Foundation.Process.
///
/// Every pipeline edge is one pipe from one process to the next: stream bytes never pass through this
/// code. Each stage's stderr is drained on its own thread; exits are awaited through termination
/// handlers. When a stage fails, the timeout passes, the graph stalls, or a trapped signal arrives
/// (see `SignalTrap`), every process group of the graph gets SIGTERM, then SIGKILL after the grace
/// period, and the run waits for all of them: no child outlives the run.
public final class ProcessRunner: GraphExecuting {
    /// The environment every child starts from (`RunOptions.environment` goes on top): zettabee's own
    /// by default, injected by tests.
    public let baseEnvironment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        baseEnvironment = environment
    }

    /// Starts a helper process (an ssh master) with the runner's environment and `extra` on top.
    public func startBackground(_ spec: ProcessSpec, environment extra: [String: String]) throws -> any BackgroundRunning {
        try BackgroundProcess(spec, environment: baseEnvironment.merging(extra) { _, new in new }, replacing: true)
    }

    public func run(_ graph: LoweredGraph, options: RunOptions) throws -> GraphResult {
        if !options.runsAfterSignal, let signal = SignalTrap.pendingSignal {
            throw RunFailure(kind: .interrupted(signal: signal), result: nil)
        }
        for (index, pipeline) in graph.pipelines.enumerated() {
            precondition(!pipeline.stages.isEmpty, "pipeline \(index) has no stages")
            if case .afterTCPListening(_, let listener, _) = pipeline.start {
                precondition(graph.pipelines.indices.contains(listener) && listener != index,
                             "pipeline \(index) waits for a listener in pipeline \(listener), which does not exist")
            }
        }
        Descriptors.ensureStandardDescriptorsOpen()

        var environment = baseEnvironment
        environment.merge(options.environment) { _, new in new }
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let executables = try graph.pipelines.map { pipeline in
            try pipeline.stages.map { spec in
                guard let path = ExecutableResolver.resolve(spec.executable, searchPath: searchPath) else {
                    throw RunFailure(
                        kind: .missingExecutable(name: spec.executable, searchedPATH: searchPath), result: nil)
                }
                return path
            }
        }
        let run = try GraphRun(graph: graph, executables: executables, environment: environment, options: options)
        return try run.execute()
    }
}

/// Seconds on a clock that never jumps.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// One process of a running graph. Mutable fields are guarded by the run's lock.
private final class StageState: @unchecked Sendable {
    let id: StageID
    let spec: ProcessSpec
    let executable: String
    let stderr: StderrCollector
    var process: Process?
    var pid: Int32?
    var startedAt: Double?
    var endedAt: Double?
    var termination: Termination?
    var stoppedByRunner = false
    /// Started by the runner itself (`RunOptions.finalCounters`): its own reaper thread records the exit.
    var reapedByRunner = false
    var finalIO: StageIO?
    /// Set by the monitor once it judged the stage's end (success, own failure or consequence).
    var judged = false

    init(id: StageID, spec: ProcessSpec, executable: String, stderr: StderrCollector) {
        self.id = id
        self.spec = spec
        self.executable = executable
        self.stderr = stderr
    }

    var isRunning: Bool { pid != nil && termination == nil }
}

/// One execution of a graph: starts the pipelines, then watches them from the calling thread.
private final class GraphRun: @unchecked Sendable {
    /// How long an exited stage's stderr may stay open (held by a grandchild) before it is abandoned.
    static let drainWaitAfterExit = 1.5
    /// How long a stage that failed as a consequence (SIGPIPE, "Broken pipe") may wait for the stage that
    /// caused it to end on its own, before the teardown starts anyway.
    /// How long after SIGKILL the run still waits for a process (one stuck in the kernel) before reporting it.
    static let waitAfterKill = 10.0

    enum TeardownReason { case stageFailed, startFailed, listenerNotReady, timedOut, stalled, interrupted(Int32) }

    let graph: LoweredGraph
    let environment: [String: String]
    let options: RunOptions
    let lock = NSLock()
    /// Signalled whenever something the monitor should look at happened.
    let wake = DispatchSemaphore(value: 0)
    let drains = DispatchGroup()
    let abandon: AbandonSignal
    let startedAt = monotonicSeconds()
    private var stages: [[StageState]] = []
    private var captures: [Int: CaptureCollector] = [:]

    // Guarded by `lock`:
    private var signalsReceived: [Int32] = []
    private var lastStderrLineAt: Double

    // Used only on the monitor (calling) thread:
    private var pipelineStarted: [Bool]
    private var teardownReason: TeardownReason?
    private var teardownStartedAt: Double?
    private var killSentAt: Double?
    private var consequenceDeadline: Double?
    private var failureBeforeTeardown: RunFailure.Kind?

    init(graph: LoweredGraph, executables: [[String]], environment: [String: String], options: RunOptions) throws {
        self.graph = graph
        self.environment = environment
        self.options = options
        self.abandon = try AbandonSignal()
        self.lastStderrLineAt = startedAt
        self.pipelineStarted = Array(repeating: false, count: graph.pipelines.count)
        for (p, pipeline) in graph.pipelines.enumerated() {
            stages.append(pipeline.stages.enumerated().map { s, spec in
                let id = StageID(pipeline: p, stage: s)
                let collector = StderrCollector(
                    stage: id, remoteStageCount: spec.remoteStageLabels.count, observer: options.stderrLines,
                    onLine: { [unowned self] in self.lock.withLock { self.lastStderrLineAt = monotonicSeconds() } })
                return StageState(id: id, spec: spec, executable: executables[p][s], stderr: collector)
            })
        }
    }

    // MARK: Watching

    func execute() throws -> GraphResult {
        let listener = SignalTrap.addListener { [self] signal in
            lock.withLock { signalsReceived.append(signal) }
            wake.signal()
        }
        defer { SignalTrap.removeListener(listener) }

        for (index, pipeline) in graph.pipelines.enumerated() where pipeline.start == .immediately {
            guard teardownReason == nil else { break }
            start(pipeline: index)
        }
        var gateDeadlines: [Int: Double] = [:]
        for (index, pipeline) in graph.pipelines.enumerated() {
            if case .afterTCPListening(_, _, let timeout) = pipeline.start { gateDeadlines[index] = startedAt + timeout }
        }
        let sampling = options.progress != nil || options.stallTimeout != nil
        let sampleInterval = min(0.5, max(0.02, (options.stallTimeout ?? 2) / 4))
        var nextSampleAt = startedAt + sampleInterval
        var lastCounters: [StageID: StageIO] = [:]
        var lastMovementAt = startedAt

        while true {
            let now = monotonicSeconds()

            let (signals, lastLineAt) = lock.withLock { (signalsReceived, lastStderrLineAt) }
            if let signal = signals.first ?? (options.runsAfterSignal ? nil : SignalTrap.pendingSignal) {
                if teardownReason == nil {
                    beginTeardown(.interrupted(signal), now: now)
                } else if signals.count >= 2 && killSentAt == nil {
                    killAll(now: now)  // a second signal: no more grace
                }
            }

            noticeExitsHiddenByGrandchildren(now: now)
            let waitingForJudgement = judgeEndedStages(now: now)
            if let deadline = consequenceDeadline, now >= deadline, teardownReason == nil {
                beginTeardown(.stageFailed, now: now)
            }
            if let timeout = options.timeout, teardownReason == nil, now - startedAt >= timeout {
                beginTeardown(.timedOut, now: now)
            }

            if teardownReason == nil {
                for (index, deadline) in gateDeadlines.sorted(by: { $0.key < $1.key }) {
                    guard case .afterTCPListening(let port, let listenerIndex, let timeout) = graph.pipelines[index].start
                    else { continue }
                    let listenerPids = lock.withLock { stages[listenerIndex].compactMap { $0.isRunning ? $0.pid : nil } }
                    if ProcFS.isListening(onTCPPort: port, byAnyOf: listenerPids) {
                        gateDeadlines[index] = nil
                        start(pipeline: index)
                    } else if pipelineStarted[listenerIndex] && !lock.withLock({ stages[listenerIndex].contains(where: \.isRunning) }) {
                        failListener(pipeline: index, port: port, reason: "pipeline \(listenerIndex) ended first", now: now)
                    } else if now >= deadline {
                        failListener(pipeline: index, port: port, reason: "gave up after \(timeout) s", now: now)
                    }
                    if teardownReason != nil { break }
                }
            }

            if sampling && now >= nextSampleAt {
                nextSampleAt = now + sampleInterval
                let counters = sampleCounters()
                if let progress = options.progress {
                    progress(ProgressSample(elapsed: now - startedAt, stages: stages.map { $0.map { counters[$0.id] } }))
                }
                if counters.contains(where: { lastCounters[$0.key] != $0.value }) { lastMovementAt = now }
                lastCounters = counters
                lastMovementAt = max(lastMovementAt, lastLineAt)
                if let stallTimeout = options.stallTimeout, teardownReason == nil, now - lastMovementAt >= stallTimeout {
                    beginTeardown(.stalled, now: now)
                }
            }

            if let teardownStartedAt, killSentAt == nil, now >= teardownStartedAt + options.gracePeriod {
                killAll(now: now)
            }
            if let killSentAt, now >= killSentAt + Self.waitAfterKill { break }

            let anyRunning = lock.withLock { stages.contains { $0.contains(where: \.isRunning) } }
            let gatesPending = teardownReason == nil && !gateDeadlines.isEmpty
            let groupsLingering = killSentAt == nil && teardownReason != nil && !anyRunning && stoppedGroupsHaveMembers()
            if !anyRunning && !gatesPending && !waitingForJudgement && !groupsLingering { break }

            // An exit hidden from Foundation (see `noticeExitsHiddenByGrandchildren`) is seen at the next
            // look: often while a run is young (a control command takes a tenth of a second), every half
            // second once it has gone on for seconds.
            var wakeAt = now + min(0.5, max(0.005, (now - startedAt) / 8))
            if sampling { wakeAt = min(wakeAt, nextSampleAt) }
            // A gated sender starts within 2 ms of its listener's port appearing (the stream waits for it).
            if gatesPending { wakeAt = min(wakeAt, now + 0.002) }
            if waitingForJudgement || groupsLingering { wakeAt = min(wakeAt, now + 0.01) }
            if let timeout = options.timeout { wakeAt = min(wakeAt, max(startedAt + timeout, now)) }
            if let consequenceDeadline { wakeAt = min(wakeAt, consequenceDeadline) }
            if let teardownStartedAt, killSentAt == nil { wakeAt = min(wakeAt, teardownStartedAt + options.gracePeriod) }
            _ = wake.wait(timeout: .now() + max(wakeAt - now, 0.001))
        }

        let endedAt = monotonicSeconds()
        if drains.wait(timeout: .now() + Self.drainWaitAfterExit) == .timedOut {
            abandon.fire()
            drains.wait()
        }
        abandon.dispose()

        let result = makeResult(endedAt: endedAt)
        if let kind = failureKind(result) { throw RunFailure(kind: kind, result: result) }
        return result
    }

    /// Foundation learns of a child's exit when a socket the child inherited closes, so a grandchild that
    /// keeps it open (ssh ControlPersist, `cmd &`) hides the exit. This peeks at the exit status with
    /// `waitid(WNOWAIT)`, which leaves the child for Foundation to reap whenever it notices.
    private func noticeExitsHiddenByGrandchildren(now: Double) {
        let running = lock.withLock { stages.joined().filter { $0.isRunning && !$0.reapedByRunner } }
        for stage in running {
            guard let pid = lock.withLock({ stage.pid }), let termination = peekExit(of: pid) else { continue }
            lock.withLock {
                if stage.termination == nil {
                    stage.termination = termination
                    stage.endedAt = now
                }
            }
        }
    }

    /// Judges every stage that ended since the last look: an own failure starts the teardown; a failure
    /// that looks like a consequence (SIGPIPE, "Broken pipe") gives the stage that caused it a moment to end
    /// by itself first. A stage is judged once its stderr is complete (or a short while after its exit, if a
    /// grandchild holds stderr open). Returns true while some ended stage still waits for judgement.
    private func judgeEndedStages(now: Double) -> Bool {
        var waiting = false
        for stage in stages.joined() {
            let (ended, endedAt, judged) = lock.withLock { (stage.termination != nil, stage.endedAt ?? now, stage.judged) }
            guard ended, !judged else { continue }
            guard stage.stderr.isFinished || now - endedAt >= 0.2 else {
                waiting = true
                continue
            }
            lock.withLock { stage.judged = true }
            let result = stageResult(stage, endedAt: now)
            guard !result.succeeded, teardownReason == nil else { continue }
            if isConsequence(result) {
                consequenceDeadline = min(consequenceDeadline ?? .infinity, now + options.consequenceSettleTime)
            } else {
                beginTeardown(.stageFailed, now: now)
            }
        }
        return waiting
    }

    /// A failure caused by a neighbour: death by SIGPIPE (or a shell reporting one: 141), a non-zero exit
    /// after a "Broken pipe" or "Connection reset by peer" error (the other end went away), or a stage
    /// saying its input ended early (`ProcessSpec.inputEndedEarlyMessages`).
    private func isConsequence(_ stage: StageResult) -> Bool {
        if stage.stoppedByRunner { return true }
        switch stage.termination {
        case .signaled(SIGPIPE), .exited(128 + SIGPIPE): return true
        case .exited(let code) where code != 0:
            let tail = stage.stderrTail
            if tail.contains("Broken pipe") || tail.contains("Connection reset by peer") { return true }
            if stage.spec.inputEndedEarlyMessages.contains(where: { tail.contains($0) }) { return true }
        default: break
        }
        if let (_, status) = stage.failedRemoteStage, status == 128 + SIGPIPE { return true }
        return false
    }

    private func saysInputEndedEarly(_ stage: StageResult) -> Bool {
        guard case .exited(let code)? = stage.termination, code != 0 else { return false }
        return stage.spec.inputEndedEarlyMessages.contains { stage.stderrTail.contains($0) }
    }

    /// Failed after "Connection reset by peer": its network peer went away.
    private func saysConnectionReset(_ stage: StageResult) -> Bool {
        guard case .exited(let code)? = stage.termination, code != 0 else { return false }
        return stage.stderrTail.contains("Connection reset by peer")
    }

    /// Died of SIGPIPE (or a shell's 141), or failed after "Broken pipe": its reader went away. (A
    /// "Connection reset by peer" is about its input, the network, not about its reader.)
    private func brokeItsPipe(_ stage: StageResult) -> Bool {
        switch stage.termination {
        case .signaled(SIGPIPE)?, .exited(128 + SIGPIPE)?: return true
        case .exited(let code)? where code != 0: return stage.stderrTail.contains("Broken pipe")
        default: return false
        }
    }

    private func failListener(pipeline: Int, port: Int, reason: String, now: Double) {
        failureBeforeTeardown = failureBeforeTeardown ?? .listenerNotReady(pipeline: pipeline, port: port, reason: reason)
        beginTeardown(.listenerNotReady, now: now)
    }

    private func sampleCounters() -> [StageID: StageIO] {
        let running = lock.withLock { stages.joined().filter(\.isRunning).map { ($0.id, $0.pid!) } }
        var counters: [StageID: StageIO] = [:]
        for (id, pid) in running { counters[id] = ProcFS.ioCounters(pid: pid) }
        return counters
    }

    // MARK: Teardown

    private func beginTeardown(_ reason: TeardownReason, now: Double) {
        guard teardownReason == nil else { return }
        teardownReason = reason
        teardownStartedAt = now
        lock.withLock {
            for stage in stages.joined() where stage.isRunning {
                stage.stoppedByRunner = true
                signalGroup(of: stage.pid!, SIGTERM)
            }
        }
    }

    /// SIGKILL to the group of every process the teardown stopped, including groups whose leader already
    /// ended, so that grandchildren ignoring SIGTERM go too.
    private func killAll(now: Double) {
        killSentAt = now
        lock.withLock {
            for stage in stages.joined() where stage.stoppedByRunner || stage.isRunning {
                stage.stoppedByRunner = true
                signalGroup(of: stage.pid!, SIGKILL)
            }
        }
    }

    /// True while a process group the teardown signalled still has live members (e.g. a grandchild that
    /// ignores SIGTERM after its parent ended). Zombies (never reaped where init does not reap) do not count.
    private func stoppedGroupsHaveMembers() -> Bool {
        let groups = lock.withLock { stages.joined().filter(\.stoppedByRunner).compactMap(\.pid) }
        return groups.contains { pgid in
            guard kill(-pgid, 0) == 0 else { return false }
            return processesInGroup(pgid).contains { ProcFS.isAlive(pid: $0) }
        }
    }

    /// Foundation starts every child as the leader of its own process group; the group is what is signalled,
    /// so the child's own children go too. Falls back to the process alone if it is not a group leader.
    private func signalGroup(of pid: Int32, _ signal: Int32) {
        if getpgid(pid) == pid || getpgid(pid) == -1 {
            kill(-pid, signal)
        } else {
            kill(pid, signal)
        }
    }

    // MARK: Starting

    /// Starts every stage of a pipeline on the spawn thread. A stage that cannot start makes the run fail
    /// (stages already started are stopped by the teardown).
    private func start(pipeline index: Int) {
        pipelineStarted[index] = true
        let failure = SpawnThread.shared.perform { self.spawnStages(of: index) }
        if let failure {
            let id = StageID(pipeline: index, stage: failure.stage)
            failureBeforeTeardown = failureBeforeTeardown ?? .startFailed(id, reason: failure.reason)
            beginTeardown(.startFailed, now: monotonicSeconds())
        }
    }

    /// Wires and starts the stages of pipeline `index`; returns the stage that could not start and why.
    private func spawnStages(of index: Int) -> (stage: Int, reason: String)? {
        let pipeline = graph.pipelines[index]
        let last = pipeline.stages.count - 1
        // The children's ends of every pipe and file: closed here once all stages started (or one failed).
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }

        let input: Int32
        let output: Int32
        do {
            input = try openInput(pipeline.input)
            childEnds.append(input)
        } catch {
            return (0, "\(error)")
        }
        do {
            output = try openOutput(pipeline.output, pipeline: index)
            if pipeline.output != .inherit { childEnds.append(output) }
        } catch {
            return (last, "\(error)")
        }

        var stdinOfNext = input
        for (position, stage) in stages[index].enumerated() {
            let stdout: Int32
            let stderrWrite: Int32
            var stdinOfFollowing: Int32 = -1
            do {
                if position == last {
                    stdout = output
                } else {
                    let edge = try Descriptors.makePipe()
                    childEnds += [edge.read, edge.write]
                    stdout = edge.write
                    stdinOfFollowing = edge.read
                }
                let errorPipe = try Descriptors.makePipe()
                childEnds.append(errorPipe.write)
                stderrWrite = errorPipe.write
                let collector = stage.stderr
                startDrain(
                    fd: errorPipe.read, abandon: abandon, group: drains, name: "stderr \(stage.id)",
                    consume: { collector.consume($0) },
                    finish: { [self] in
                        collector.finish()
                        wake.signal()
                    })
            } catch {
                return (position, "\(error)")
            }

            if options.finalCounters.contains(stage.id) {
                let stdoutFD = (position == last && pipeline.output == .inherit) ? STDOUT_FILENO : stdout
                lock.withLock { stage.startedAt = monotonicSeconds() }
                let pid: Int32
                do {
                    pid = try spawnReapedByRunner(stage, stdin: stdinOfNext, stdout: stdoutFD, stderr: stderrWrite)
                } catch {
                    lock.withLock { stage.startedAt = nil }
                    return (position, "\(shellQuotedCommand(stage.spec.display)): \(error)")
                }
                options.started?(stage.id, pid)
                stdinOfNext = stdinOfFollowing
                continue
            }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: stage.executable)
            process.arguments = stage.spec.arguments
            process.environment = environment
            process.standardInput = FileHandle(fileDescriptor: stdinOfNext, closeOnDealloc: false)
            process.standardOutput = (position == last && pipeline.output == .inherit)
                ? FileHandle.standardOutput : FileHandle(fileDescriptor: stdout, closeOnDealloc: false)
            process.standardError = FileHandle(fileDescriptor: stderrWrite, closeOnDealloc: false)
            process.terminationHandler = { [self] process in
                let status = process.terminationStatus
                let termination: Termination =
                    process.terminationReason == .uncaughtSignal ? .signaled(status) : .exited(status)
                lock.withLock {
                    stage.pid = process.processIdentifier
                    if stage.termination == nil {  // unless already seen by `noticeExitsHiddenByGrandchildren`
                        stage.termination = termination
                        stage.endedAt = monotonicSeconds()
                    }
                }
                wake.signal()
            }
            lock.withLock {
                stage.process = process
                stage.startedAt = monotonicSeconds()
            }
            do {
                try process.run()
            } catch {
                lock.withLock { stage.startedAt = nil }
                return (position, "\(shellQuotedCommand(stage.spec.display)): \(SystemErrorText.describe(error))")
            }
            lock.withLock { stage.pid = process.processIdentifier }
            options.started?(stage.id, process.processIdentifier)
            stdinOfNext = stdinOfFollowing
        }
        return nil
    }

    /// Starts a stage with `posix_spawn` as Foundation would (its own process group, default signal
    /// dispositions, an empty signal mask, only stdin/stdout/stderr open) and watches it from a thread of
    /// its own: `waitid(WNOWAIT)` waits for the exit without reaping, so `/proc/<pid>/io` still holds the
    /// final counters, which are read before the zombie is reaped.
    private func spawnReapedByRunner(_ stage: StageState, stdin: Int32, stdout: Int32, stderr: Int32) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Through descriptors above the standard ones, so that no dup2 overwrites a source still needed.
        var moved: [Int32] = []
        defer { moved.forEach { close($0) } }
        for (target, source) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            let copy = fcntl(source, F_DUPFD_CLOEXEC, 3)
            guard copy >= 0 else { throw Descriptors.SystemError(operation: "dup", code: errno) }
            moved.append(copy)
            posix_spawn_file_actions_adddup2(&actions, copy, target)
        }
        // Nothing else zettabee holds reaches the child (Foundation closes every other descriptor too):
        // a leaked pipe would keep zettabee's caller waiting for an end of file after zettabee ended.
        guard SpawnCloseFrom.add(&actions, lowest: 3) else {
            throw Descriptors.SystemError(operation: "posix_spawn_file_actions_addclosefrom_np", code: ENOSYS)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = ([stage.executable] + stage.spec.arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, stage.executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw Descriptors.SystemError(operation: "posix_spawn", code: result) }
        lock.withLock {
            stage.pid = pid
            stage.reapedByRunner = true
        }
        let child = pid
        let thread = Thread { [self, child] in
            let pid = child
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
            let counters = ProcFS.ioCounters(pid: pid)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let termination: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
            lock.withLock {
                stage.finalIO = counters
                stage.termination = termination
                stage.endedAt = monotonicSeconds()
            }
            wake.signal()
        }
        thread.name = "reaper \(stage.id)"
        thread.start()
        return pid
    }

    private func openInput(_ source: StreamSource) throws -> Int32 {
        switch source {
        case .null:
            return try Descriptors.open("/dev/null", flags: O_RDONLY)
        case .file(let path):
            return try Descriptors.open(path, flags: O_RDONLY)
        case .bytes(let payload):
            // Filled before the child starts, so zettabee never writes to a process that may have died.
            let pipe = try Descriptors.makePipe()
            defer { close(pipe.write) }
            if payload.count > 65536, fcntl(pipe.write, 1031 /* F_SETPIPE_SZ */, Int32(payload.count)) < 0 {
                close(pipe.read)
                throw Descriptors.SystemError(operation: "input of \(payload.count) bytes does not fit a pipe", code: errno)
            }
            do {
                try Descriptors.writeAll(pipe.write, payload)
            } catch {
                close(pipe.read)
                throw error
            }
            return pipe.read
        }
    }

    private func openOutput(_ sink: StreamSink, pipeline: Int) throws -> Int32 {
        switch sink {
        case .null:
            return try Descriptors.open("/dev/null", flags: O_WRONLY)
        case .file(let path, let append):
            return try Descriptors.open(path, flags: O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC))
        case .inherit:
            return STDOUT_FILENO
        case .capture(let limit):
            let pipe = try Descriptors.makePipe()
            let collector = CaptureCollector(limit: limit)
            captures[pipeline] = collector
            startDrain(
                fd: pipe.read, abandon: abandon, group: drains, name: "stdout \(pipeline)",
                consume: { collector.consume($0) }, finish: {})
            return pipe.write
        }
    }

    // MARK: Reporting

    private func stageResult(_ stage: StageState, endedAt runEnd: Double) -> StageResult {
        let (pid, termination, started, ended, stopped, finalIO) = lock.withLock {
            (stage.pid, stage.termination, stage.startedAt, stage.endedAt, stage.stoppedByRunner, stage.finalIO)
        }
        var result = StageResult(
            spec: stage.spec, pid: pid, termination: termination, stderrTail: stage.stderr.tailText,
            duration: started.map { (ended ?? runEnd) - $0 } ?? 0, remoteStatuses: stage.stderr.remoteStatuses,
            stoppedByRunner: stopped)
        result.finalIO = finalIO
        result.stderrBytes = stage.stderr.totalBytes
        return result
    }

    private func makeResult(endedAt: Double) -> GraphResult {
        GraphResult(
            stages: stages.map { $0.map { stageResult($0, endedAt: endedAt) } },
            captured: captures.mapValues(\.bytes), elapsed: endedAt - startedAt)
    }

    /// Why the run failed, or `nil` when it succeeded. A timeout, stall or signal names itself; otherwise
    /// the blame goes to the stage that failed first for its own reason.
    private func failureKind(_ result: GraphResult) -> RunFailure.Kind? {
        switch teardownReason {
        case .timedOut: return .timedOut(seconds: options.timeout ?? 0)
        case .stalled: return .stalled(seconds: options.stallTimeout ?? 0)
        case .interrupted(let signal): return .interrupted(signal: signal)
        default: break
        }
        if case .startFailed = failureBeforeTeardown { return failureBeforeTeardown }
        let endTimes = lock.withLock { Dictionary(uniqueKeysWithValues: stages.joined().map { ($0.id, $0.endedAt ?? .infinity) }) }
        let failed = result.stages.enumerated().flatMap { p, pipeline in
            pipeline.enumerated().compactMap { s, stage -> (StageID, StageResult)? in
                let id = StageID(pipeline: p, stage: s)
                return stage.termination != nil && !stage.succeeded && !stage.stoppedByRunner ? (id, stage) : nil
            }
        }.sorted { endTimes[$0.0]! < endTimes[$1.0]! }
        if let culprit = failed.first(where: { !isConsequence($0.1) }) {
            return .stageFailed(culprit.0)
        }
        // Only consequences. A stage that says its input ended early while the stage writing to it broke
        // its pipe on it closed its input itself: it is the cause (a pipe breaks only when its reader goes).
        if let closer = failed.first(where: { id, stage in
            saysInputEndedEarly(stage) && id.stage > 0 && brokeItsPipe(result.stages[id.pipeline][id.stage - 1])
        }) {
            return .stageFailed(closer.0)
        }
        // A connection reset is where such a chain begins: the network went away under that stage, and
        // the stages after it only saw their input end. The first in graph order, whichever process the
        // runner saw end first, so the same failure always names the same stage.
        let inGraphOrder = failed.sorted { ($0.0.pipeline, $0.0.stage) < ($1.0.pipeline, $1.0.stage) }
        if let reset = inGraphOrder.first(where: { saysConnectionReset($0.1) }) {
            return .stageFailed(reset.0)
        }
        if let first = failed.first {
            return .stageFailed(first.0)
        }
        if let failureBeforeTeardown { return failureBeforeTeardown }
        if !result.succeeded, let stopped = result.stages.joined().enumerated().first(where: { !$0.element.succeeded }) {
            // Only reachable if a process did not end even after SIGKILL.
            let id = stages.joined().map(\.id)[stopped.offset]
            return .stageFailed(id)
        }
        if let (pipeline, collector) = captures.sorted(by: { $0.key < $1.key }).first(where: { $0.value.overflowed }) {
            return .outputTooLarge(pipeline: pipeline, limit: collector.limit)
        }
        return nil
    }
}

/// How `pid` ended if it has, without reaping it; `nil` while it runs (or once it was reaped).
private func peekExit(of pid: Int32) -> Termination? {
    var info = siginfo_t()
    guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
        info._sifields._sigchld.si_pid == pid
    else { return nil }
    let status = info._sifields._sigchld.si_status
    return info.si_code == CLD_EXITED ? .exited(status) : .signaled(status)
}

/// The pids whose process group is `pgid`, from /proc.
private func processesInGroup(_ pgid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { Int32($0) }.filter { getpgid($0) == pgid }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), looked up at run time: Swift's Glibc module
/// does not declare it.
private enum SpawnCloseFrom {
    typealias Function = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let function: Function? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }()

    static func add(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, lowest: Int32) -> Bool {
        guard let function else { return false }
        return function(actions, lowest) == 0
    }
}
