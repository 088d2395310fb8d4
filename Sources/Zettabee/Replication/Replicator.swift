import CommandGraph
import Foundation
import GraphRunner

/// What an action runs with, beyond the pair itself.
public struct ReplicationSettings: Sendable {
    public var files: PairFiles
    /// Passed to every ssh as `-F`.
    public var sshConfig: String?
    /// Print what would change state instead of running it (reads still run).
    public var dryRun: Bool
    /// Consent to roll the destination back (`--force-rollback`; also the pair option `rollback=yes`).
    public var forceRollback: Bool
    /// Variables for every child process on top of zettabee's environment.
    public var environment: [String: String]
    /// Tear a transfer down when nothing moved for this many seconds (default: the pair's `stall`).
    public var stallTimeout: Double?
    /// Told the run's phases and the transfer's progress (runstatus, progress bar).
    public var observer: (any ReplicationObserver)?
    /// Told the pid of every transfer process as it starts (the lock records them).
    public var childStarted: (@Sendable (Int32) -> Void)?
    /// Hosts' capabilities, shared by the pairs of one run.
    public var capabilities: CapabilityCache
    /// Where changes go; nil: run them, or with `dryRun` print them (`RenderedChanges`).
    public var changes: (any ChangeExecuting)?

    public init(
        files: PairFiles, sshConfig: String? = nil, dryRun: Bool = false, forceRollback: Bool = false,
        environment: [String: String] = [:], stallTimeout: Double? = nil, observer: (any ReplicationObserver)? = nil,
        capabilities: CapabilityCache = CapabilityCache()
    ) {
        self.observer = observer
        self.capabilities = capabilities
        self.files = files
        self.sshConfig = sshConfig
        self.dryRun = dryRun
        self.forceRollback = forceRollback
        self.environment = environment
        self.stallTimeout = stallTimeout
    }
}

/// What a successful transfer did.
public struct RunSummary: Sendable {
    public var action: String
    /// The new base snapshot's short name (nil for a dry run).
    public var snapshot: String?
    public var bytes: UInt64
    public var seconds: Double
}

/// Initializes and updates one pair: snapshots the source, streams it into the destination, verifies
/// the received snapshot's GUID, and only then moves the base.
public final class Replicator: @unchecked Sendable {
    public let pair: Pair
    let settings: ReplicationSettings
    let executor: any GraphExecuting
    let log: PairLog
    let now: () -> Date
    /// Runs every state change, or renders it (the dry run): the one path for both.
    let changes: any ChangeExecuting
    public let source: HostSession
    public let destination: HostSession
    let sourceSSH: SSHDestination
    /// The source has child filesystems: the pair's snapshots are taken, sent, held, released and
    /// destroyed with its descendants. Set from the source's state at the start of a run.
    private(set) var recursive = false

    public init(
        pair: Pair, settings: ReplicationSettings, executor: any GraphExecuting, log: PairLog,
        now: @escaping () -> Date = Date.init, dryRunOutput: @escaping @Sendable (String) -> Void = { print($0) }
    ) throws(ActionError) {
        self.pair = pair
        self.settings = settings
        self.executor = executor
        self.log = log
        self.now = now
        changes = settings.changes ?? (settings.dryRun ? RenderedChanges(output: dryRunOutput) : LiveChanges())
        do {
            sourceSSH = try TransferPlanner.sourceLocation(of: pair, sshConfig: settings.sshConfig)
        } catch {
            throw ActionError(error.description, exitCode: 2, nagios: .unknown)
        }
        let options = RunOptions(environment: settings.environment)
        let logCommand: (String) -> Void = { [log] in log.debug("run: \($0)") }
        source = HostSession(
            host: pair.source.host.rawValue, location: .remote(sourceSSH), executor: executor, runOptions: options,
            observer: logCommand)
        destination = HostSession(
            host: pair.destination.host.rawValue, location: .local, executor: executor, runOptions: options,
            observer: logCommand)
    }

    // MARK: reading state

