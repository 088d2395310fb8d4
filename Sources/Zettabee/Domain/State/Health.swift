import CommandGraph
import Foundation

/// A Nagios verdict: the status and the reasons for it, worst first.
public struct Health: Hashable, Sendable {
    public var status: NagiosStatus
    public var reasons: [String]

    public init(status: NagiosStatus, reasons: [String] = []) {
        self.status = status
        self.reasons = reasons
    }

    /// Adds a finding; the verdict becomes the worse of the two.
    public mutating func add(_ status: NagiosStatus, _ reason: String) {
        if status.severity > self.status.severity {
            self.status = status
            reasons.insert(reason, at: 0)
        } else {
            reasons.append(reason)
        }
    }
}

extension NagiosStatus {
    /// OK < WARNING < UNKNOWN < CRITICAL, for choosing the worst of several.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .unknown: 2
        case .critical: 3
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    public var label: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }
}

/// Comparing lags and run times with a pair's thresholds. Pure.
extension Thresholds {
    /// WARNING over `wlag`, CRITICAL over `clag`, with the reason (`lag 5:02:11 over clag 4:00:00`).
    public func judge(lag seconds: Int) -> (NagiosStatus, String)? {
        if let criticalLag, seconds > criticalLag.seconds {
            return (.critical, "lag \(TimeSpan(seconds: seconds).lagText) over clag \(criticalLag.lagText)")
        }
        if let warningLag, seconds > warningLag.seconds {
            return (.warning, "lag \(TimeSpan(seconds: seconds).lagText) over wlag \(warningLag.lagText)")
        }
        return nil
    }

    /// WARNING over `wrun`, CRITICAL over `crun`, with the reason.
    public func judge(run seconds: Int) -> (NagiosStatus, String)? {
        if let criticalRun, seconds > criticalRun.seconds {
            return (.critical, "run time \(TimeSpan(seconds: seconds).lagText) over crun \(criticalRun.lagText)")
        }
        if let warningRun, seconds > warningRun.seconds {
            return (.warning, "run time \(TimeSpan(seconds: seconds).lagText) over wrun \(warningRun.lagText)")
        }
        return nil
    }
}

extension Health {
    /// The active check's verdict on a pair (`check`): UNKNOWN when its state could not be read,
    /// CRITICAL when Inconsistent, WARNING when Uninitialized or Resumable; then lag, the running run's time and the
    /// last run's result against the thresholds.
    public static func of(_ status: PairStatus) -> Health {
        var health = Health(status: .ok)
        let thresholds = status.pair.options.thresholds
        switch status.condition {
        case nil:
            health.add(.unknown, "state unknown: \(status.problem ?? "not read")")
        case .inconsistent(let reason)?:
            health.add(.critical, "Inconsistent: \(reason)")
        case .interrupted(_, let reason)?:
            health.add(.warning, "Resumable: \(reason); the next update completes or rolls it back")
        case .uninitialized?:
            health.add(.warning, "not initialized")
        case .synchronized?:
            break
        }
        if let lag = status.lag, let (code, reason) = thresholds.judge(lag: lag) { health.add(code, reason) }
        if let runtime = status.runtime, let (code, reason) = thresholds.judge(run: runtime) {
            health.add(code, "\(status.activity.rawValue.lowercased()): \(reason)")
        }
        if let last = status.lastRun, last.result == .failure {
            let code = NagiosStatus(rawValue: last.nagios) ?? .critical
            health.add(code == .ok ? .warning : code, "last \(last.action) failed: \(last.message)")
        }
        return health
    }

    /// The verdict on a run that succeeded: its lag afterwards (now − the new base's creation) and its run
    /// time against the thresholds.
    public static func ofSuccess(thresholds: Thresholds, lag: Int?, runSeconds: Int) -> Health {
        var health = Health(status: .ok)
        if let lag, let (code, reason) = thresholds.judge(lag: lag) { health.add(code, reason) }
        if let (code, reason) = thresholds.judge(run: runSeconds) { health.add(code, reason) }
        return health
    }

    /// The verdict when a run found another one still running: OK, unless that run is over `wrun`/`crun`.
    public static func ofOverlap(thresholds: Thresholds, runningFor seconds: Int) -> Health {
        var health = Health(status: .ok)
        if let (code, reason) = thresholds.judge(run: seconds) { health.add(code, "the running one's \(reason)") }
        return health
    }
}
