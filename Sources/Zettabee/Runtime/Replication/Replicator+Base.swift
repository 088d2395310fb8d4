import CommandGraph
import Foundation
import GraphRunner

/// The base: verifying a received snapshot on every dataset of the tree, then holding it, recording
/// it on both sides, releasing the old base and destroying the pair's older snapshots on the source.
extension Replicator {
    // MARK: the base

    /// The hold tag that protects a pair's base snapshot on both sides.
    var holdTag: HoldTag {
        get throws(ActionError) {
            do { return try HoldTag("zettabee.\(pair.fingerprint)") } catch { throw ActionError(error.description, nagios: .unknown) }
        }
    }

    /// After `snapshot` is verified on both sides: holds it on both, records it as the base, releases
    /// the old base's holds, and destroys the pair's older snapshots on the source. `verified` is the
    /// source's state read by the verification, when there was one (else the source is read again).
    ///
    /// `freshlyTaken`: `snapshot` is the one this run took (`takeSnapshot`) and sent (initialize,
    /// update); the source's part then goes in one round trip (`finishOnSource`).
    func moveBase(
        to snapshot: String, from old: String?, initial: Bool, verified: DatasetState? = nil, freshlyTaken: TakenSnapshot? = nil
    ) throws(ActionError) {
        if let freshlyTaken {
            try hold(snapshot, on: destination, dataset: pair.destination.dataset)
            let (destinationProperties, sourceProperties) = try baseAssignments(snapshot, initial: initial)
            try setProperties(destinationProperties, on: pair.destination.dataset, at: destination)
            try finishOnSource(snapshot, from: old, properties: sourceProperties, known: verified, held: freshlyTaken.held)
            if let old { release(old, on: destination, dataset: pair.destination.dataset) }
            return
        }
        try hold(snapshot, on: destination, dataset: pair.destination.dataset)
        try hold(snapshot, on: source, dataset: pair.source.dataset)
        try recordBase(snapshot, initial: initial)
        guard let old else { return }
        release(old, on: destination, dataset: pair.destination.dataset)
        release(old, on: source, dataset: pair.source.dataset)
        try destroyOlderSourceSnapshots(than: snapshot, in: verified)
    }

    /// `zfs hold zettabee.<fp> ds@snapshot`. Already held is fine; a zfs without holds is logged.
    func hold(_ snapshot: String, on session: HostSession, dataset: DatasetName) throws(ActionError) {
        guard let failure = changes.change(try holdCommand(snapshot, dataset: dataset), on: session) else { return }
        try judgeHoldFailure(failure, snapshot: snapshot, on: session)
    }

    /// `zfs hold [-r] zettabee.<fp> ds@snapshot`.
    func holdCommand(_ snapshot: String, dataset: DatasetName) throws(ActionError) -> Command {
        do { return try ZFS.hold(try holdTag, on: [try dataset.snapshot(snapshot)], recursive: recursive) } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
    }

    /// `zfs release [-r] zettabee.<fp> ds@snapshot`, nil when the names do not make one.
    func releaseCommand(_ snapshot: String, dataset: DatasetName) -> (command: Command, name: SnapshotName)? {
        guard let tag = try? holdTag, let name = try? dataset.snapshot(snapshot), let command = try? ZFS.release(tag, from: [name], recursive: recursive) else {
            return nil
        }
        return (command, name)
    }

    /// A hold that failed: already there is fine, a zfs without holds is logged, anything else ends the run.
    func judgeHoldFailure(
        _ failure: CommandFailure, snapshot: String, on session: HostSession, context: String = "holding the base"
    ) throws(ActionError) {
        if failure.stderrTail.contains("tag already exists") { return }
        if ZFSUsageError.matches(stderr: failure.stderrTail, exitStatus: failure.exitStatus ?? -1) {
            log.warn("holds are not supported on \(session.host); the base \(snapshot) is not protected there")
            return
        }
        log.writeLines(.error, failure.stderrTail)
        throw ActionError(failure, context: context)
    }

    /// `zfs release zettabee.<fp> ds@snapshot`, best effort: a missing hold or snapshot is fine.
    func release(_ snapshot: String, on session: HostSession, dataset: DatasetName) {
        guard let (command, name) = releaseCommand(snapshot, dataset: dataset) else { return }
        guard let failure = changes.change(command, on: session) else { return }
        judgeReleaseFailure(failure, of: name, on: session)
    }

    /// A release that failed: a missing hold or snapshot is fine, anything else is logged.
    func judgeReleaseFailure(_ failure: CommandFailure, of name: SnapshotName, on session: HostSession) {
        if failure.stderrTail.contains("no such tag") || failure.isMissingDataset { return }
        log.warn("could not release the hold on \(name) on \(session.host): \(failure.description)")
    }

