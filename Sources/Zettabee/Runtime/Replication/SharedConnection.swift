import CommandGraph
import Foundation
import GraphRunner
#if canImport(Glibc)
import Glibc
#endif

/// One ssh master connection to a host for the length of an action, owned by zettabee: started before
/// the first control command, ended with `ssh -O exit` when the action is done. Control commands run as
/// its clients (`-o ControlMaster=no -o ControlPath=…`); if the master cannot be set up they simply
/// connect on their own, so a failing connection is reported by the command that needed it.
final class SharedConnection: @unchecked Sendable {
    let destination: SSHDestination
    let sharing: SSHSharing
    let executor: any GraphExecuting
    let environment: [String: String]
    let observer: (String) -> Void
    /// How long the master may take to connect and authenticate.
    let connectTimeout: Double
    /// Set for a dry run: no master is started, but the commands are rendered as its clients, exactly
    /// as a live run would run them; this is told the master's command line instead.
    let rendering: ((String) -> Void)?

    private var master: (any BackgroundRunning)?
    private var state = State.notStarted
    /// Pairs of `update --all` that share this connection ask for it from their own threads.
    private let lock = NSLock()

    enum State: Equatable { case notStarted, launching(deadline: Date), up, unavailable, closed }

    init(
        destination: SSHDestination, sharing: SSHSharing, executor: any GraphExecuting,
        environment: [String: String], observer: @escaping (String) -> Void, connectTimeout: Double = 30,
        rendering: ((String) -> Void)? = nil
    ) {
        self.rendering = rendering
        self.destination = destination
        self.sharing = sharing
        self.executor = executor
        self.environment = environment
        self.observer = observer
        self.connectTimeout = connectTimeout
    }

    /// Where the next control command runs: the master's client once it is up, else the host directly.
    func clientLocation() -> Location {
        lock.withLock {
            if state == .notStarted { launchMaster() }
            if case .launching(let deadline) = state { awaitMaster(until: deadline) }
            return state == .up ? .remote(sharing.client(of: destination)) : .remote(destination)
        }
    }

    /// Starts the master without waiting for it to connect, so that its handshake overlaps the local
    /// work before the first remote command (which waits for it).
    func launch() {
        lock.withLock { if state == .notStarted { launchMaster() } }
    }

    /// The master's command: through `setpriv --pdeathsig` where that exists (see `SSHSharing.master`).
    var masterSpec: ProcessSpec {
        sharing.master(of: destination, endingWithParent: executor.canRun("setpriv", environment: environment))
    }

    private func launchMaster() {
        if let rendering {
            rendering("control commands share one ssh connection: " + Rendering.render(masterSpec) + " &")
            state = .up
            return
        }
        state = .unavailable
        if SignalTrap.pendingSignal != nil { return }
        if socketExists() {
            // Left by a run that was killed: its master may still be alive; ask it to go.
            observer("ssh control socket \(sharing.controlPath) exists; asking its master to exit")
            runExit()
            unlink(sharing.controlPath)
        }
        let spec = masterSpec
        if spec.executable != "setpriv" {
            observer("setpriv (util-linux) is not on PATH: if zettabee is killed, its ssh master lives on until the pair's next run")
        }
        observer(Rendering.render(spec) + " &")
        let process: any BackgroundRunning
        do {
            process = try executor.startBackground(spec, environment: environment)
        } catch {
            observer("ssh master did not start (\(error)); control commands connect on their own")
            return
        }
        master = process
        state = .launching(deadline: Date().addingTimeInterval(connectTimeout))
    }

    /// The master creates its socket once it is connected and authenticated.
    private func awaitMaster(until deadline: Date) {
        state = .unavailable
        guard let process = master else { return }
        var pause: useconds_t = 500
        while !socketExists() {
            if process.waitForExit(seconds: Double(pause) / 1e6) || Date() >= deadline || SignalTrap.pendingSignal != nil {
                observer("ssh master is not available (\(describe(process))); control commands connect on their own")
                process.stop()
                master = nil
                return
            }
            pause = min(pause * 2, 20_000)
        }
        state = .up
    }

    /// Ends the master (`ssh -O exit`, then signals if it lingers). Safe to call more than once.
    func close() {
        lock.lock()
        defer {
            state = .closed
            lock.unlock()
        }
        guard let master else { return }
        self.master = nil
        if master.terminationStatus == nil && SignalTrap.pendingSignal == nil {
            runExit()
            master.waitForExit(seconds: 2)
        }
        master.stop()
        if socketExists() { unlink(sharing.controlPath) }
    }

    private func runExit() {
        let spec = sharing.exit(destination)
        observer(Rendering.render(spec))
        _ = try? executor.capture(LoweredPipeline(stages: [spec]), limit: 4096, options: RunOptions(timeout: 10, environment: environment))
    }