    /// What each host's zfs supports, probed once per run (see `CapabilityCache`): `zfs version`
    /// (absent on old zfs) and the pool's version (`-` or 5000 for feature flags; a number such as 23
    /// for legacy pools).
    public func capabilities(of session: HostSession, pool: String) throws(ActionError) -> HostCapabilities {
        if let cached = settings.capabilities.value(at: session.origin, pool: pool) { return cached }
        let versionProbe = session.probe(ZFS.version())
        let report: ZFSVersionReport
        do {
            report = try ZFSVersionReport.parse(
                stdout: versionProbe.stdout, stderr: versionProbe.stderrTail, exitStatus: versionProbe.exitStatus ?? -1)
        } catch {
            if let failure = versionProbe.failure { throw ActionError(failure, context: "probing zfs") }
            throw ActionError("cannot tell the zfs version on \(session.host): \(error)", nagios: .unknown)
        }
        let poolVersion: PoolVersion
        do {
            let poolName = try PoolName(pool)
            if case .openZFS = report {
                poolVersion = try PoolVersion.parse(
                    try session.run(ZPool.get([.version], pools: [poolName], columns: [.value])))
            } else {
                // Old zpool has no -H/-o: read its table.
                poolVersion = try PoolVersion.parseTable(
                    try session.run(ZPool.get([.version], pools: [poolName], scripted: false)), pool: pool)
            }
        } catch let failure as CommandFailure {
            throw ActionError(failure, context: "probing pool \(pool)")
        } catch {
            throw ActionError("cannot read the version of pool \(pool) on \(session.host): \(error)", nagios: .unknown)
        }
        let capabilities = HostCapabilities.derive(zfs: report, pool: poolVersion)
        settings.capabilities.store(capabilities, at: session.origin, pool: pool)
        log.debug("capabilities of \(session.host) (pool \(pool)): \(capabilities)")
        return capabilities
    }

    /// Reads one side's filesystem with its descendants and all their snapshots in one `zfs get -r`.
    public func readState(of session: HostSession, dataset: DatasetName, extra: [String] = []) throws(ActionError) -> DatasetState {
        let output: String
        do {
            let properties = try DatasetState.propertiesToRead(for: pair, extra: extra).map { name throws(InvalidValue) in
                try PropertyName(name)
            }
            output = try session.run(ZFS.get(
                properties, of: [dataset], parsable: true, depth: .recursive,
                columns: [.name, .property, .value, .source]))
        } catch let failure as CommandFailure {
            if failure.isMissingDataset && failure.stderrTail.contains("'\(dataset.rawValue)'") {
                return .missing(dataset)
            }
            throw ActionError(failure, context: "reading \(dataset)")
        } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
        do {
            return try DatasetState.from(PropertyTable.parse(output), dataset: dataset)
        } catch {
            throw ActionError("unexpected zfs output on \(session.host) for \(dataset): \(error)", nagios: .unknown)
        }
    }

    /// Both sides and the pair's condition.
    public func assess(sourceExtra: [String] = [], destinationExtra: [String] = []) throws(ActionError) -> (PairCondition, source: DatasetState, destination: DatasetState) {
        let sourceState = try readState(of: source, dataset: pair.source.dataset, extra: sourceExtra)
        let destinationState = try readState(of: destination, dataset: pair.destination.dataset, extra: destinationExtra)
        return (PairCondition.assess(pair: pair, source: sourceState, destination: destinationState), sourceState, destinationState)
    }

    // MARK: initialize

