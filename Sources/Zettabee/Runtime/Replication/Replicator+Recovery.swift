import CommandGraph
import Foundation

/// Bringing a pair back after a failed run: partial receives resumed or given up, a tree updated only
/// in part completed or rolled back to the base, and the leftovers of an interrupted base move or
/// initialize finished. The base itself is never destroyed here.
extension Replicator {
    // MARK: what failed runs left

    var rules: RecoveryRules { RecoveryRules(pair: pair) }

    /// Snapshots of this pair on the source newer than the base that no dataset of the destination tree
    /// holds were left by failed runs: destroy them (with their descendants').
    func discardLeftovers(after base: String, source: DatasetState, destination: DatasetState) throws(ActionError) {
        let held = Set(rules.heldSnapshots(in: source).map(\.snapshot.name))
        for record in rules.leftovers(after: base, source: source, destination: destination) {
            log.info("destroying \(record.snapshot), left on the source by a failed run")
            // A run that failed after taking its snapshot left the pair's hold on it.
            if held.contains(record.snapshot.name) { release(record.snapshot.name, on: self.source, dataset: pair.source.dataset) }
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

    /// Best effort after a failed transfer: the run's new source snapshot is released (`held`: the
    /// pair's hold is on it) and destroyed (the next run would otherwise find and destroy it).
    func discardSourceSnapshot(_ snapshot: SnapshotName, held: Bool, reason: String) {
        guard !rendering else { return }
        log.info("destroying \(snapshot) on the source: \(reason)")
        if held { release(snapshot.name, on: source, dataset: pair.source.dataset) }
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
        if let adopted = rules.adoptable(after: base, source: sourceState, destination: destinationState) {
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
        if let target = rules.completionTarget(after: base, source: sourceState, destination: destinationState) {
            log.info("completing the interrupted transfer of \(target): sending \(base) -> \(target) again; zfs skips what arrived")
            do {
                _ = try transferTree(
                    target, base: base, source: sourceState, destination: destinationState,
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

    /// Puts every dataset of the destination tree back at `base` (see `RecoveryRules.rollback`).
    func rollBack(to base: String, source: DatasetState, destination: DatasetState, force: Bool) throws(ActionError) {
        let steps: [RecoveryRules.RollbackStep]
        do { steps = try rules.rollback(to: base, source: source, destination: destination, force: force) } catch {
            throw ActionError(error.reason)
        }
        for step in steps {
            switch step {
            case .abortPartialReceive(let dataset):
                try abortPartialReceive(on: dataset, because: "rolling the interrupted transfer back to \(base)")
            case .rollBack(let dataset, let newer):
                log.warn("rolling \(dataset) back to \(base): \(newer.joined(separator: ", ")) came from an interrupted transfer")
                try mutate(self.destination, ZFS.rollback(to: try snapshotName(dataset, base), destroyingLaterSnapshots: true))
            case .destroyCreatedChild(let dataset):
                log.warn("destroying \(dataset): an interrupted transfer created it (its source was created after the base \(base))")
                try mutate(self.destination, ZFS.destroyFilesystem(dataset))
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
        let candidate = rules.resumeCandidate(for: member, source: sourceMember, base: base)
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
            for record in rules.heldSnapshots(otherThan: base, in: state) {
                log.info("releasing the hold an earlier run left on \(record.snapshot) on \(session.host)")
                release(record.snapshot.name, on: session, dataset: state.dataset)
            }
        }
        let older = rules.olderSnapshots(than: base, in: sourceState, absentIsNewest: false)
        guard !older.isEmpty else { return }
        log.info("destroying \(older.map(\.snapshot.name).joined(separator: ", ")) on the source, left by an earlier run")
        try destroyOlderSourceSnapshots(than: base, in: sourceState, retryBusy: false)
    }

    // MARK: an interrupted initialize

    /// After a failed initialize: destroys what it received (see `leftByFailedInitialize`), so the next
    /// initialize starts clean. Best effort; the next initialize checks again.
    func removeFailedInitialize() {
        guard !rendering,
              let sourceState = try? readState(of: source, dataset: pair.source.dataset),
              let destinationState = try? readState(of: destination, dataset: pair.destination.dataset),
              rules.leftByFailedInitialize(source: sourceState, destination: destinationState)
        else { return }
        log.info("destroying \(pair.destination.dataset): the failed initialize received only part of the tree")
        do throws(ActionError) {
            try mutate(destination, ZFS.destroyFilesystem(pair.destination.dataset))
        } catch {
            log.warn("could not destroy \(pair.destination.dataset) (the next initialize will): \(error.message)")
        }
    }
}
