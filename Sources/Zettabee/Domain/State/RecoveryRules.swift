import CommandGraph

/// What a failed run left behind, and what may be done about it, judged from both sides' trees. Pure:
/// the replicator reads the states, asks these rules, and carries out their answers.
public struct RecoveryRules: Sendable {
    public let pair: Pair

    public init(pair: Pair) { self.pair = pair }

    func isPairSnapshot(_ record: SnapshotRecord) -> Bool { PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint) }

    /// Every dataset of the source tree holds `name`, and so does its destination twin, with the same
    /// GUID; no destination dataset holds a partial receive.
    public func wholeTreeHolds(_ name: String, source: DatasetState, destination: DatasetState) -> Bool {
        guard source.exists, destination.exists, !destination.tree.contains(where: \.hasPartialReceive) else { return false }
        return source.tree.allSatisfy { member in
            guard let sent = member.snapshot(named: name) else { return false }
            return destination.member(at: source.relativeName(of: member))?.snapshot(named: name)?.guid == sent.guid
        }
    }

    /// Adopt: the newest pair snapshot newer than `base` that the whole tree holds on both sides (a run
    /// that received it whole but did not record it). Only such a snapshot may become the base, since
    /// moving the base destroys the old one on the source.
    public func adoptable(after base: String, source: DatasetState, destination: DatasetState) -> String? {
        guard let baseRecord = destination.snapshot(named: base) else { return nil }
        return destination.snapshots.reversed().first { record in
            record.createTXG > baseRecord.createTXG && isPairSnapshot(record)
                && wholeTreeHolds(record.snapshot.name, source: source, destination: destination)
        }?.snapshot.name
    }

    /// Complete: the newest pair snapshot newer than `base` that the whole source tree holds (every
    /// dataset that holds the base) and that part of the destination tree received with the same GUID:
    /// sending base → it again lets zfs skip what arrived.
    public func completionTarget(after base: String, source: DatasetState, destination: DatasetState) -> String? {
        guard let baseRecord = source.snapshot(named: base) else { return nil }
        return source.snapshots.reversed().first { record in
            let name = record.snapshot.name
            guard record.createTXG > baseRecord.createTXG, isPairSnapshot(record) else { return false }
            let everywhere = source.tree.allSatisfy { $0.snapshot(named: base) == nil || $0.snapshot(named: name) != nil }
            let arrived = source.tree.contains { member in
                guard let sent = member.snapshot(named: name) else { return false }
                return destination.member(at: source.relativeName(of: member))?.snapshot(named: name)?.guid == sent.guid
            }
            return everywhere && arrived
        }?.snapshot.name
    }

    /// Discard: the pair's snapshots on the source newer than the base that no dataset of the destination
    /// tree holds, left by failed runs.
    public func leftovers(after base: String, source: DatasetState, destination: DatasetState) -> [SnapshotRecord] {
        guard let baseRecord = source.snapshot(named: base) else { return [] }
        return source.snapshots.filter { record in
            record.createTXG > baseRecord.createTXG && isPairSnapshot(record)
                && !destination.tree.contains(where: { $0.snapshot(named: record.snapshot.name) != nil })
        }
    }

    /// Heal: the pair's snapshots other than the base in `state` that some dataset of the tree still
    /// holds a hold on (a release that failed, or a base the original Zettabee moved on from), oldest
    /// first. Only the base keeps the pair's hold.
    public func heldSnapshots(otherThan base: String, in state: DatasetState) -> [SnapshotRecord] {
        heldSnapshots(in: state).filter { $0.snapshot.name != base }
    }

    /// The pair's snapshots in `state` that some dataset of the tree holds a hold on, oldest first.
    public func heldSnapshots(in state: DatasetState) -> [SnapshotRecord] {
        state.snapshots.filter { record in
            isPairSnapshot(record) && state.tree.contains(where: { ($0.snapshot(named: record.snapshot.name)?.userRefs ?? 0) > 0 })
        }
    }

    /// Finish a base move: the pair's snapshots older than `snapshot` on the source, which the move
    /// destroys. A `snapshot` absent from `state` (a dry run reads the source before its printed
    /// snapshot) makes every pair snapshot older when `absentIsNewest`, and none otherwise.
    public func olderSnapshots(than snapshot: String, in state: DatasetState, absentIsNewest: Bool) -> [SnapshotRecord] {
        guard let newestTXG = state.snapshot(named: snapshot)?.createTXG ?? (absentIsNewest ? .max : nil) else { return [] }
        return state.snapshots.filter { $0.createTXG < newestTXG && isPairSnapshot($0) }
    }

    /// Resume or abort: the source snapshot a partial receive on `member` can only be part of (the newest
    /// pair snapshot of its source newer than the base that `member` lacks); nil means abort it.
    public func resumeCandidate(for member: DatasetState, source: DatasetState?, base: String) -> SnapshotRecord? {
        guard let source else { return nil }
        let baseTXG = source.snapshot(named: base)?.createTXG ?? 0
        return source.snapshots.last {
            $0.createTXG > baseTXG && isPairSnapshot($0) && member.snapshot(named: $0.snapshot.name) == nil
        }
    }

    /// One dataset's step in rolling a partly updated tree back to its base.
    public enum RollbackStep: Hashable, Sendable {
        /// `zfs receive -A`: a partial receive to give up.
        case abortPartialReceive(DatasetName)
        /// `zfs rollback -r DATASET@BASE`, destroying `newer` (the interrupted transfer's snapshots).
        case rollBack(DatasetName, newer: [String])
        /// `zfs destroy -r`: a child the interrupted transfer created, which holds no base.
        case destroyCreatedChild(DatasetName)
    }

    /// Why a rollback cannot be done without the operator; the text names the dataset.
    public struct RollbackRefusal: Error, Hashable, Sendable {
        public var reason: String
    }

    /// Roll back: the steps that put every dataset of the destination tree back at `base`. A snapshot
    /// newer than the base that this pair did not make refuses it (unless `force`); a child without the
    /// base that holds another's snapshots too.
    public func rollback(to base: String, source: DatasetState, destination: DatasetState, force: Bool) throws(RollbackRefusal) -> [RollbackStep] {
        var steps: [RollbackStep] = []
        var destroyed: [String] = []
        for member in destination.tree {
            let name = member.dataset.rawValue
            if destroyed.contains(where: { name.hasPrefix($0 + "/") }) { continue }
            if member.hasPartialReceive { steps.append(.abortPartialReceive(member.dataset)) }
            let relative = destination.relativeName(of: member)
            if let baseRecord = member.snapshot(named: base) {
                let newer = member.snapshots.filter { $0.createTXG > baseRecord.createTXG }
                guard !newer.isEmpty else { continue }
                if !force, let foreign = newer.first(where: { !isPairSnapshot($0) }) {
                    throw RollbackRefusal(
                        reason: "cannot roll \(name) back to the base \(base): it holds \(foreign.snapshot.name), which this pair did not make; "
                            + "remove it, or allow a rollback with --force-rollback or rollback=yes")
                }
                steps.append(.rollBack(member.dataset, newer: newer.map(\.snapshot.name)))
            } else if !relative.isEmpty, source.member(at: relative)?.snapshot(named: base) == nil {
                guard member.snapshots.allSatisfy(isPairSnapshot) else {
                    throw RollbackRefusal(reason: "cannot roll \(name) back: it has no base \(base) and holds snapshots this pair did not make")
                }
                steps.append(.destroyCreatedChild(member.dataset))
                destroyed.append(name)
            }
        }
        return steps
    }

    /// A failed initialize's work: the destination records no base or owner and holds only snapshots of
    /// this pair that the source holds with the same GUIDs (a recursive stream that failed in a child's
    /// part leaves the datasets received before it). Such a destination may be destroyed and started over.
    public func leftByFailedInitialize(source: DatasetState, destination: DatasetState) -> Bool {
        guard destination.exists, destination.value(pair.properties.lastSnapshot) == nil,
              destination.value(PairProperties.fingerprint) == nil, !destination.snapshots.isEmpty
        else { return false }
        return destination.tree.allSatisfy { member in
            member.snapshots.allSatisfy { record in
                isPairSnapshot(record)
                    && source.member(at: destination.relativeName(of: member))?.snapshot(named: record.snapshot.name)?.guid == record.guid
            }
        }
    }
}
