import CommandGraph
import Foundation

/// What each host's zfs supports, remembered for one zettabee run. With `--all`, the pairs of one
/// source host (and every pair's destination host) share one probe instead of two commands per pair
/// and side; a host's zfs does not change in the middle of a run.
public final class CapabilityCache: @unchecked Sendable {
    /// A host as zettabee reaches it (the same name behind another port or user is another host) and a pool.
    struct Key: Hashable {
        var location: Location
        var pool: String
    }

    private let condition = NSCondition()
    private var entries: [Key: HostCapabilities] = [:]
    /// Probes under way: another pair of the same host and pool waits for the answer instead of asking too.
    private var probing: Set<Key> = []

    public init() {}

    /// The capabilities, once known; nil hands the caller the probe, which it must end with `finishProbe`.
    /// Waits while another pair probes the same host and pool.
    func valueOrClaimProbe(at location: Location, pool: String) -> HostCapabilities? {
        let key = Key(location: location, pool: pool)
        condition.lock()
        defer { condition.unlock() }
        while entries[key] == nil && probing.contains(key) { condition.wait() }
        if let known = entries[key] { return known }
        probing.insert(key)
        return nil
    }

    /// Ends a probe claimed by `valueOrClaimProbe`: stores what it found (nil when it failed, and the
    /// next pair probes again) and wakes the pairs waiting for it.
    func finishProbe(at location: Location, pool: String, with capabilities: HostCapabilities?) {
        let key = Key(location: location, pool: pool)
        condition.lock()
        defer { condition.unlock() }
        if let capabilities { entries[key] = capabilities }
        probing.remove(key)
        condition.broadcast()
    }

    func value(at location: Location, pool: String) -> HostCapabilities? {
        condition.lock()
        defer { condition.unlock() }
        return entries[Key(location: location, pool: pool)]
    }
}