    public func initialize() throws(ActionError) -> RunSummary {
        let started = now()
        settings.observer?.phase("reading state", estimatedBytes: nil)
        let (condition, sourceState, destinationState) = try assess(sourceExtra: ["quota", "referenced"])
        if case .synchronized(let base) = condition {
            throw ActionError("already initialized and synchronized (base \(base)); use update", nagios: .warning)
        }
        guard sourceState.exists else {
            throw ActionError("source \(pair.source.dataset) does not exist on \(pair.source.host)")
        }
        if destinationState.exists, leftByFailedInitialize(source: sourceState, destination: destinationState) {
            log.warn("\(pair.destination.dataset) holds only a failed initialize's partial work; destroying it to start again")
            try mutate(destination, ZFS.destroyFilesystem(pair.destination.dataset))
        } else if destinationState.exists {
            throw ActionError(
                "destination \(pair.destination.dataset) already exists (\(condition.stateName) \(reason(condition))); "
                    + "zettabee does not overwrite it: destroy or rename it first")
        }
        let destinationCapabilities = try capabilities(of: destination, pool: pair.destination.dataset.pool)
        recursive = !sourceState.children.isEmpty
        let snapshot = try newSnapshotName(avoiding: sourceState)

        var received: [PropertyAssignment] = [try assignment("readonly", "on")]
        if let quota = sourceState.value("quota"), quota != "0", quota != "none" {
            received.append(try assignment("quota", quota))
        }
        let byReceive = destinationCapabilities.receivePropertyOverrides
        settings.observer?.phase("snapshot", estimatedBytes: sourceState.value("referenced").flatMap { UInt64($0) })
        log.info("initialize: full send of \(pair.source.dataset)@\(snapshot)\(recursive ? " with descendants" : "") to \(pair.destination.dataset) over \(transportDescription)")
        try mutate(source, try snapshotCommand(pair.source.dataset, snapshot, recursive: recursive))
        let sourceSnapshot = try snapshotName(pair.source.dataset, snapshot)
        let transfer: (bytes: UInt64, seconds: Double)
        do {
            transfer = try runTransfer(
                send: SendSpecification(snapshot: sourceSnapshot, recursive: recursive),
                receive: ReceiveSettings(resumable: false, setting: byReceive ? received : []))
        } catch {
            removeFailedInitialize()
            discardSourceSnapshot(sourceSnapshot, reason: "the transfer failed")
            throw error
        }
        if !rendering { try verifyReceived(snapshot) }
        if !byReceive {
            try setProperties(received, on: pair.destination.dataset, at: destination)
            undoChangesSinceReceive(snapshot, descendants: sourceState.descendants.map(\.dataset.rawValue))
        }
        try moveBase(to: snapshot, from: nil, initial: true)
        let seconds = now().timeIntervalSince(started)
        if !rendering {
            log.info("initialize done: base \(snapshot), \(volume(transfer)) in \(format(seconds)) s")
        }
        return RunSummary(action: "initialize", snapshot: rendering ? nil : snapshot, bytes: transfer.bytes, seconds: seconds)
    }

    // MARK: update

    public func update() throws(ActionError) -> RunSummary {
        let started = now()
        settings.observer?.phase("reading state", estimatedBytes: nil)
        let sourceCapabilities = try capabilities(of: source, pool: pair.source.dataset.pool)
        let destinationCapabilities = try capabilities(of: destination, pool: pair.destination.dataset.pool)
        let resumable = sourceCapabilities.resumableReceive && destinationCapabilities.resumableReceive
        let destinationExtra = destinationCapabilities.resumableReceive ? [PropertyName.receiveResumeToken.rawValue] : []
        var (condition, sourceState, destinationState) = try assess(destinationExtra: destinationExtra)
        recursive = !sourceState.children.isEmpty
        guard var base = condition.base else {
            if condition == .uninitialized {
                throw ActionError("pair is not initialized; run: zettabee initialize \(pair.destination.dataset)")
            }
            throw ActionError("pair is Inconsistent: \(reason(condition))\(reinitializeHint(condition))")
        }
        let force = settings.forceRollback || pair.options.rollback
        let reread: () throws(ActionError) -> Void = {
            if !self.rendering {
                (condition, sourceState, destinationState) = try self.assess(destinationExtra: destinationExtra)
            }
        }
        // A run that failed after the destination recorded the new base but before the source did (or
        // before the old base's holds were released): finish moving the base.
        let sourceRecorded = sourceState.value(pair.properties.lastSnapshot).map(PairCondition.baseName)
        if sourceRecorded != base {
            log.warn("the source records base \(sourceRecorded ?? "none"), the destination \(base): completing the move of the base")
            try moveBase(to: base, from: sourceRecorded, initial: sourceRecorded == nil)
            try reread()
        } else {
            try finishEarlierBaseMoves(base: base, source: sourceState, destination: destinationState)
        }
        // A run that died after its receive but before moving the base left a newer snapshot on every
        // dataset of both trees with the same GUIDs: adopt it instead of sending it again.
        if let adopted = newestCommonPairSnapshot(after: base, source: sourceState, destination: destinationState) {
            log.warn("a previous run received \(adopted) but did not record it; adopting it as the base")
            try moveBase(to: adopted, from: base, initial: false)
            base = adopted
            try reread()
        }
        // A failed run left part of a transfer: resume, complete, or roll it back to the base.
        if case .interrupted(_, let why) = condition {
            log.warn("a previous run left an interrupted transfer: \(why)")
            base = try recoverInterruptedTransfer(
                base: base, source: sourceState, destination: destinationState, sendSupportsResume: resumable,
                force: force, resumable: resumable)
            try reread()
            if case .interrupted(_, let why) = condition {
                throw ActionError("pair is Resumable but could not be recovered: \(why)")
            }
        }
        try discardLeftovers(after: base, source: sourceState, destination: destinationState)
        let snapshot = try newSnapshotName(avoiding: sourceState)
        let sourceSnapshot = try snapshotName(pair.source.dataset, snapshot)
        let baseSnapshot = try snapshotName(pair.source.dataset, base)
        settings.observer?.phase("snapshot", estimatedBytes: nil)
        log.info("update: incremental send \(base) -> \(snapshot) of \(pair.source.dataset) to \(pair.destination.dataset) over \(transportDescription)\(force ? " (rollback allowed)" : "")\(resumable ? " (resumable)" : "")")
        try mutate(source, try snapshotCommand(pair.source.dataset, snapshot, recursive: recursive))
        let transfer: (bytes: UInt64, seconds: Double)
        do {
            transfer = try runTransfer(
                send: SendSpecification(snapshot: sourceSnapshot, base: baseSnapshot, recursive: recursive),
                receive: ReceiveSettings(force: force, resumable: resumable))
        } catch {
            if !partlyReceived(snapshot) {
                discardSourceSnapshot(sourceSnapshot, reason: "the transfer failed")
            }
            throw error
        }
        let verified = rendering ? nil : try verifyReceived(snapshot)
        try moveBase(to: snapshot, from: base, initial: false, verified: verified)
        let seconds = now().timeIntervalSince(started)
        if !rendering {
            log.info("update done: base \(snapshot), \(volume(transfer)) in \(format(seconds)) s")
        }
        return RunSummary(action: "update", snapshot: rendering ? nil : snapshot, bytes: transfer.bytes, seconds: seconds)
    }

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
    func moveBase(to snapshot: String, from old: String?, initial: Bool, verified: DatasetState? = nil) throws(ActionError) {
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
        let command: Command
        do { command = try ZFS.hold(try holdTag, on: [try dataset.snapshot(snapshot)], recursive: recursive) } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
        guard let failure = changes.change(command, on: session) else { return }
        if failure.stderrTail.contains("tag already exists") { return }
        if ZFSUsageError.matches(stderr: failure.stderrTail, exitStatus: failure.exitStatus ?? -1) {
            log.warn("holds are not supported on \(session.host); the base \(snapshot) is not protected there")
            return
        }
        log.writeLines(.error, failure.stderrTail)
        throw ActionError(failure, context: "holding the base")
    }