    /// Checks that every dataset of the destination tree now holds `snapshot` with the GUID of its
    /// source (every source dataset that has the snapshot: one created after it goes next time). Returns
    /// the source's state as read for that, which also tells which older snapshots the base's move may
    /// destroy.
    ///
    /// `source`: the source's state read since `snapshot` was taken (`takeSnapshot`), else it is read.
    @discardableResult
    func verifyReceived(_ snapshot: String, source known: DatasetState? = nil) throws(ActionError) -> DatasetState {
        settings.observer?.phase("verify", estimatedBytes: nil)
        let sourceState: DatasetState
        if let known { sourceState = known } else { sourceState = try readState(of: source, dataset: pair.source.dataset) }
        let destinationState = try readState(of: destination, dataset: pair.destination.dataset)
        guard sourceState.snapshot(named: snapshot) != nil else {
            throw ActionError("snapshot \(snapshot) vanished from the source \(pair.source.dataset) during the run")
        }
        for sourceMember in sourceState.tree {
            guard let sent = sourceMember.snapshot(named: snapshot) else { continue }
            let relative = sourceState.relativeName(of: sourceMember)
            let destinationName = pair.destination.dataset.rawValue + relative
            guard let received = destinationState.member(at: relative)?.snapshot(named: snapshot) else {
                throw ActionError("the destination \(destinationName) has no snapshot \(snapshot) after the receive")
            }
            guard sent.guid == received.guid else {
                log.error("GUID mismatch after receive on \(destinationName): source \(sent.guid), destination \(received.guid); the base does not move")
                throw ActionError(
                    "GUID mismatch after receive of \(snapshot)\(relative.isEmpty ? "" : " into \(destinationName)"): "
                        + "source \(sent.guid), destination \(received.guid); pair is Inconsistent")
            }
        }
        return sourceState
    }

    /// Where `receive -o readonly=on` is missing (old zfs), the received filesystems were mounted
    /// writable until `readonly` was set; mounting the children updates the parent's access times, and
    /// the next incremental receive would then refuse a destination "modified since most recent
    /// snapshot". Rolls each one back to the snapshot just received (nothing else can be newer); best
    /// effort, as the pair is already replicated.
    func undoChangesSinceReceive(_ snapshot: String, descendants: [String]) {
        let sourcePrefix = pair.source.dataset.rawValue
        let names = [pair.destination.dataset.rawValue] + descendants.map { pair.destination.dataset.rawValue + $0.dropFirst(sourcePrefix.count) }
        for name in names {
            do throws(ActionError) {
                guard let dataset = try? DatasetName(name), let target = try? dataset.snapshot(snapshot) else { continue }
                try mutate(destination, ZFS.rollback(to: target))
            } catch {
                log.warn("could not roll \(name) back to \(snapshot) after setting it read-only: \(error.message)")
            }
        }
    }

    /// Moves the base: the destination's properties first (the truth), then the source's.
    func recordBase(_ snapshot: String, initial: Bool) throws(ActionError) {
        let (destinationProperties, sourceProperties) = try baseAssignments(snapshot, initial: initial)
        try setProperties(destinationProperties, on: pair.destination.dataset, at: destination)
        try setProperties(sourceProperties, on: pair.source.dataset, at: source)
    }

    /// What records `snapshot` as the base on each side (with the pair's identity the first time).
    func baseAssignments(_ snapshot: String, initial: Bool) throws(ActionError) -> (destination: [PropertyAssignment], source: [PropertyAssignment]) {
        let properties = pair.properties
        var destinationProperties = [try assignment(properties.lastSnapshot, snapshot)]
        var sourceProperties = destinationProperties
        if initial {
            let identity = [
                try assignment(properties.source, pair.source.description),
                try assignment(properties.destination, pair.destination.description),
            ]
            destinationProperties += identity + [try assignment(PairProperties.fingerprint, pair.fingerprint.description)]
            sourceProperties += identity
        }
        return (destinationProperties, sourceProperties)
    }

