import CommandGraph
import Foundation
import GraphRunner
import Zettabee

/// How a run ended, for the exit code, the last-run record and Nagios.
struct RunOutcome {
    var exitCode: Int32
    var nagios: NagiosStatus
    /// After `ACTION dest: ` in the Nagios output.
    var text: String
    var performance: String?
}

extension ActionRunner {
    /// `initialize` / `update`: takes the pair's lock, runs the replication while publishing its progress,
    /// records the result in the run directory and reports it to Nagios (one result, whatever happened).
    func replicate(_ pair: Pair) -> Int32 {
        SignalTrap.install()
        let log: PairLog
        if options.dryRun {
            log = PairLog(discardingFor: pair.fingerprint, mirror: options.verbose, debug: options.debug)
        } else {
            do {
                log = try PairLog(
                    path: files.logPath(for: pair.fingerprint), fingerprint: pair.fingerprint, debug: options.debug,
                    mirror: options.verbose)
            } catch {
                let failure = ActionError("\(error); run 'zettabee setup' first?", nagios: .unknown)
                return report(pair, log: nil, RunOutcome(exitCode: fail(pair, failure), nagios: .unknown, text: failure.message))
            }
        }
        var lock: PairLock?
        if !options.dryRun {
            do {
                switch try PairLock.acquire(path: files.lockPath(for: pair.fingerprint), action: actionName) {
                case .busy(let holder):
                    return report(pair, log: log, overlap(pair, holder: holder, log: log))
                case .acquired(let acquired, let stale):
                    lock = acquired
                    if let stale {
                        log.warn("found a stale lock of pid \(stale.pid) (\(stale.action)); that run died, recovering")
                        let leftovers = stale.children.compactMap { ProcessIdentity($0) }
                        for process in Leftovers.terminate(leftovers) {
                            log.warn("stopped process \(process.pid) left running by the dead run")
                        }
                    }
                }
            } catch {
                let failure = ActionError("\(error)", nagios: .unknown)
                log.error("\(actionName) refused: \(failure.message)")
                return report(pair, log: log, RunOutcome(exitCode: fail(pair, failure), nagios: .unknown, text: failure.message))
            }
        }
        defer { lock?.release() }
        let outcome = runLocked(pair, log: log, lock: lock)
        return report(pair, log: log, outcome)
    }

    /// The settings every pair of this run replicates with.
    func replicationSettings(observer: (any ReplicationObserver)?) -> ReplicationSettings {
        ReplicationSettings(
            files: files, sshConfig: options.sshConfigPath, dryRun: options.dryRun, forceRollback: options.forceRollback,
            observer: observer, capabilities: capabilities)
    }

    /// The replication itself, under the lock.
    private func runLocked(_ pair: Pair, log: PairLog, lock: PairLock?) -> RunOutcome {
        log.info("\(actionName) started (pid \(getpid()))")
        let started = Date()
        var publisher: ProgressPublisher?
        let progressLine = TerminalProgressLine()
        if !options.dryRun {
            let bar: (@Sendable (RunProgress) -> Void)? = showsProgressLine ? progressLine.draw : nil
            publisher = ProgressPublisher(path: files.progressPath(for: pair.fingerprint), action: actionName, display: bar)
        }
        defer {
            publisher?.finish()
            progressLine.end()
        }
        var settings = replicationSettings(observer: publisher)
        if options.all { settings.connections = connections }
        let recorder = lock
        settings.childStarted = { pid in
            if let identity = ProcessIdentity.of(pid: pid) { recorder?.recordChild(identity.description) }
        }
        let plan = PlanCollector()
        if options.dryRun && options.json { settings.changes = RenderedChanges(plan: { plan.append($0) }) }
        do {
            let replicator = try Replicator(pair: pair, settings: settings, executor: executor, log: log, dryRunOutput: { [terminal] in terminal.out($0) })
            replicator.shareSourceConnection()
            defer { replicator.source.closeSharedConnection() }
            let summary = invocation.action == .initialize ? try replicator.initialize() : try replicator.update()
            progressLine.end()
            guard !options.dryRun else {
                if options.json { terminal.out(plan.json(action: actionName, pair: pair)) }
                return RunOutcome(exitCode: 0, nagios: .ok, text: "dry run")
            }
            // The size comes from the final counters of the stage feeding zfs receive; nil, not 0, when
            // nothing was measured.
            let measured = (publisher?.current.elapsed ?? 0) > 0 || summary.bytes > 0
            let bytes = measured ? summary.bytes : nil
            let end = Date()
            let lag = summary.snapshot.flatMap { PairSnapshotName(parsing: $0)?.date }.map { Int(end.timeIntervalSince($0)) }
            let health = Health.ofSuccess(
                thresholds: pair.options.thresholds, lag: lag, runSeconds: Int(end.timeIntervalSince(started)))
            let base = summary.snapshot ?? "-"
            var text = "base \(base)"
            if let bytes { text += ", \(ProgressText.bytes(bytes))" }
            text += " in \(TimeSpan(seconds: Int(summary.seconds.rounded())).lagText)"
            record(pair, RunRecord(
                action: actionName, start: started, end: end, result: .success, message: text, bytes: bytes,
                snapshot: summary.snapshot, nagios: health.status), log: log)
            var performance = "duration=\(Int(summary.seconds.rounded()))s"
            if let lag { performance = "lag=\(lag)s " + performance }
            if let bytes { performance += " bytes=\(bytes)B" }
            let verdict = health.status == .ok ? "OK, " + text : health.reasons.joined(separator: ", ") + " (\(text))"
            return RunOutcome(exitCode: 0, nagios: health.status, text: verdict, performance: performance)
        } catch {
            log.error("\(actionName) failed: \(error.message)")
            if let details = error.details { log.writeLines(.debug, details) }
            let signal = error.signal ?? SignalTrap.pendingSignal
            if !options.dryRun {
                record(pair, RunRecord(
                    action: actionName, start: started, end: Date(), result: .failure, message: error.message,
                    bytes: publisher.map(\.current.bytes), snapshot: nil, nagios: error.nagios), log: log)
            }
            if let signal {
                terminal.err("zettabee: error: \(actionName) \(pair.destination.dataset): \(error.message)")
                return RunOutcome(exitCode: 128 + signal, nagios: .critical, text: "interrupted: \(error.message)")
            }
            return RunOutcome(exitCode: fail(pair, error), nagios: error.nagios, text: "failed: \(error.message)")
        }
    }

