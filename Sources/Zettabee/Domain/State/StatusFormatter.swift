import CommandGraph
import Foundation

/// The three forms of `status`: aligned columns for people, `-H` for shell pipelines, `--json`. Pure.
public enum StatusFormatter {
    /// Column headings of the human form; `--full-status` adds BASE:PORT before STATUS.
    static let headings = ["SOURCE", "DESTINATION", "STATE", "LAG", "STATUS"]

    /// One row of fields per pair. Human, in the original Zettabee's column order so that its scripts keep
    /// working: lag `H:MM:SS` with its flags attached, with `--full-status` the base and the mbuffer port
    /// as `BASE:PORT`, and last the status with the runtime, `Idle (0:00:00)`. Scripted (`-H`): lag in
    /// seconds, the flags and the runtime (seconds) as fields of their own, `--full-status` adding base,
    /// port and fingerprint at the end; `-` for an absent value.
    static func fields(_ status: PairStatus, full: Bool, scripted: Bool) -> [String] {
        let names = [status.pair.source.description, status.pair.destination.description, status.stateName]
        if scripted {
            var row = names + [status.lag.map(String.init) ?? "-", status.flags.text.isEmpty ? "-" : status.flags.text]
                + [status.activity.rawValue, status.runtime.map(String.init) ?? "-"]
            if full {
                row += [status.base ?? "-", port(of: status.pair).map(String.init) ?? "-", status.pair.fingerprint.description]
            }
            return row
        }
        let lag = (status.lag.map { TimeSpan(seconds: $0).lagText } ?? "-") + status.flags.text
        let activity = status.activity.rawValue + " (\(TimeSpan(seconds: status.runtime ?? 0).lagText))"
        var row = names + [lag]
        if full { row.append("\(status.base ?? "-"):\(port(of: status.pair).map(String.init) ?? "-")") }
        return row + [activity]
    }

    /// The human table: one line per pair, columns separated by two spaces; a heading line first when
    /// `heading` (zettabee prints it only to a terminal, so that scripts see the lines they always saw).
    public static func table(_ statuses: [PairStatus], full: Bool, heading: Bool = true) -> [String] {
        let titles = full ? Array(headings.dropLast()) + ["BASE:PORT", "STATUS"] : headings
        let rows = (heading ? [titles] : []) + statuses.map { fields($0, full: full, scripted: false) }
        guard !rows.isEmpty else { return [] }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, text in
                column == row.count - 1 ? text : text + String(repeating: " ", count: widths[column] - text.count)
            }.joined(separator: "  ")
        }
    }

    /// `-H`: no heading, one tab between fields:
    /// `source destination state lag-seconds flags status runtime-seconds [base port fingerprint]`.
    public static func scripted(_ statuses: [PairStatus], full: Bool) -> [String] {
        statuses.map { fields($0, full: full, scripted: true).joined(separator: "\t") }
    }

    /// The mbuffer port, nil for the ssh transport.
    static func port(of pair: Pair) -> Int? {
        if case .mbuffer(let options) = pair.options.transport { return Int(options.port.number) }
        return nil
    }

    // MARK: JSON

    /// `--json`: `{"generated": ISO-8601, "pairs": [ … ]}`, each pair as `jsonObject` describes.
    public static func json(_ statuses: [PairStatus], now: Date) -> String {
        let object: [String: Any] = ["generated": iso(now), "pairs": statuses.map(jsonObject)]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// One pair: `source`, `destination`, `fingerprint`, `state`, `problem`, `status`, `runtimeSeconds`,
    /// `lagSeconds`, `flags` {`locked`, `overWarningLag`, `overCriticalLag`}, `base`, `baseCreated`,
    /// `transport`, `port`, `thresholds` {`wlag`, `clag`, `wrun`, `crun`} (seconds), `keep`,
    /// `lock` {`state` free|held|stale, `pid`, `action`, `started`}, `health` {`code`, `status`, `reasons`},
    /// `lastRun` {`action`, `start`, `end`, `durationSeconds`, `result`, `message`, `bytes`, `snapshot`}.
    /// Absent values are `null`; timestamps ISO 8601.
    static func jsonObject(_ status: PairStatus) -> [String: Any] {
        let pair = status.pair
        let thresholds = pair.options.thresholds
        let health = Health.of(status)
        var lock: [String: Any] = ["state": "free", "pid": NSNull(), "action": NSNull(), "started": NSNull()]
        let holder: LockHolder?
        switch status.lock {
        case .free: holder = nil
        case .held(let h): lock["state"] = "held"; holder = h
        case .stale(let h): lock["state"] = "stale"; holder = h
        }
        if let holder {
            lock["pid"] = Int(holder.pid)
            lock["action"] = holder.action
            lock["started"] = iso(Date(timeIntervalSince1970: holder.started))
        }
        var lastRun: Any = NSNull()
        if let run = status.lastRun {
            lastRun = [
                "action": run.action, "start": iso(run.start), "end": iso(run.end),
                "durationSeconds": (run.duration * 1000).rounded() / 1000, "result": run.result.rawValue,
                "message": run.message, "bytes": run.bytes.map { $0 as Any } ?? NSNull(),
                "snapshot": run.snapshot.map { $0 as Any } ?? NSNull(),
            ] as [String: Any]
        }
        return [
            "source": pair.source.description,
            "destination": pair.destination.description,
            "fingerprint": pair.fingerprint.description,
            "state": status.stateName,
            "problem": nullable(status.problem),
            "status": status.activity.rawValue,
            "runtimeSeconds": nullable(status.runtime),
            "lagSeconds": nullable(status.lag),
            "flags": [
                "locked": status.flags.locked, "overWarningLag": status.flags.overWarning,
                "overCriticalLag": status.flags.overCritical,
            ],
            "base": nullable(status.base),
            "baseCreated": nullable(status.baseCreated.map(iso)),
            "transport": pair.options.transport.name,
            "port": nullable(port(of: pair)),
            "thresholds": [
                "wlag": nullable(thresholds.warningLag?.seconds), "clag": nullable(thresholds.criticalLag?.seconds),
                "wrun": nullable(thresholds.warningRun?.seconds), "crun": nullable(thresholds.criticalRun?.seconds),
            ],
            "keep": pair.options.keep,
            "lock": lock,
            "health": ["code": health.status.rawValue, "status": health.status.label, "reasons": health.reasons],
            "lastRun": lastRun,
        ]
    }

    static func nullable<T>(_ value: T?) -> Any { value.map { $0 as Any } ?? NSNull() }

    /// `2026-11-26T18:33:19Z`.
    public static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