    /// `zfs release zettabee.<fp> ds@snapshot`, best effort: a missing hold or snapshot is fine.
    func release(_ snapshot: String, on session: HostSession, dataset: DatasetName) {
        guard let tag = try? holdTag, let name = try? dataset.snapshot(snapshot), let command = try? ZFS.release(tag, from: [name], recursive: recursive) else {
            return
        }
        guard let failure = changes.change(command, on: session) else { return }
        if failure.stderrTail.contains("no such tag") || failure.isMissingDataset { return }
        log.warn("could not release the hold on \(name) on \(session.host): \(failure.description)")
    }

    // MARK: steps

    /// Runs the transfer graph (or prints it in a dry run) and returns the bytes received and seconds.
    func runTransfer(send: SendSpecification, receive: ReceiveSettings) throws(ActionError) -> (bytes: UInt64, seconds: Double) {
        let graph: Graph
        do {
            graph = try TransferPlanner.transfer(pair: pair, source: sourceSSH, send: send, receive: receive)
        } catch {
            throw ActionError(error.description, exitCode: 2, nagios: .unknown)
        }
        let lowered = Lowering.lower(graph)
        let rendered = Rendering.render(lowered)
        if !changes.rendersOnly { log.debug("transfer: \(rendered)") }
        let receiver = receiverStage(of: lowered)
        let bytes = ByteCounter()
        let observer = settings.observer
        observer?.phase("transfer", estimatedBytes: nil)
        let options = RunOptions(
            stallTimeout: settings.stallTimeout ?? Double(pair.options.stallTimeout.seconds), environment: settings.environment,
            stderrLines: { [log] stage, line in log.debug("stage \(stage): \(line)") },
            progress: { sample in
                if let io = sample.stages[receiver.pipeline][receiver.stage] { bytes.update(io.bytesRead) }
                observer?.transferred(bytes: bytes.value, elapsed: sample.elapsed)
            },
            started: startedObserver())
        let started = Date()
        do {
            guard try changes.transfer(lowered, executor: executor, options: options) != nil else { return (0, 0) }
            return (bytes.value, Date().timeIntervalSince(started))
        } catch let failure as RunFailure {
            log.error("transfer failed: \(failure.description)")
            log.writeLines(.error, failure.details)
            var signal: Int32?
            if case .interrupted(let number) = failure.kind { signal = number }
            let receiveSaid = failure.result.map { $0.stages[receiver.pipeline][receiver.stage].stderrTail } ?? ""
            throw ActionError(
                transferFailureMessage(failure, receiveSaid: receiveSaid, base: send.base), nagios: .critical,
                details: failure.details, signal: signal)
        } catch {
            throw ActionError("transfer failed: \(error)")
        }
    }

