import Foundation

/// Every pair's status in the Prometheus text exposition format (version 0.0.4), as node_exporter's
/// textfile collector reads it from `zettabee.prom` and as `zettabee metrics` prints it.
///
/// Each pair's series carry the labels `source`, `destination` and `fingerprint`. The state is an
/// enum the Prometheus way: `zettabee_pair_state{…,state="synchronized"} 1`, one series per possible
/// state, exactly one of them 1. A value zettabee does not know (no base: no lag; no threshold; no last
/// run) has no series rather than a made-up number. Pure: the text depends only on its arguments.
public enum MetricsFormatter {
    /// The file node_exporter's textfile collector reads in `--metrics-dir`.
    public static let fileName = "zettabee.prom"

    /// The `state` label values of `zettabee_pair_state`, in order.
    public static let states = ["synchronized", "resumable", "uninitialized", "inconsistent", "unknown"]

    /// The `state` label value of a status.
    public static func state(of status: PairStatus) -> String {
        switch status.condition {
        case .synchronized: "synchronized"
        case .interrupted: "resumable"
        case .uninitialized: "uninitialized"
        case .inconsistent: "inconsistent"
        case nil: "unknown"
        }
    }

    struct Family {
        var name: String
        var type: String
        var help: String
        /// Per pair: extra labels (after the pair's) and the value; nil for no sample.
        var samples: (PairStatus) -> [(labels: [(String, String)], value: Double)]
    }

    static func one(_ value: Double?) -> [(labels: [(String, String)], value: Double)] {
        value.map { [(labels: [], value: $0)] } ?? []
    }

    static func flag(_ value: Bool) -> Double { value ? 1 : 0 }

    static var families: [Family] { [
        Family(name: "zettabee_pair_state", type: "gauge",
               help: "1 for the pair's current state (synchronized, resumable, uninitialized, inconsistent, unknown), 0 for the others.",
               samples: { status in
                   let current = state(of: status)
                   return states.map { (labels: [("state", $0)], value: $0 == current ? 1 : 0) }
               }),
        Family(name: "zettabee_pair_health", type: "gauge",
               help: "The pair's health as a Nagios code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
               samples: { one(Double(Health.of($0).status.rawValue)) }),
        Family(name: "zettabee_pair_lag_seconds", type: "gauge",
               help: "Seconds since the destination's base snapshot was created (no sample without a base).",
               samples: { one($0.lag.map { Double($0) }) }),
        Family(name: "zettabee_pair_lag_warning_seconds", type: "gauge",
               help: "The pair's wlag threshold in seconds (no sample when not configured).",
               samples: { one($0.pair.options.thresholds.warningLag.map { Double($0.seconds) }) }),
        Family(name: "zettabee_pair_lag_critical_seconds", type: "gauge",
               help: "The pair's clag threshold in seconds (no sample when not configured).",
               samples: { one($0.pair.options.thresholds.criticalLag.map { Double($0.seconds) }) }),
        Family(name: "zettabee_pair_run_warning_seconds", type: "gauge",
               help: "The pair's wrun threshold in seconds (no sample when not configured).",
               samples: { one($0.pair.options.thresholds.warningRun.map { Double($0.seconds) }) }),
        Family(name: "zettabee_pair_run_critical_seconds", type: "gauge",
               help: "The pair's crun threshold in seconds (no sample when not configured).",
               samples: { one($0.pair.options.thresholds.criticalRun.map { Double($0.seconds) }) }),
        Family(name: "zettabee_pair_running", type: "gauge",
               help: "1 while a run of the pair holds its lock, else 0.",
               samples: { status in
                   if case .held = status.lock { return one(1) }
                   return one(0)
               }),
        Family(name: "zettabee_pair_running_seconds", type: "gauge",
               help: "How long the pair's current run has been going (no sample when idle).",
               samples: { one($0.runtime.map { Double($0) }) }),
        Family(name: "zettabee_pair_locked", type: "gauge",
               help: "1 when the pair's lock file is present (held, or left by a run that died), else 0.",
               samples: { one(flag($0.flags.locked)) }),
        Family(name: "zettabee_pair_last_run_success", type: "gauge",
               help: "1 when the pair's last initialize or update succeeded, 0 when it failed (no sample before the first run).",
               samples: { one($0.lastRun.map { flag($0.result == .success) }) }),
        Family(name: "zettabee_pair_last_run_timestamp_seconds", type: "gauge",
               help: "When the pair's last initialize or update ended, in seconds since the epoch.",
               samples: { one($0.lastRun.map { $0.end.timeIntervalSince1970.rounded(.down) }) }),
        Family(name: "zettabee_pair_last_run_duration_seconds", type: "gauge",
               help: "How long the pair's last initialize or update took.",
               samples: { one($0.lastRun.map { ($0.duration * 1000).rounded() / 1000 }) }),
        Family(name: "zettabee_pair_last_run_bytes", type: "gauge",
               help: "Bytes the pair's last initialize or update transferred (no sample when not measured).",
               samples: { one($0.lastRun?.bytes.map { Double($0) }) }),
    ] }

    /// The exposition text for `statuses`, ending in a newline: HELP and TYPE for every family, then
    /// the samples of every pair, and `zettabee_metrics_generated_timestamp_seconds` (when the text was made).
    public static func text(_ statuses: [PairStatus], now: Date) -> String {
        var lines: [String] = []
        for family in families {
            lines.append("# HELP \(family.name) \(escapeHelp(family.help))")
            lines.append("# TYPE \(family.name) \(family.type)")
            for status in statuses {
                let pairLabels = [
                    ("source", status.pair.source.description), ("destination", status.pair.destination.description),
                    ("fingerprint", status.pair.fingerprint.description),
                ]
                for sample in family.samples(status) {
                    lines.append("\(family.name){\(labelText(pairLabels + sample.labels))} \(number(sample.value))")
                }
            }
        }
        lines.append("# HELP zettabee_pairs Configured pairs.")
        lines.append("# TYPE zettabee_pairs gauge")
        lines.append("zettabee_pairs \(statuses.count)")
        lines.append("# HELP zettabee_metrics_generated_timestamp_seconds When zettabee wrote these metrics, in seconds since the epoch.")
        lines.append("# TYPE zettabee_metrics_generated_timestamp_seconds gauge")
        lines.append("zettabee_metrics_generated_timestamp_seconds \(number(now.timeIntervalSince1970.rounded(.down)))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `a="x",b="y"` with values escaped.
    static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
    }

    /// A label value: backslash, double quote and line feed escaped.
    public static func escapeLabel(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Whole numbers without a fraction, others as Swift prints them.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
