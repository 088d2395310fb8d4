import CommandGraph

/// One snapshot as purge sees it.
public struct PurgeCandidate: Hashable, Sendable {
    public var snapshot: SnapshotName
    public var guid: String
    public var createTXG: UInt64
    /// Holds on the snapshot (`userrefs`); a held snapshot is never destroyed.
    public var userRefs: Int

    public init(snapshot: SnapshotName, guid: String, createTXG: UInt64, userRefs: Int) {
        self.snapshot = snapshot
        self.guid = guid
        self.createTXG = createTXG
        self.userRefs = userRefs
    }
}

/// What purge destroys, decided without touching anything. Pure.
///
/// - Destination: the pair's own `zettabee.<fp>.*` snapshots beyond the newest `keep` (counted among the
///   pair's snapshots, base included).
/// - Source: the pair's snapshots other than the base, except one the destination also holds with the same
///   GUID and that is newer than the base (the next update adopts it).
/// - Never the base, never a held snapshot, never a snapshot not made by this pair.
public struct PurgePlan: Hashable, Sendable {
    public var destination: [SnapshotName]
    public var source: [SnapshotName]
    /// Snapshots that would have gone but are held, for the report.
    public var keptHeld: [SnapshotName]

    public static func make(
        fingerprint: Fingerprint, base: String, keep: Int, source: [PurgeCandidate], destination: [PurgeCandidate]
    ) -> PurgePlan {
        var plan = PurgePlan(destination: [], source: [], keptHeld: [])
        let own = { (candidate: PurgeCandidate) in PairSnapshotName.isSnapshot(candidate.snapshot, of: fingerprint) }
        let destinationOwn = destination.filter(own).sorted { $0.createTXG > $1.createTXG }
        for candidate in destinationOwn.dropFirst(max(0, keep)) where candidate.snapshot.name != base {
            if candidate.userRefs > 0 { plan.keptHeld.append(candidate.snapshot) } else { plan.destination.append(candidate.snapshot) }
        }
        let baseTXG = source.first { $0.snapshot.name == base }?.createTXG
        for candidate in source.filter(own).sorted(by: { $0.createTXG < $1.createTXG }) where candidate.snapshot.name != base {
            let received = destination.first { $0.snapshot.name == candidate.snapshot.name }
            let adoptable = received?.guid == candidate.guid && baseTXG.map { candidate.createTXG > $0 } == true
            if adoptable { continue }
            if candidate.userRefs > 0 { plan.keptHeld.append(candidate.snapshot) } else { plan.source.append(candidate.snapshot) }
        }
        plan.destination.sort { $0.name < $1.name }
        return plan
    }

    public var isEmpty: Bool { destination.isEmpty && source.isEmpty }
}