    /// One line saying why a transfer failed, naming the cause where zfs's words are known.
    func transferFailureMessage(_ failure: RunFailure, receiveSaid: String, base: SnapshotName?) -> String {
        let destination = pair.destination.dataset
        if receiveSaid.contains("has been modified") {
            return "destination \(destination) has been modified since the base snapshot \(base?.name ?? "")"
                + "; refusing to roll it back without --force-rollback or the pair option rollback=yes"
        }
        if receiveSaid.contains("does not match incremental source") || receiveSaid.contains("destination already exists") {
            return "destination \(destination) has snapshots newer than the base \(base?.name ?? "") that this pair did not make"
                + "; remove them, or allow a rollback with --force-rollback or rollback=yes"
        }
        if receiveSaid.contains("out of space") {
            return "destination \(destination) is out of space: \(ZFSErrorText.summary(receiveSaid) ?? "out of space")"
        }
        switch failure.kind {
        case .stageFailed(let id):
            guard let stage = failure.result?.stages[id.pipeline][id.stage] else { break }
            var name = stage.spec.label
            if let (index, _) = stage.failedRemoteStage, stage.termination == .exited(0), index < stage.spec.remoteStageLabels.count {
                name = stage.spec.remoteStageLabels[index] + " on \(pair.source.host)"
            }
            let said = ZFSErrorText.summary(stage.stderrTail) ?? "it \(stage.termination?.description ?? "did not end")"
            return "transfer failed: \(name) failed: \(said)"
        default: break
        }
        return "transfer failed: \(failure.description)"
    }

    func startedObserver() -> (@Sendable (StageID, Int32) -> Void)? {
        guard let report = settings.childStarted else { return nil }
        return { _, pid in report(pid) }
    }

    /// The local `zfs receive` stage: the last stage of the first pipeline.
    func receiverStage(of graph: LoweredGraph) -> StageID {
        StageID(pipeline: 0, stage: graph.pipelines[0].stages.count - 1)
    }

    /// Checks that every dataset of the destination tree now holds `snapshot` with the GUID of its
    /// source (every source dataset that has the snapshot: one created after it goes next time). Returns
    /// the source's state as read for that, which also tells which older snapshots the base's move may
    /// destroy.
    @discardableResult
    func verifyReceived(_ snapshot: String) throws(ActionError) -> DatasetState {
        settings.observer?.phase("verify", estimatedBytes: nil)
        let sourceState = try readState(of: source, dataset: pair.source.dataset)
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
        try setProperties(destinationProperties, on: pair.destination.dataset, at: destination)
        try setProperties(sourceProperties, on: pair.source.dataset, at: source)
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
        guard let newestTXG = state.snapshot(named: snapshot)?.createTXG ?? (rendering ? .max : nil) else { return }
        let older = state.snapshots.filter {
            $0.createTXG < newestTXG && PairSnapshotName.isSnapshot($0.snapshot, of: pair.fingerprint)
        }
        for record in older {
            do throws(ActionError) {
                // Only the base just replaced can be busy for a moment (its sender ending); an older
                // one that is busy is held by someone else, and is tried again by the next run.
                let wasBase = record.createTXG == older.last?.createTXG
                try mutate(source, try destroyCommand(record.snapshot), retryBusy: retryBusy && wasBase)
            } catch {
                log.warn("could not destroy old base \(record.snapshot) on the source: \(error.message)")
            }
        }
    }

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

