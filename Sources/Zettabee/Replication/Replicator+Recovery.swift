import CommandGraph
import Foundation

/// Bringing a pair back after a failed run: partial receives resumed or given up, a tree updated only
/// in part completed or rolled back to the base, and the leftovers of an interrupted base move or
/// initialize finished. The base itself is never destroyed here.
extension Replicator {
    // MARK: what failed runs left

    /// The newest pair snapshot newer than `base` that every dataset of both trees holds, each with its
    /// source's GUID: a run that received it whole but did not record it. Only such a snapshot may become
    /// the base, since moving the base destroys the old one on the source.
    func newestCommonPairSnapshot(after base: String, source: DatasetState, destination: DatasetState) -> String? {
        guard let baseRecord = destination.snapshot(named: base) else { return nil }
        return destination.snapshots.reversed().first { record in
            record.createTXG > baseRecord.createTXG && PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
                && wholeTreeHolds(record.snapshot.name, source: source, destination: destination)
        }?.snapshot.name
    }

    /// Every dataset of the source tree holds `name`, and so does its destination, with the same GUID;
    /// no destination dataset holds a partial receive.
    func wholeTreeHolds(_ name: String, source: DatasetState, destination: DatasetState) -> Bool {
        guard source.exists, destination.exists, !destination.tree.contains(where: \.hasPartialReceive) else { return false }
        return source.tree.allSatisfy { member in
            guard let sent = member.snapshot(named: name) else { return false }
            return destination.member(at: source.relativeName(of: member))?.snapshot(named: name)?.guid == sent.guid
        }
    }

    /// Snapshots of this pair on the source newer than the base that no dataset of the destination tree
    /// holds were left by failed runs: destroy them (with their descendants').
    func discardLeftovers(after base: String, source: DatasetState, destination: DatasetState) throws(ActionError) {
        guard let baseRecord = source.snapshot(named: base) else { return }
        for record in source.snapshots where record.createTXG > baseRecord.createTXG
            && PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
            && !destination.tree.contains(where: { $0.snapshot(named: record.snapshot.name) != nil })
        {
            log.info("destroying \(record.snapshot), left on the source by a failed run")
            do throws(ActionError) {
                try mutate(self.source, try destroyCommand(record.snapshot))
            } catch {
                log.warn("could not destroy leftover \(record.snapshot): \(error.message)")
            }
        }
    }

    /// After a transfer that reported failure: whether any dataset of the destination tree holds
    /// `snapshot` with its source's GUID (that part of the stream committed) or a partial receive. The
    /// source snapshot must then stay, for the next run to resume, complete or adopt it; destroying it
    /// would leave those datasets with a snapshot no incremental stream can follow.
    func partlyReceived(_ snapshot: String) -> Bool {
        guard !rendering,
              let sourceState = try? readState(of: source, dataset: pair.source.dataset),
              let destinationState = try? readState(
                of: destination, dataset: pair.destination.dataset, extra: partialReceiveProperties)
        else { return false }
        if let partial = destinationState.tree.first(where: \.hasPartialReceive) {
            log.info("keeping \(pair.source.dataset)@\(snapshot) on the source: \(partial.dataset) saved the partial receive for resuming")
            return true
        }
        for member in sourceState.tree {
            guard let sent = member.snapshot(named: snapshot),
                  let received = destinationState.member(at: sourceState.relativeName(of: member))?.snapshot(named: snapshot),
                  received.guid == sent.guid
            else { continue }
            log.warn("\(received.snapshot) was received although the transfer failed; keeping \(snapshot) on the source for the next run")
            return true
        }
        return false
    }

    /// The property that tells a partial receive, where the destination's zfs has one.
    var partialReceiveProperties: [String] {
        let modern = settings.capabilities.value(at: destination.origin, pool: pair.destination.dataset.pool)?.resumableReceive ?? false
        return modern ? [PropertyName.receiveResumeToken.rawValue] : []
    }

    /// Best effort after a failed transfer: the run's new source snapshot is destroyed (the next run
    /// would otherwise find and destroy it).
    func discardSourceSnapshot(_ snapshot: SnapshotName, reason: String) {
        guard !rendering else { return }
        log.info("destroying \(snapshot) on the source: \(reason)")
        // A sender torn down with the transfer may still hold the snapshot for a moment: `mutate`
        // retries while zfs says the dataset is busy.
        do throws(ActionError) {
            try mutate(source, try destroyCommand(snapshot))
        } catch {
            log.warn("could not destroy \(snapshot) on the source (the next run will): \(error.message)")
        }
    }

