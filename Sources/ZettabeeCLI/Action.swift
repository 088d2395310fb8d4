/// What zettabee is asked to do: the `<action>` word.
public enum Action: String, Sendable, CaseIterable {
    case setup, initialize, update, fingerprint, logfile
    case status, runstatus, unlock, purge, check, handback
    case metrics

    /// `fingerprint`, `status` and `check` act on every pair when no destination is given; `setup` takes none.
    public var requiresDestination: Bool {
        self != .fingerprint && self != .status && self != .check && self != .setup && self != .metrics
    }

    /// One line for `--help`.
    var summary: String {
        switch self {
        case .setup: "Create the configuration, run and log directories"
        case .initialize: "Full transfer of the source into a new destination"
        case .update: "Incremental transfer from the last snapshot both sides hold"
        case .fingerprint: "Print a pair's fingerprint (every pair's without <destination>)"
        case .logfile: "Print the path of a pair's log file"
        case .status: "Show state and lag (every pair's without <destination>)"
        case .runstatus: "Follow a running transfer's progress"
        case .unlock: "Remove a lock left behind by a run that died"
        case .purge: "Destroy the pair's snapshots beyond its keep count (-n lists them)"
        case .check: "Nagios active check of a pair's health (every pair's without <destination>)"
        case .handback: "Hand a pair back to the original Zettabee: release this pair's holds on both sides"
        case .metrics: "Print every pair's Prometheus metrics (the pair's with <destination>)"
        }
    }
}