    /// `zettabee.<fp>.<now>UTC`; when a pair snapshot is already stamped `now` or later (two runs within
    /// a second), one second after the latest, so names always sort in the order they were taken.
    func newSnapshotName(avoiding state: DatasetState) throws(ActionError) -> String {
        var date = now()
        let latest = state.snapshots.compactMap { record -> Date? in
            guard let parsed = PairSnapshotName(parsing: record.snapshot.name), parsed.fingerprint == pair.fingerprint else {
                return nil
            }
            return parsed.date
        }.max()
        if let latest, latest >= date.addingTimeInterval(-0.999) { date = latest.addingTimeInterval(1) }
        while true {
            let name = PairSnapshotName(fingerprint: pair.fingerprint, date: date).description
            if state.snapshot(named: name) == nil { return name }
            date = date.addingTimeInterval(1)
        }
    }

    // MARK: running state-changing commands

    /// Runs a command that changes state, or prints it in a dry run. `dataset is busy` right after a
    /// receive is retried a few times.
    func mutate(_ session: HostSession, _ command: Command, retryBusy: Bool = true) throws(ActionError) {
        var attempt = 0
        while true {
            if let error = changes.change(command, on: session) {
                attempt += 1
                if retryBusy && error.stderrTail.contains("dataset is busy") && attempt < 5 && error.interruptedBySignal == nil {
                    log.debug("\(command.label) on \(session.host): dataset is busy, trying again")
                    usleep(UInt32(200_000 * attempt))
                    continue
                }
                log.error("\(error.description)")
                log.writeLines(.error, error.stderrTail)
                throw ActionError(error)
            }
            return
        }
    }

    /// The dry run: changes are printed, so the hosts stay as they were read (there is nothing new to
    /// verify or to read back).
    var rendering: Bool { changes.rendersOnly }

    var transportDescription: String {
        switch pair.options.transport {
        case .mbuffer(let options): "mbuffer (port \(options.port))"
        case .ssh(let compression): compression == .none ? "ssh" : "ssh with \(compression.rawValue)"
        }
    }

    func reason(_ condition: PairCondition) -> String {
        if case .inconsistent(let reason) = condition { return reason }
        return condition.stateName
    }

    func reinitializeHint(_ condition: PairCondition) -> String {
        guard case .inconsistent(let reason) = condition, reason.contains("missing on the source") else { return "" }
        return "; to start over, destroy \(pair.destination.dataset) and run: zettabee initialize \(pair.destination.dataset)"
    }

    func assignment(_ name: String, _ value: String) throws(ActionError) -> PropertyAssignment {
        do { return try PropertyAssignment(name, value) } catch { throw ActionError(error.description, exitCode: 2, nagios: .unknown) }
    }

    func snapshotName(_ dataset: DatasetName, _ name: String) throws(ActionError) -> SnapshotName {
        do { return try dataset.snapshot(name) } catch { throw ActionError(error.description, exitCode: 2, nagios: .unknown) }
    }

    func snapshotCommand(_ dataset: DatasetName, _ name: String, recursive: Bool) throws(ActionError) -> Command {
        do { return try ZFS.snapshot([try dataset.snapshot(name)], recursive: recursive) } catch {
            throw ActionError(error.description, exitCode: 2, nagios: .unknown)
        }
    }

    func destroyCommand(_ snapshot: SnapshotName) throws(ActionError) -> Command {
        do { return try ZFS.destroy([snapshot], recursive: recursive) } catch { throw ActionError(error.description, exitCode: 2, nagios: .unknown) }
    }

    func setCommand(_ assignments: [PropertyAssignment], on dataset: DatasetName) throws(ActionError) -> Command {
        do { return try ZFS.set(assignments, on: dataset) } catch { throw ActionError(error.description, exitCode: 2, nagios: .unknown) }
    }
}

/// The largest byte count seen, updated from the runner's progress thread.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: UInt64 = 0
    func update(_ value: UInt64) { lock.withLock { bytes = max(bytes, value) } }
    var value: UInt64 { lock.withLock { bytes } }
}

func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }

/// The transfer's size and speed for the log. The size comes from the receiver's read counter, sampled
/// twice a second while it runs: a transfer shorter than that is "not measured", never "0 bytes".
func volume(_ transfer: (bytes: UInt64, seconds: Double)) -> String {
    guard transfer.bytes > 0 else { return "size not measured (shorter than a progress sample)" }
    return "at least \(transfer.bytes) bytes (\(rate(transfer.bytes, transfer.seconds)))"
}

func rate(_ bytes: UInt64, _ seconds: Double) -> String {
    guard seconds > 0 else { return "-" }
    return String(format: "%.1f MiB/s", Double(bytes) / seconds / 1_048_576)
}