    // MARK: an interrupted transfer

    /// Recovers a tree that a failed run left partly updated, and returns the base afterwards:
    /// 1. each partial receive (each dataset may hold one) is resumed, or given up for a good reason;
    /// 2. a tree now whole at a newer snapshot adopts it as the base;
    /// 3. a tree still partly updated is sent the same stream again (zfs skips the snapshots that
    ///    arrived), and where zfs refuses that, the partly updated datasets are rolled back to the base.
    func recoverInterruptedTransfer(
        base: String, source initialSource: DatasetState, destination initialDestination: DatasetState,
        sendSupportsResume: Bool, force: Bool, resumable: Bool
    ) throws(ActionError) -> String {
        var sourceState = initialSource
        var destinationState = initialDestination
        let extra = partialReceiveProperties
        let partials = destinationState.tree.filter(\.hasPartialReceive)
        for member in partials {
            let relative = destinationState.relativeName(of: member)
            try resumeInterruptedReceive(
                token: member.value(PropertyName.receiveResumeToken.rawValue) ?? "", into: member,
                source: sourceState.member(at: relative), base: base, sendSupportsResume: sendSupportsResume)
        }
        if rendering { return base }
        if !partials.isEmpty {
            sourceState = try readState(of: source, dataset: pair.source.dataset)
            destinationState = try readState(of: destination, dataset: pair.destination.dataset, extra: extra)
        }
        if let adopted = newestCommonPairSnapshot(after: base, source: sourceState, destination: destinationState) {
            if partials.isEmpty {
                log.warn("a previous run received \(adopted) but did not record it; adopting it as the base")
            } else {
                log.info("resumed receive completed: base \(adopted)")
            }
            try moveBase(to: adopted, from: base, initial: false)
            return adopted
        }
        guard PairCondition.assess(pair: pair, source: sourceState, destination: destinationState) != .synchronized(base: base)
        else { return base }
        if let target = completionTarget(after: base, source: sourceState, destination: destinationState) {
            log.info("completing the interrupted transfer of \(target): sending \(base) -> \(target) again; zfs skips what arrived")
            do {
                let root = try snapshotName(pair.source.dataset, target)
                _ = try runTransfer(
                    send: SendSpecification(snapshot: root, base: try snapshotName(pair.source.dataset, base), recursive: recursive),
                    receive: ReceiveSettings(force: force, resumable: resumable))
                let verified = try verifyReceived(target)
                try moveBase(to: target, from: base, initial: false, verified: verified)
                log.info("completed the interrupted transfer: base \(target)")
                return target
            } catch {
                let text = (error.details ?? "") + " " + error.message
                guard Self.completionRefusals.contains(where: { text.contains($0) }) else { throw error }
                log.warn("zfs would not complete \(target) (\(error.message)); rolling the partly updated datasets back to \(base)")
                destinationState = try readState(of: destination, dataset: pair.destination.dataset, extra: extra)
            }
        }
        try rollBack(to: base, source: sourceState, destination: destinationState, force: force)
        return base
    }

    /// What zfs says when a partly received tree cannot be completed with the same stream.
    static let completionRefusals = [
        "destination already exists", "does not match incremental source", "has been modified",
        "partially-complete state", "must specify -F", "did not make", "since the base snapshot",
    ]

    /// The newest snapshot of this pair newer than `base` that the whole source tree holds (every
    /// dataset that holds the base) and that part of the destination tree received with the same GUID.
    func completionTarget(after base: String, source: DatasetState, destination: DatasetState) -> String? {
        guard let baseRecord = source.snapshot(named: base) else { return nil }
        return source.snapshots.reversed().first { record in
            let name = record.snapshot.name
            guard record.createTXG > baseRecord.createTXG, PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
            else { return false }
            let everywhere = source.tree.allSatisfy { $0.snapshot(named: base) == nil || $0.snapshot(named: name) != nil }
            let arrived = source.tree.contains { member in
                guard let sent = member.snapshot(named: name) else { return false }
                return destination.member(at: source.relativeName(of: member))?.snapshot(named: name)?.guid == sent.guid
            }
            return everywhere && arrived
        }?.snapshot.name
    }

