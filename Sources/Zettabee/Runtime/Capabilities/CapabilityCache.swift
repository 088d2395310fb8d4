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

    private let lock = NSLock()
    private var entries: [Key: HostCapabilities] = [:]

    public init() {}

    func value(at location: Location, pool: String) -> HostCapabilities? {
        lock.withLock { entries[Key(location: location, pool: pool)] }
    }

    func store(_ capabilities: HostCapabilities, at location: Location, pool: String) {
        lock.withLock { entries[Key(location: location, pool: pool)] = capabilities }
    }
}
