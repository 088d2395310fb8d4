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
    /// `update --all`: the source hosts' ssh masters, shared by their pairs (else each pair has its own).
    public var connections: HostConnections?
    /// Where changes go; nil: run them, or with `dryRun` print them (`RenderedChanges`).
    public var changes: (any ChangeExecuting)?
    /// A host name's addresses (getaddrinfo); injected by tests.
    public var lookUpAddresses: @Sendable (String) -> [String] = { AddressLookup.addresses(of: $0) }

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
    /// Where this run's mbuffer listens, once decided (see `mbufferListen`).
    var listenDecision: ListenAddress??
    /// The source has child filesystems: the pair's snapshots are taken, sent, held, released and
    /// destroyed with its descendants. Set from the source's state at the start of a run.
    var recursive = false
    /// How this run's streams are sent and received; decided once the source's tree is read.
    var streamFormat = StreamFormat()

    /// The ssh that runs the stream's source side: a client of the pair's shared connection, which
    /// costs no handshake. Over mbuffer it carries no stream bytes (only the stages' statuses). Over the
    /// ssh transport it carries the stream, as fast as a connection of its own (measured through the
    /// real sshd over loopback: 2 GB in 3.4 to 3.7 s multiplexed, 3.6 to 4.7 s on its own); but the
    /// run-wide connection of `update --all` never carries a stream: parallel streams through one ssh
    /// master would share its one process.
    var streamSource: SSHDestination {
        guard source.connection != nil, case .remote(let shared) = source.location else { return sourceSSH }
        if case .mbuffer = pair.options.transport { return shared }
        return source.ownsConnection ? shared : sourceSSH
    }

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
        if let cached = settings.capabilities.valueOrClaimProbe(at: session.origin, pool: pool) { return cached }
        var found: HostCapabilities?
        defer { settings.capabilities.finishProbe(at: session.origin, pool: pool, with: found) }
        let versionProbe = session.probe(ZFS.version())
        let report: ZFSVersionReport
        do {
            report = try ZFSVersionReport.parse(
                stdout: versionProbe.stdout, stderr: versionProbe.stderrTail, exitStatus: versionProbe.exitStatus ?? -1)
        } catch {
            if let failure = versionProbe.failure { throw ActionError(failure, context: "probing zfs") }
            throw ActionError("cannot tell the zfs version on \(session.host): \(error)", nagios: .unknown)
        }
        let poolProbe: PoolProbe
        do {
            let poolName = try PoolName(pool)
            if case .openZFS = report {
                let properties = try PoolProbe.properties.map { name throws(InvalidValue) in try PropertyName(name) }
                poolProbe = try PoolProbe.parse(try session.run(ZPool.get(properties, pools: [poolName], columns: [.value])))
            } else {
                // Old zpool has no -H/-o: read its table.
                poolProbe = PoolProbe(version: try PoolVersion.parseTable(
                    try session.run(ZPool.get([.version], pools: [poolName], scripted: false)), pool: pool))
            }
        } catch let failure as CommandFailure {
            throw ActionError(failure, context: "probing pool \(pool)")
        } catch {
            throw ActionError("cannot read the version of pool \(pool) on \(session.host): \(error)", nagios: .unknown)
        }
        let capabilities = HostCapabilities.derive(zfs: report, pool: poolProbe)
        found = capabilities
        log.debug("capabilities of \(session.host) (pool \(pool)): \(capabilities)")
        return capabilities
    }

    /// Reads one side's filesystem with its descendants and all their snapshots in one `zfs get -r`.
    public func readState(of session: HostSession, dataset: DatasetName, extra: [String] = []) throws(ActionError) -> DatasetState {
        let command = try stateCommand(dataset, extra: extra)
        do {
            return try state(of: dataset, on: session, from: try session.run(command))
        } catch let failure as CommandFailure {
            return try state(of: dataset, on: session, after: failure)
        } catch let error as ActionError {
            throw error
        } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
    }

    /// `zfs get -Hp -r -o name,property,value,source` of the tree's identity, the pair's and `extra`.
    func stateCommand(_ dataset: DatasetName, extra: [String]) throws(ActionError) -> Command {
        try checked { () throws(InvalidValue) in
            let properties = try DatasetState.propertiesToRead(for: pair, extra: extra).map { name throws(InvalidValue) in
                try PropertyName(name)
            }
            return try ZFS.get(properties, of: [dataset], parsable: true, depth: .recursive, columns: [.name, .property, .value, .source])
        }
    }

    /// The tree as `stateCommand`'s answer tells it.
    func state(of dataset: DatasetName, on session: HostSession, from output: String) throws(ActionError) -> DatasetState {
        do {
            return try DatasetState.from(PropertyTable.parse(output), dataset: dataset)
        } catch {
            throw ActionError("unexpected zfs output on \(session.host) for \(dataset): \(error)", nagios: .unknown)
        }
    }

    /// `stateCommand` failed: a missing tree is an answer, anything else ends the run.
    func state(of dataset: DatasetName, on session: HostSession, after failure: CommandFailure) throws(ActionError) -> DatasetState {
        if failure.isMissingDataset && failure.stderrTail.contains("'\(dataset.rawValue)'") {
            return .missing(dataset)
        }
        if failure.outputTooLarge {
            throw ActionError("unexpected zfs output on \(session.host) for \(dataset): \(failure.runnerMessage)", nagios: .unknown)
        }
        throw ActionError(failure, context: "reading \(dataset)")
    }

    /// What the run needs of the source, in one round trip (`HostSession.runSequence`): `zfs version`,
    /// the pool's version and features, the tree's properties (identity, the pair's, `extra`) and, on
    /// OpenZFS, its encryption properties; the answers are parsed as if each command had run alone.
    /// Where the host's capabilities are known already (another pair of it in `update --all`), only the
    /// tree is read.
    func readSource(extra: [String]) throws(ActionError) -> (HostCapabilities, DatasetState) {
        let pool = pair.source.dataset.pool
        let dataset = pair.source.dataset
        if let cached = settings.capabilities.valueOrClaimProbe(at: source.origin, pool: pool) {
            return (cached, try readState(of: source, dataset: dataset, extra: extra + encryptionProperties(cached)))
        }
        var found: HostCapabilities?
        defer { settings.capabilities.finishProbe(at: source.origin, pool: pool, with: found) }
        var commands: [Command]
        do {
            let poolName = try PoolName(pool)
            let names = { (list: [String]) throws(InvalidValue) -> [PropertyName] in
                try list.map { name throws(InvalidValue) in try PropertyName(name) }
            }
            commands = [
                ZFS.version(),
                try ZPool.get([.version], pools: [poolName], scripted: false),
                try ZPool.get(try names(PoolProbe.features.map { "feature@\($0)" }), pools: [poolName], columns: [.value]),
                try ZFS.get(try names(StreamFormat.encryptionProperties), of: [dataset], parsable: true, depth: .recursive,
                            columns: [.name, .property, .value, .source]),
            ]
        } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
        commands.insert(try stateCommand(dataset, extra: extra), at: 3)
        let steps: [RemoteStep]
        do { steps = try source.runSequence(commands, continueAfterFailure: true) } catch {
            if error.outputTooLarge {
                throw ActionError("unexpected zfs output on \(source.host) for \(dataset): \(error.runnerMessage)", nagios: .unknown)
            }
            throw ActionError(error, context: "probing zfs")
        }
        let report: ZFSVersionReport
        do {
            report = try ZFSVersionReport.parse(stdout: steps[0].stdout, stderr: steps[0].stderr, exitStatus: steps[0].exitStatus ?? -1)
        } catch {
            throw ActionError("cannot tell the zfs version on \(source.host): \(error)", nagios: .unknown)
        }
        var poolProbe: PoolProbe
        do {
            guard steps[1].exitStatus == 0 else { throw source.failure(of: steps[1], commands[1]) }
            poolProbe = PoolProbe(version: try PoolVersion.parseTable(steps[1].stdout, pool: pool))
            if case .openZFS = report {
                guard steps[2].exitStatus == 0 else { throw source.failure(of: steps[2], commands[2]) }
                poolProbe.features = try PoolProbe.parseFeatures(steps[2].stdout)
            }
        } catch let failure as CommandFailure {
            throw ActionError(failure, context: "probing pool \(pool)")
        } catch {
            throw ActionError("cannot read the version of pool \(pool) on \(source.host): \(error)", nagios: .unknown)
        }
        let capabilities = HostCapabilities.derive(zfs: report, pool: poolProbe)
        found = capabilities
        log.debug("capabilities of \(source.host) (pool \(pool)): \(capabilities)")

        guard steps[3].exitStatus == 0 else {
            return (capabilities, try state(of: dataset, on: source, after: source.failure(of: steps[3], commands[3])))
        }
        let limit = HostSession.outputLimit
        if steps[3].stdout.utf8.count > limit {
            throw ActionError("unexpected zfs output on \(source.host) for \(dataset): ssh \(source.host): \(commands[3].label) "
                + "printed more than \(limit) bytes, the most that is read of it; its output is incomplete", nagios: .unknown)
        }
        do {
            // The encryption rows only add to the datasets the tree's answer lists.
            var table = try PropertyTable.parse(steps[3].stdout)
            if capabilities.zfsVersion != nil, steps[4].exitStatus == 0, steps[4].stdout.utf8.count <= limit {
                table.merge(try PropertyTable.parse(steps[4].stdout), onlyListed: true)
            }
            return (capabilities, try DatasetState.from(table, dataset: dataset))
        } catch {
            throw ActionError("unexpected zfs output on \(source.host) for \(dataset): \(error)", nagios: .unknown)
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
        let sourceCapabilities = try capabilities(of: source, pool: pair.source.dataset.pool)
        let (condition, sourceState, destinationState) = try assess(
            sourceExtra: ["quota", "referenced", "mountpoint"] + encryptionProperties(sourceCapabilities))
        if case .synchronized(let base) = condition {
            throw ActionError("already initialized and synchronized (base \(base)); use update", nagios: .warning)
        }
        guard sourceState.exists else {
            throw ActionError("source \(pair.source.dataset) does not exist on \(pair.source.host)")
        }
        let leftovers = destinationState.exists && rules.leftByFailedInitialize(source: sourceState, destination: destinationState)
        if destinationState.exists, !leftovers {
            throw ActionError(
                "destination \(pair.destination.dataset) already exists (\(condition.stateName) \(reason(condition))); "
                    + "zettabee does not overwrite it: destroy or rename it first")
        }
        let destinationCapabilities = try capabilities(of: destination, pool: pair.destination.dataset.pool)
        recursive = !sourceState.children.isEmpty
        // Every refusal comes before the first change.
        try decideStreamFormat(source: sourceState, sourceCapabilities: sourceCapabilities, destinationCapabilities: destinationCapabilities)
        if leftovers {
            log.warn("\(pair.destination.dataset) holds only a failed initialize's partial work; destroying it to start again")
            try mutate(destination, ZFS.destroyFilesystem(pair.destination.dataset))
        }
        let snapshot = try newSnapshotName(avoiding: sourceState)

        var received: [PropertyAssignment] = [try assignment("readonly", "on")]
        if let quota = sourceState.value("quota"), quota != "0", quota != "none" {
            received.append(try assignment("quota", quota))
        }
        let byReceive = destinationCapabilities.receivePropertyOverrides
        settings.observer?.phase("snapshot", estimatedBytes: sourceState.value("referenced").flatMap { UInt64($0) })
        log.info("initialize: full send of \(pair.source.dataset)@\(snapshot)\(recursive ? " with descendants" : "") to \(pair.destination.dataset) over \(transportDescription)")
        let taken = try takeSnapshot(snapshot)
        let sourceSnapshot = try snapshotName(pair.source.dataset, snapshot)
        let transfer: (bytes: UInt64, seconds: Double)
        do {
            transfer = try transferTree(
                snapshot, base: nil, source: sourceState, destination: nil,
                receive: ReceiveSettings(resumable: false, setting: byReceive ? received : []))
        } catch {
            removeFailedInitialize()
            discardSourceSnapshot(sourceSnapshot, held: taken.held, reason: "the transfer failed")
            throw error
        }
        let verified = rendering ? nil : try verifyReceived(snapshot, source: taken.sourceState)
        if !byReceive {
            try setProperties(received, on: pair.destination.dataset, at: destination)
            undoChangesSinceReceive(snapshot, descendants: sourceState.descendants.map(\.dataset.rawValue))
        }
        try moveBase(to: snapshot, from: nil, initial: true, verified: verified, freshlyTaken: taken)
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
        let destinationCapabilities = try capabilities(of: destination, pool: pair.destination.dataset.pool)
        let mountpoints = destinationCapabilities.receivePropertyOverrides ? [] : ["mountpoint"]
        // The local side first: its reads overlap the source's ssh master connecting.
        let destinationExtra = partialReceiveProperties + encryptionProperties(destinationCapabilities) + mountpoints
        var destinationState = try readState(of: destination, dataset: pair.destination.dataset, extra: destinationExtra)
        var (sourceCapabilities, sourceState) = try readSource(extra: mountpoints)
        let resumable = sourceCapabilities.resumableReceive && destinationCapabilities.resumableReceive
        let sourceExtra = encryptionProperties(sourceCapabilities) + mountpoints
        var condition = PairCondition.assess(pair: pair, source: sourceState, destination: destinationState)
        recursive = !sourceState.children.isEmpty
        guard var base = condition.base else {
            if condition == .uninitialized {
                throw ActionError("pair is not initialized; run: zettabee initialize \(pair.destination.dataset)")
            }
            throw ActionError("pair is Inconsistent: \(reason(condition))\(reinitializeHint(condition))")
        }
        try decideStreamFormat(source: sourceState, sourceCapabilities: sourceCapabilities, destinationCapabilities: destinationCapabilities)
        if let mismatch = streamFormat.encryptionMismatch(source: sourceState, destination: destinationState) {
            throw ActionError("pair is Inconsistent: \(mismatch)")
        }
        try healMountpoints(destination: destinationState)
        let force = settings.forceRollback || pair.options.rollback
        let reread: () throws(ActionError) -> Void = {
            if !self.rendering {
                (condition, sourceState, destinationState) = try self.assess(sourceExtra: sourceExtra, destinationExtra: destinationExtra)
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
        if let adopted = rules.adoptable(after: base, source: sourceState, destination: destinationState) {
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
        settings.observer?.phase("snapshot", estimatedBytes: nil)
        log.info("update: incremental send \(base) -> \(snapshot) of \(pair.source.dataset) to \(pair.destination.dataset) over \(transportDescription)\(force ? " (rollback allowed)" : "")\(resumable ? " (resumable)" : "")")
        let taken = try takeSnapshot(snapshot)
        let transfer: (bytes: UInt64, seconds: Double)
        do {
            transfer = try transferTree(
                snapshot, base: base, source: sourceState, destination: destinationState,
                receive: ReceiveSettings(force: force, resumable: resumable))
        } catch {
            if !partlyReceived(snapshot) {
                discardSourceSnapshot(sourceSnapshot, held: taken.held, reason: "the transfer failed")
            }
            throw error
        }
        let verified = rendering ? nil : try verifyReceived(snapshot, source: taken.sourceState)
        try moveBase(to: snapshot, from: base, initial: false, verified: verified, freshlyTaken: taken)
        let seconds = now().timeIntervalSince(started)
        if !rendering {
            log.info("update done: base \(snapshot), \(volume(transfer)) in \(format(seconds)) s")
        }
        return RunSummary(action: "update", snapshot: rendering ? nil : snapshot, bytes: transfer.bytes, seconds: seconds)
    }

    /// The encryption properties, where the host's zfs has them (old zfs refuses unknown properties).
    func encryptionProperties(_ capabilities: HostCapabilities) -> [String] {
        capabilities.zfsVersion != nil ? StreamFormat.encryptionProperties : []
    }

    /// Sets `streamFormat` for this run, or refuses before anything changed.
    func decideStreamFormat(
        source: DatasetState, sourceCapabilities: HostCapabilities, destinationCapabilities: HostCapabilities
    ) throws(ActionError) {
        switch StreamFormat.decide(
            options: pair.options, source: source, recursive: recursive, sourceCapabilities: sourceCapabilities,
            destinationCapabilities: destinationCapabilities)
        {
        case .success(let format): streamFormat = format
        case .failure(let refusal): throw ActionError(refusal.reason)
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
        let transport = switch pair.options.transport {
        case .mbuffer(let options): "mbuffer (port \(options.port))"
        case .ssh(let compression): compression == .none ? "ssh" : "ssh with \(compression.rawValue)"
        }
        let flags = streamFormat.sendFlags
        return flags.isEmpty ? transport : transport + " (send \(flags.joined(separator: " ")))"
    }

    func reason(_ condition: PairCondition) -> String {
        if case .inconsistent(let reason) = condition { return reason }
        return condition.stateName
    }

    func reinitializeHint(_ condition: PairCondition) -> String {
        guard case .inconsistent(let reason) = condition, reason.contains("missing on the source") else { return "" }
        return "; to start over, destroy \(pair.destination.dataset) and run: zettabee initialize \(pair.destination.dataset)"
    }

    /// Turns a value zettabee built itself but that failed validation (a name from the pair's own
    /// configuration, say) into the action's error: exit 2, UNKNOWN.
    func checked<T>(_ build: () throws(InvalidValue) -> T) throws(ActionError) -> T {
        do { return try build() } catch { throw ActionError(error.description, exitCode: 2, nagios: .unknown) }
    }

    func assignment(_ name: String, _ value: String) throws(ActionError) -> PropertyAssignment {
        try checked { () throws(InvalidValue) in try PropertyAssignment(name, value) }
    }

    func snapshotName(_ dataset: DatasetName, _ name: String) throws(ActionError) -> SnapshotName {
        try checked { () throws(InvalidValue) in try dataset.snapshot(name) }
    }

    func snapshotCommand(_ dataset: DatasetName, _ name: String, recursive: Bool) throws(ActionError) -> Command {
        try checked { () throws(InvalidValue) in try ZFS.snapshot([try dataset.snapshot(name)], recursive: recursive) }
    }

    func destroyCommand(_ snapshot: SnapshotName) throws(ActionError) -> Command {
        try checked { () throws(InvalidValue) in try ZFS.destroy([snapshot], recursive: recursive) }
    }

    func setCommand(_ assignments: [PropertyAssignment], on dataset: DatasetName) throws(ActionError) -> Command {
        try checked { () throws(InvalidValue) in try ZFS.set(assignments, on: dataset) }
    }
}
