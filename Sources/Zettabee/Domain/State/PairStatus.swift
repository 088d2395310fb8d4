import CommandGraph
import Foundation

/// What a pair is doing right now.
public enum RunActivity: String, Sendable, Hashable {
    case idle = "Idle"
    case running = "Running"
    case initializing = "Initializing"
    /// A partial receive waits on the destination (`receive_resume_token` is set).
    case resumable = "Resumable"
}

/// Marks shown next to a pair's lag.
public struct LagFlags: Hashable, Sendable {
    /// `L`: a lock file is present (held by a live run, or left by a killed one).
    public var locked = false
    /// `+`: the lag is over the pair's `wlag`.
    public var overWarning = false
    /// `!`: the lag is over the pair's `clag`.
    public var overCritical = false

    public init(locked: Bool = false, overWarning: Bool = false, overCritical: Bool = false) {
        self.locked = locked
        self.overWarning = overWarning
        self.overCritical = overCritical
    }

    /// `L+!`, or the empty string.
    public var text: String { (locked ? "L" : "") + (overWarning ? "+" : "") + (overCritical ? "!" : "") }
}

/// Everything `status`, `check` and `--json` show about one pair. Built by `PairStatus.assess`, which is pure.
public struct PairStatus: Sendable {
    public var pair: Pair
    /// nil when the state could not be determined (`problem` says why).
    public var condition: PairCondition?
    /// Why the pair is Inconsistent or Resumable, or why its state is unknown.
    public var problem: String?
    public var activity: RunActivity
    /// Seconds the running run has been going; nil when idle.
    public var runtime: Int?
    /// Seconds since the destination's base was created; nil without a base.
    public var lag: Int?
    public var base: String?
    public var baseCreated: Date?
    public var lock: PairLock.Inspection
    public var lastRun: RunRecord?
    public var flags: LagFlags

    /// `Synchronized`, `Resumable`, `Uninitialized`, `Inconsistent!`, or `Unknown`.
    public var stateName: String { condition?.stateName ?? "Unknown" }

    /// Judges a pair from what its hosts said (`source`/`destination` nil when the host could not be
    /// read, `queryProblem` saying why), its lock file and last run, at `now`.
    public static func assess(
        pair: Pair, source: DatasetState?, destination: DatasetState?, queryProblem: String? = nil,
        resumeTokenSet: Bool = false, lock: PairLock.Inspection, lastRun: RunRecord?, now: Date
    ) -> PairStatus {
        var condition: PairCondition?
        var problem = queryProblem
        if let source, let destination {
            let assessed = PairCondition.assess(pair: pair, source: source, destination: destination)
            condition = assessed
            switch assessed {
            case .inconsistent(let reason), .interrupted(_, let reason): problem = reason
            case .synchronized, .uninitialized: break
            }
        }
        var base: String?
        var baseCreated: Date?
        if let destination, let recorded = destination.value(pair.properties.lastSnapshot) {
            let name = PairCondition.baseName(recorded)
            if let record = destination.snapshot(named: name) {
                base = name
                baseCreated = record.creation.map { Date(timeIntervalSince1970: Double($0)) }
            }
        }
        let lag = baseCreated.map { Int(now.timeIntervalSince($0).rounded(.down)) }

        var activity = RunActivity.idle
        var runtime: Int?
        if case .held(let holder) = lock {
            activity = holder?.action == "initialize" ? .initializing : .running
            runtime = holder.map { max(0, Int(now.timeIntervalSince1970 - $0.started)) }
        } else if resumeTokenSet {
            activity = .resumable
        }
        var flags = LagFlags()
        if case .free = lock {} else { flags.locked = true }
        let thresholds = pair.options.thresholds
        if let lag {
            flags.overWarning = thresholds.warningLag.map { lag > $0.seconds } ?? false
            flags.overCritical = thresholds.criticalLag.map { lag > $0.seconds } ?? false
        }
        return PairStatus(
            pair: pair, condition: condition, problem: problem, activity: activity, runtime: runtime, lag: lag,
            base: base, baseCreated: baseCreated, lock: lock, lastRun: lastRun, flags: flags)
    }
}