    /// A live progress line on stderr whenever stderr is a terminal (one pair at a time), unless `-q`;
    /// never under cron.
    var showsProgressLine: Bool { !options.quiet && !options.all && isatty(STDERR_FILENO) == 1 }

    /// Another run holds the lock: normal for overlapping cron runs (exit 0), unless that run is over crun.
    private func overlap(_ pair: Pair, holder: LockHolder?, log: PairLog) -> RunOutcome {
        let who = describe(holder)
        let runningFor = holder.map { max(0, Int(Date().timeIntervalSince1970 - $0.started)) } ?? 0
        let health = Health.ofOverlap(thresholds: pair.options.thresholds, runningFor: runningFor)
        let text = "skipped: another run holds the lock (\(who))"
        switch health.status {
        case .critical:
            let message = "\(text); \(health.reasons.joined(separator: ", "))"
            log.error("\(actionName) \(message)")
            return RunOutcome(exitCode: fail(pair, ActionError(message)), nagios: .critical, text: message)
        case .warning:
            log.warn("\(actionName) \(text); \(health.reasons.joined(separator: ", "))")
            return RunOutcome(exitCode: 0, nagios: .warning, text: "\(text); \(health.reasons.joined(separator: ", "))")
        default:
            log.info("\(actionName) \(text)")
            return RunOutcome(exitCode: 0, nagios: .ok, text: text)
        }
    }

    /// Keeps the run's result in `<run-dir>/<fp>.last.json`.
    private func record(_ pair: Pair, _ record: RunRecord, log: PairLog) {
        do {
            try record.save(to: files.lastRunPath(for: pair.fingerprint))
        } catch {
            log.warn("could not record the run's result: \(describe(error))")
        }
    }

    /// Sends the outcome to Nagios (with `-N`, not in dry runs) and returns the exit code: a failing
    /// send_nsca is reported on stderr and in the log and turns a 0 into 1.
    func report(_ pair: Pair, log: PairLog?, _ outcome: RunOutcome) -> Int32 {
        guard let server = options.nagiosHost, !options.dryRun else { return outcome.exitCode }
        let output = NagiosReporter.output(action: actionName, pair: pair, text: outcome.text, performance: outcome.performance)
        log?.info("nagios: \(outcome.nagios.label) \(output) (\(nagiosSettings(server: server)))")
        do {
            try nagiosReporter(server: server).send(try NagiosReporter.result(pair: pair, status: outcome.nagios, output: output))
            return outcome.exitCode
        } catch {
            let message = "\(error)"
            log?.error("reporting to Nagios failed: \(message)")
            terminal.err("zettabee: error: \(subject(pair)): reporting to Nagios failed: \(message)")
            return outcome.exitCode == 0 ? 1 : outcome.exitCode
        }
    }

    func nagiosReporter(server: String) -> NagiosReporter {
        NagiosReporter(settings: nagiosSettings(server: server), executor: executor)
    }

    /// The command line's send_nsca settings, the original Zettabee's files where it gives none.
    func nagiosSettings(server: String) -> NagiosSettings {
        NagiosSettings.resolved(
            server: server, port: options.nscaPort, configFile: options.sendNSCAConfigPath, program: options.sendNSCAPath,
            exists: { FileManager.default.fileExists(atPath: $0) })
    }
}

/// The changes a `--dry-run --json` run planned, in order.
final class PlanCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [PlannedChange] = []

    func append(_ change: PlannedChange) { lock.withLock { changes.append(change) } }

    /// One line: `{"action", "source", "destination", "fingerprint", "changes": [...]}` (see
    /// `PlannedChange.jsonObject`).
    func json(action: String, pair: Pair) -> String {
        let object: [String: Any] = [
            "action": action, "source": pair.source.description, "destination": pair.destination.description,
            "fingerprint": pair.fingerprint.description, "changes": lock.withLock { changes.map(\.jsonObject) },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The progress bar on the terminal's stderr line: redrawn in place, ended with a newline once (only if
/// it was drawn), so that what follows starts on a line of its own.
final class TerminalProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var drawn = false

    @Sendable func draw(_ progress: RunProgress) {
        lock.withLock {
            drawn = true
            FileHandle.standardError.write(Data(("\r" + ProgressText.bar(progress) + "\u{1B}[K").utf8))
        }
    }

    func end() {
        lock.withLock {
            if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
            drawn = false
        }
    }
}