    private func socketExists() -> Bool {
        var info = stat()
        return lstat(sharing.controlPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    private func describe(_ process: any BackgroundRunning) -> String {
        let how = process.terminationStatus.map { "\($0)" } ?? "not connected in time"
        let said = process.stderrTail.split(separator: "\n").last.map { ": \($0)" } ?? ""
        return how + said
    }
}

extension HostSession {
    /// Lets the control commands of this (remote) session share one ssh connection, set up at the first
    /// command. Call `closeSharedConnection` when the action is done.
    /// `rendering`: a dry run's, which starts no master but renders the commands as its clients.
    public func shareConnection(_ sharing: SSHSharing, rendering: ((String) -> Void)? = nil) {
        guard case .remote(let destination) = location, connection == nil else { return }
        let connection = SharedConnection(
            destination: destination, sharing: sharing, executor: executor, environment: runOptions.environment,
            observer: observer, rendering: rendering)
        self.connection = connection
        connection.launch()
    }

    /// Ends the shared connection, if one was set up; later commands connect on their own. A connection
    /// of the run's `HostConnections` is only let go of: the run ends it.
    public func closeSharedConnection() {
        guard let connection else { return }
        if ownsConnection { connection.close() }
        self.connection = nil
        if case .remote = location { location = .remote(connection.destination) }
    }
}

/// The ssh masters of one `initialize|update --all` run: one per source host as zettabee reaches it
/// (user, host, port), shared by every pair of that host, so they also share its one capability probe
/// over one connection. `open` starts them all on the calling thread, which must outlive the pairs:
/// through `setpriv --pdeathsig` a master ends when the thread that started it ends. `closeAll` ends
/// them once every pair is done. Each socket is `<run-dir>/host-<hash>-<pid>.ssh`: the pid keeps two
/// runs of the same configuration from ever sharing (or ending) each other's master.
public final class HostConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var connections: [SSHDestination: SharedConnection] = [:]
    private var messages: [SSHDestination: [String]] = [:]

    public init() {}

    /// Starts the master of every distinct source host of `pairs`. A dry run starts none, but its
    /// commands are rendered as that master's clients all the same.
    public func open(for pairs: [Pair], settings: ReplicationSettings, executor: any GraphExecuting) {
        let runDirectory = settings.files.runDirectory
        let absolute = runDirectory.hasPrefix("/") ? runDirectory : FileManager.default.currentDirectoryPath + "/" + runDirectory
        var seen = Set<SSHDestination>()
        for pair in pairs {
            guard let destination = try? TransferPlanner.sourceLocation(of: pair, sshConfig: settings.sshConfig),
                  seen.insert(destination).inserted
            else { continue }
            let digest = MD5.hexDigest("\(destination.destination) \(destination.port ?? 0)")
            let path = (absolute.hasSuffix("/") ? absolute : absolute + "/") + "host-\(digest.prefix(12))-\(getpid()).ssh"
            guard let sharing = try? SSHSharing(controlPath: path) else { continue }
            let connection = SharedConnection(
                destination: destination, sharing: sharing, executor: executor, environment: settings.environment,
                observer: { [weak self] line in self?.note(line, for: destination) },
                rendering: settings.dryRun ? { _ in } : nil)
            connection.launch()
            lock.withLock { connections[destination] = connection }
        }
        // All the hosts' handshakes run at once; then each is waited for.
        for connection in lock.withLock({ Array(connections.values) }) { _ = connection.clientLocation() }
    }

    /// The shared connection to `destination`, and what its start logged (for each pair's log).
    func connection(for destination: SSHDestination) -> (connection: SharedConnection, log: [String])? {
        lock.withLock { connections[destination].map { ($0, messages[destination] ?? []) } }
    }

    /// Ends every master.
    public func closeAll() {
        for connection in lock.withLock({ Array(connections.values) }) { connection.close() }
    }

    private func note(_ line: String, for destination: SSHDestination) {
        lock.withLock { messages[destination, default: []].append(line) }
    }
}

extension Replicator {
    /// Shares one ssh connection among the source's control commands for this action. A dry run starts
    /// no master but prints the commands as its clients, as they would run. The control socket is
    /// `<run-dir>/<fingerprint prefix>.ssh`; when that path is too long for a socket, nothing is shared.
    public func shareSourceConnection() {
        if let shared = settings.connections?.connection(for: sourceSSH) {
            source.connection = shared.connection
            source.ownsConnection = false
            for line in shared.log { log.debug("run: \(line)") }
            if rendering {
                changes.note("control commands share the run's ssh connection to \(source.host): "
                    + Rendering.render(shared.connection.masterSpec) + " &")
            }
            return
        }
        let runDirectory = settings.files.runDirectory
        let absolute = runDirectory.hasPrefix("/")
            ? runDirectory : FileManager.default.currentDirectoryPath + "/" + runDirectory
        let name = String(pair.fingerprint.description.prefix(16)) + ".ssh"
        let path = (absolute.hasSuffix("/") ? absolute : absolute + "/") + name
        do {
            source.shareConnection(try SSHSharing(controlPath: path), rendering: rendering ? { [changes] in changes.note($0) } : nil)
        } catch {
            log.debug("no ssh connection sharing: \(error)")
        }
    }
}