    /// Puts every dataset of the destination tree back at `base`: partial receives are given up, snapshots
    /// newer than the base (the interrupted transfer's) are rolled away, and a child that the transfer
    /// created, which holds no base, is destroyed. A snapshot newer than the base that this pair did not
    /// make stops it (unless rollbacks are allowed), naming the dataset.
    func rollBack(to base: String, source: DatasetState, destination: DatasetState, force: Bool) throws(ActionError) {
        var destroyed: [String] = []
        for member in destination.tree {
            let name = member.dataset.rawValue
            if destroyed.contains(where: { name.hasPrefix($0 + "/") }) { continue }
            if member.hasPartialReceive {
                try abortPartialReceive(on: member.dataset, because: "rolling the interrupted transfer back to \(base)")
            }
            let relative = destination.relativeName(of: member)
            if let baseRecord = member.snapshot(named: base) {
                let newer = member.snapshots.filter { $0.createTXG > baseRecord.createTXG }
                guard !newer.isEmpty else { continue }
                if !force, let foreign = newer.first(where: { !PairSnapshotName.isSnapshot($0.snapshot, of: pair.fingerprint) }) {
                    throw ActionError(
                        "cannot roll \(name) back to the base \(base): it holds \(foreign.snapshot.name), which this pair did not make; "
                            + "remove it, or allow a rollback with --force-rollback or rollback=yes")
                }
                log.warn("rolling \(name) back to \(base): \(newer.map(\.snapshot.name).joined(separator: ", ")) came from an interrupted transfer")
                try mutate(self.destination, ZFS.rollback(to: try snapshotName(member.dataset, base), destroyingLaterSnapshots: true))
            } else if !relative.isEmpty, source.member(at: relative)?.snapshot(named: base) == nil {
                guard member.snapshots.allSatisfy({ PairSnapshotName.isSnapshot($0.snapshot, of: pair.fingerprint) }) else {
                    throw ActionError("cannot roll \(name) back: it has no base \(base) and holds snapshots this pair did not make")
                }
                log.warn("destroying \(name): an interrupted transfer created it (its source was created after the base \(base))")
                try mutate(self.destination, ZFS.destroyFilesystem(member.dataset))
                destroyed.append(name)
            }
        }
    }

    // MARK: resuming

    /// Where a failed resume is remembered, so that a resume failing the same way twice is given up.
    var resumeRecordPath: String {
        let directory = settings.files.runDirectory
        return (directory.hasSuffix("/") ? directory : directory + "/") + "\(pair.fingerprint).resume"
    }

    /// Continues the interrupted `receive -s` on one dataset of the destination tree with `send -t`.
    /// Gives the partial state up (`receive -A`) when it cannot be ours or cannot be resumed: no
    /// matching source snapshot, a token zfs refuses, or the same failure twice.
    func resumeInterruptedReceive(
        token: String, into member: DatasetState, source sourceMember: DatasetState?, base: String, sendSupportsResume: Bool
    ) throws(ActionError) {
        let baseTXG = sourceMember?.snapshot(named: base)?.createTXG ?? 0
        let candidate = sourceMember?.snapshots.last {
            $0.createTXG > baseTXG && PairSnapshotName.isSnapshot($0.snapshot, of: pair.fingerprint)
                && member.snapshot(named: $0.snapshot.name) == nil
        }
        guard sendSupportsResume, let candidate else {
            try abortPartialReceive(
                on: member.dataset,
                because: sendSupportsResume
                    ? "the partial receive on \(member.dataset) matches no snapshot of this pair on the source"
                    : "the source's zfs cannot resume sends")
            return
        }
        let tokenKey = String(token.prefix(80))
        let previous = try? String(contentsOfFile: resumeRecordPath, encoding: .utf8)
        // Ask the source first (`send -n -t`, nothing is sent): zfs refuses a token whose snapshot is gone
        // or replaced, or that is corrupt. Within the transfer, that refusal can be hidden behind the
        // receive's failure on the empty stream, depending on which stage ends first.
        if !rendering {
            let check: Command
            do { check = try ZFS.resumeSend(token: token, estimateOnly: true) } catch {
                throw ActionError(error.description, nagios: .unknown)
            }
            if let failure = source.probe(check).failure, Self.resumeRefusals.contains(where: { failure.stderrTail.contains($0) }) {
                try abortPartialReceive(on: member.dataset, because: "zfs refused to resume: \(failure.lastStderrLine ?? failure.description)")
                try? FileManager.default.removeItem(atPath: resumeRecordPath)
                return
            }
        }
        log.info("resuming the interrupted receive of \(candidate.snapshot) into \(member.dataset)")
        do {
            _ = try runTransfer(
                send: SendSpecification(snapshot: candidate.snapshot, resumeToken: token),
                receive: ReceiveSettings(resumable: true, target: member.dataset))
        } catch {
            let text = (error.details ?? "") + error.message
            let refused = Self.resumeRefusals.contains { text.contains($0) }
            // The same token failing again means the resume made no progress, whatever the failing
            // stage said this time (which stage reports first can vary): give it up.
            let record = tokenKey + "\n" + error.message
            let failedBefore = previous?.split(separator: "\n", maxSplits: 1).first.map(String.init) == tokenKey
            if refused || failedBefore {
                try abortPartialReceive(
                    on: member.dataset,
                    because: refused ? "zfs refused to resume: \(error.message)" : "the resume failed twice: \(error.message)")
                try? FileManager.default.removeItem(atPath: resumeRecordPath)
                return
            }
            if !rendering { try? AtomicFile.write(Data(record.utf8), to: resumeRecordPath) }
            throw error
        }
        try? FileManager.default.removeItem(atPath: resumeRecordPath)
        log.info("resumed receive of \(candidate.snapshot.name) into \(member.dataset) completed")
    }