    /// The source's part of a base move in one round trip: hold the new base (unless `held` already),
    /// record it, release the old one, destroy the pair's older snapshots; the line stops at the first
    /// failure. That failure is
    /// judged as it would be alone (a hold already there is fine, a failed record ends the run, a
    /// release is best effort, a busy destroy of the old base is tried again); if the run goes on, the
    /// steps after it run one by one.
    func finishOnSource(
        _ snapshot: String, from old: String?, properties: [PropertyAssignment], known: DatasetState?, held: Bool
    ) throws(ActionError) {
        struct Step {
            var command: Command
            /// What the command's failure means, when it failed in the line.
            var judge: (CommandFailure) throws(ActionError) -> Void
            /// The command on its own, with its failure judged.
            var alone: () throws(ActionError) -> Void
        }
        var steps: [Step] = []
        let dataset = pair.source.dataset
        if !held {
            steps.append(Step(
                command: try holdCommand(snapshot, dataset: dataset),
                judge: { (failure: CommandFailure) throws(ActionError) in try self.judgeHoldFailure(failure, snapshot: snapshot, on: self.source) },
                alone: { () throws(ActionError) in try self.hold(snapshot, on: self.source, dataset: dataset) }))
        }
        let batched = try capabilities(of: source, pool: dataset.pool).zfsVersion != nil
        for assignments in batched ? [properties] : properties.map({ [$0] }) {
            let command = try setCommand(assignments, on: dataset)
            steps.append(Step(
                command: command,
                judge: { (failure: CommandFailure) throws(ActionError) in
                    self.log.error("\(failure.description)")
                    self.log.writeLines(.error, failure.stderrTail)
                    throw ActionError(failure)
                },
                alone: { () throws(ActionError) in try self.mutate(self.source, command) }))
        }
        if let old {
            if let (release, name) = releaseCommand(old, dataset: dataset) {
                steps.append(Step(
                    command: release,
                    judge: { (failure: CommandFailure) throws(ActionError) in self.judgeReleaseFailure(failure, of: name, on: self.source) },
                    alone: { () throws(ActionError) in self.release(old, on: self.source, dataset: dataset) }))
            }
            let state: DatasetState
            if let known { state = known } else { state = try readState(of: source, dataset: dataset) }
            let older = rules.olderSnapshots(than: snapshot, in: state, absentIsNewest: rendering)
            for record in older {
                let wasBase = record.createTXG == older.last?.createTXG
                steps.append(Step(
                    command: try destroyCommand(record.snapshot),
                    judge: { (failure: CommandFailure) throws(ActionError) in
                        if wasBase && failure.stderrTail.contains("dataset is busy") {
                            return self.destroyOldBase(record, retryBusy: true)
                        }
                        self.log.warn("could not destroy old base \(record.snapshot) on the source: \(failure.description)")
                    },
                    alone: { () throws(ActionError) in self.destroyOldBase(record, retryBusy: wasBase) }))
            }
        }
        let outcomes = changes.change(sequence: steps.map(\.command), on: source)
        guard let first = outcomes.firstIndex(where: { !$0.succeeded }) else { return }
        if case .failed(let failure) = outcomes[first] {
            try steps[first].judge(failure)
        } else {
            try steps[first].alone()
        }
        for step in steps[(first + 1)...] { try step.alone() }
    }

    /// `zfs set`: in one command where the host's zfs takes several assignments (OpenZFS), else one
    /// command per property (old zfs takes one).
    func setProperties(_ assignments: [PropertyAssignment], on dataset: DatasetName, at session: HostSession) throws(ActionError) {
        let pool = dataset.pool
        let batched = try capabilities(of: session, pool: pool).zfsVersion != nil
        if batched {
            try mutate(session, try setCommand(assignments, on: dataset))
        } else {
            for assignment in assignments { try mutate(session, try setCommand([assignment], on: dataset)) }
        }
    }

    /// After the base moved: the pair's older snapshots on the source are no longer needed. `known` is
    /// a state of the source read since `snapshot` was taken; only the pair's own snapshots older than
    /// it are destroyed, and one already gone is logged, so a state read a moment earlier is as good.
    func destroyOlderSourceSnapshots(than snapshot: String, in known: DatasetState? = nil, retryBusy: Bool = true) throws(ActionError) {
        let state: DatasetState
        if let known { state = known } else { state = try readState(of: source, dataset: pair.source.dataset) }
        // A dry run reads the source as it was before its (printed) snapshot: all of the pair's are older.
        let older = rules.olderSnapshots(than: snapshot, in: state, absentIsNewest: rendering)
        for record in older {
            destroyOldBase(record, retryBusy: retryBusy && record.createTXG == older.last?.createTXG)
        }
    }

    /// Destroys an old base on the source, best effort. Only the base just replaced can be busy for a
    /// moment (its sender ending): `retryBusy` for it; an older one that is busy is held by someone
    /// else, and is tried again by the next run.
    func destroyOldBase(_ record: SnapshotRecord, retryBusy: Bool) {
        do throws(ActionError) {
            try mutate(source, try destroyCommand(record.snapshot), retryBusy: retryBusy)
        } catch {
            log.warn("could not destroy old base \(record.snapshot) on the source: \(error.message)")
        }
    }

    /// Releases this pair's hold from every snapshot of both trees that has one (`handback`). Returns
    /// the snapshots, as `host:dataset@name`.
    public func releaseEveryHold() throws(ActionError) -> [String] {
        var released: [String] = []
        for (session, dataset) in [(destination, pair.destination.dataset), (source, pair.source.dataset)] {
            let state = try readState(of: session, dataset: dataset)
            recursive = !state.children.isEmpty
            for record in rules.heldSnapshots(in: state) {
                release(record.snapshot.name, on: session, dataset: dataset)
                released.append("\(session.host):\(record.snapshot)")
            }
        }
        return released
    }
}
