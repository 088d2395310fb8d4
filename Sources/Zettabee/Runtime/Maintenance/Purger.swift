import CommandGraph

/// Runs `purge` for one pair: reads both sides' trees (one `zfs get -r` each, with `userrefs`), makes a
/// `PurgePlan` and destroys what it names, one snapshot (with its descendants' of the same name) per `zfs
/// destroy`. Refuses unless the whole tree is Synchronized; a snapshot held on any dataset of the tree
/// counts as held.
public struct Purger {
    public let replicator: Replicator
    let log: PairLog

    public init(replicator: Replicator, log: PairLog) {
        self.replicator = replicator
        self.log = log
    }

    /// What was destroyed (or, in a dry run, would be), and what failed.
    public struct Outcome: Sendable {
        public var plan: PurgePlan
        public var failures: [String]
    }

    public func run(dryRun: Bool) throws(ActionError) -> Outcome {
        let pair = replicator.pair
        // Where the destination's zfs keeps partial receives, they are read too: a tree holding one is not purged.
        _ = try replicator.capabilities(of: replicator.destination, pool: pair.destination.dataset.pool)
        let (sourceState, sourceCandidates) = try read(replicator.source, pair.source.dataset)
        let (destinationState, destinationCandidates) = try read(replicator.destination, pair.destination.dataset)
        let condition = PairCondition.assess(pair: pair, source: sourceState, destination: destinationState)
        guard case .synchronized(let base) = condition else {
            if condition == .uninitialized { throw ActionError("pair is not initialized; nothing to purge", nagios: .warning) }
            if case .inconsistent(let reason) = condition {
                throw ActionError("pair is Inconsistent (\(reason)); purge destroys nothing until it is repaired")
            }
            if case .interrupted(_, let reason) = condition {
                throw ActionError("pair is Resumable (\(reason)); purge destroys nothing until an update has recovered it")
            }
            throw ActionError("pair state unknown")
        }
        let plan = PurgePlan.make(
            fingerprint: pair.fingerprint, base: base, keep: pair.options.keep, source: sourceCandidates,
            destination: destinationCandidates)
        for held in plan.keptHeld { log.info("purge: keeping \(held): it is held") }
        var failures: [String] = []
        guard !dryRun else { return Outcome(plan: plan, failures: []) }
        let sides = [
            (replicator.destination, plan.destination, destinationState), (replicator.source, plan.source, sourceState),
        ]
        for (session, snapshots, state) in sides {
            for snapshot in snapshots {
                log.info("purge: destroying \(snapshot) on \(session.host)")
                do {
                    // A pair with child filesystems has its snapshots on the children too.
                    try session.run(try ZFS.destroy([snapshot], recursive: !state.children.isEmpty))
                } catch let failure as CommandFailure {
                    log.error("purge: could not destroy \(snapshot): \(failure.description)")
                    failures.append("\(snapshot): \(failure.lastStderrLine ?? failure.description)")
                } catch {
                    failures.append("\(snapshot): \(error)")
                }
            }
        }
        return Outcome(plan: plan, failures: failures)
    }

    /// One side's filesystem state and its snapshots with their holds.
    func read(_ session: HostSession, _ dataset: DatasetName) throws(ActionError) -> (DatasetState, [PurgeCandidate]) {
        let names = DatasetState.propertiesToRead(for: replicator.pair, extra: replicator.partialReceiveProperties)
        let outcome: HostSession.QueryOutcome
        do {
            outcome = session.query(try ZFS.get(
                try names.map { name throws(InvalidValue) in try PropertyName(name) }, of: [dataset], parsable: true,
                depth: .recursive, columns: [.name, .property, .value, .source]))
        } catch {
            throw ActionError(error.description, exitCode: 2, nagios: .unknown)
        }
        if let failure = outcome.failure {
            if failure.isMissingDataset { return (.missing(dataset), []) }
            throw ActionError(failure, context: "reading \(dataset)")
        }
        do {
            let table = try PropertyTable.parse(outcome.stdout)
            let state = try DatasetState.from(table, dataset: dataset)
            let candidates = state.snapshots.map { record in
                PurgeCandidate(
                    snapshot: record.snapshot, guid: record.guid, createTXG: record.createTXG,
                    userRefs: state.tree.map { $0.snapshot(named: record.snapshot.name)?.userRefs ?? 0 }.max() ?? 0)
            }
            return (state, candidates)
        } catch {
            throw ActionError("unexpected zfs output on \(session.host) for \(dataset): \(error)", nagios: .unknown)
        }
    }
}
