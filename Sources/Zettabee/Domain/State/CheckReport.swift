import CommandGraph

/// The active check (`check`): one line of Nagios plugin output and the exit code of the worst pair. Pure.
///
///     ZETTABEE OK - backup/data Synchronized, lag 0:00:05|lag=5s;3600;7200;0
///     ZETTABEE CRITICAL - backup/data: lag 5:02:11 over clag 4:00:00; backup/other OK|lag_backup/data=18131s;… lag_backup/other=…
public enum CheckReport {
    public static func render(_ statuses: [PairStatus]) -> (status: NagiosStatus, line: String) {
        let verdicts = statuses.map { ($0, Health.of($0)) }
        let worst = verdicts.map(\.1.status).max { $0.severity < $1.severity } ?? .unknown
        let parts = verdicts.map { status, health in
            let name = "\(status.pair.destination.dataset)"
            if health.status == .ok {
                let lag = status.lag.map { ", lag \(TimeSpan(seconds: $0).lagText)" } ?? ""
                return "\(name) \(status.stateName)\(lag)"
            }
            return "\(name) \(health.status.label): \(health.reasons.joined(separator: ", "))"
        }
        let performance = statuses.compactMap { status -> String? in
            guard let lag = status.lag else { return nil }
            let label = statuses.count == 1 ? "lag" : "'lag \(status.pair.destination.dataset)'"
            let thresholds = status.pair.options.thresholds
            let warning = thresholds.warningLag.map { String($0.seconds) } ?? ""
            let critical = thresholds.criticalLag.map { String($0.seconds) } ?? ""
            return "\(label)=\(lag)s;\(warning);\(critical);0"
        }
        var text = parts.isEmpty ? "no pairs configured" : parts.joined(separator: "; ")
        text = text.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "\n", with: " ")
        let line = "ZETTABEE \(worst.label) - \(text)" + (performance.isEmpty ? "" : "|" + performance.joined(separator: " "))
        return (worst, line)
    }
}