    /// What zfs says when a partial receive cannot be resumed at all.
    static let resumeRefusals = [
        "no longer exists", "no longer the same snapshot", "resume token is corrupt", "partially-complete state",
        "kernel modules must be upgraded", "does not match",
    ]

    /// `zfs receive -A`: discards a partial receive, logging why.
    func abortPartialReceive(on dataset: DatasetName, because reason: String) throws(ActionError) {
        log.warn("discarding the partial receive on \(dataset): \(reason)")
        try mutate(destination, ZFS.abortResumableReceive(dataset))
    }

    // MARK: an interrupted base move

    /// A base move that stopped half way (a `zfs release` or `zfs destroy` that failed, the connection
    /// dropped, zettabee killed) left the old base held or still on the source: release this pair's
    /// holds on snapshots older than the base, on both sides, and destroy the old bases on the source.
    /// A snapshot that stays busy (held by someone else) is logged, not retried.
    func finishEarlierBaseMoves(base: String, source sourceState: DatasetState, destination destinationState: DatasetState) throws(ActionError) {
        for (session, state) in [(destination, destinationState), (source, sourceState)] {
            guard let baseRecord = state.snapshot(named: base) else { continue }
            for record in state.snapshots where record.createTXG < baseRecord.createTXG
                && PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
                && state.tree.contains(where: { ($0.snapshot(named: record.snapshot.name)?.userRefs ?? 0) > 0 })
            {
                log.info("releasing the hold an earlier run left on \(record.snapshot) on \(session.host)")
                release(record.snapshot.name, on: session, dataset: state.dataset)
            }
        }
        guard let baseRecord = sourceState.snapshot(named: base) else { return }
        let older = sourceState.snapshots.filter {
            $0.createTXG < baseRecord.createTXG && PairSnapshotName.isSnapshot($0.snapshot, of: pair.fingerprint)
        }
        guard !older.isEmpty else { return }
        log.info("destroying \(older.map(\.snapshot.name).joined(separator: ", ")) on the source, left by an earlier run")
        try destroyOlderSourceSnapshots(than: base, in: sourceState, retryBusy: false)
    }

    // MARK: an interrupted initialize

    /// The destination holds nothing but a failed initialize's work: no base or owner recorded, and only
    /// snapshots of this pair that the source holds with the same GUIDs (a recursive stream that failed
    /// in a child's part leaves the datasets received before it).
    func leftByFailedInitialize(source: DatasetState, destination: DatasetState) -> Bool {
        guard destination.exists, destination.value(pair.properties.lastSnapshot) == nil,
              destination.value(PairProperties.fingerprint) == nil, !destination.snapshots.isEmpty
        else { return false }
        return destination.tree.allSatisfy { member in
            member.snapshots.allSatisfy { record in
                PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
                    && source.member(at: destination.relativeName(of: member))?.snapshot(named: record.snapshot.name)?.guid == record.guid
            }
        }
    }

    /// After a failed initialize: destroys what it received (see `leftByFailedInitialize`), so the next
    /// initialize starts clean. Best effort; the next initialize checks again.
    func removeFailedInitialize() {
        guard !rendering,
              let sourceState = try? readState(of: source, dataset: pair.source.dataset),
              let destinationState = try? readState(of: destination, dataset: pair.destination.dataset),
              leftByFailedInitialize(source: sourceState, destination: destinationState)
        else { return }
        log.info("destroying \(pair.destination.dataset): the failed initialize received only part of the tree")
        do throws(ActionError) {
            try mutate(destination, ZFS.destroyFilesystem(pair.destination.dataset))
        } catch {
            log.warn("could not destroy \(pair.destination.dataset) (the next initialize will): \(error.message)")
        }
    }
}
