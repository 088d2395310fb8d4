import CommandGraph
import Foundation
import GraphRunner
import Zettabee

/// Where an action writes: stdout for results, stderr for the one-line errors.
public struct Terminal: @unchecked Sendable {
    public var out: (String) -> Void
    public var err: (String) -> Void

    public static let standard = Terminal(
        out: { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) },
        err: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.out = out
        self.err = err
    }
}

/// Runs one parsed action and returns zettabee's exit code: 0 success, 1 the operation failed,
/// 2 usage or configuration error, 128+N after signal N.
public struct ActionRunner {
    let invocation: Invocation
    let terminal: Terminal
    let executor: any GraphExecuting

    public init(invocation: Invocation, terminal: Terminal = .standard, executor: any GraphExecuting = ProcessRunner()) {
        self.invocation = invocation
        self.terminal = terminal
        self.executor = executor
    }

    public func run() -> Int32 {
        switch invocation.action {
        case .setup: return setup()
        case .fingerprint: return withPairs { pairs in fingerprint(pairs) }
        case .logfile: return withPairs { pairs in
            terminal.out(files.logPath(for: pairs[0].fingerprint))
            return 0
        }
        case .initialize, .update: return withPairs { pairs in options.all ? replicateAll(pairs) : replicate(pairs[0]) }
        case .status, .runstatus, .unlock, .purge, .check:
            return fail(nil, ActionError("action '\(invocation.action.rawValue)' is not available", exitCode: 2, nagios: .unknown))
        }
    }

    var options: Options { invocation.options }
    var files: PairFiles { PairFiles(runDirectory: options.runDirectory, logDirectory: options.logDirectory) }
    var actionName: String { invocation.action.rawValue }

    // MARK: actions

    func setup() -> Int32 {
        let manager = FileManager.default
        let configDirectory = (options.configPath as NSString).deletingLastPathComponent
        let directories: [(String, Int?)] = [
            (configDirectory.isEmpty ? "." : configDirectory, nil), (options.runDirectory, 0o700), (options.logDirectory, 0o700),
        ]
        for (path, mode) in directories {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
                if let mode { try manager.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
            } catch {
                return fail(nil, ActionError("cannot create \(path): \(describe(error))"))
            }
        }
        return 0
    }

    func fingerprint(_ pairs: [Pair]) -> Int32 {
        if invocation.destination != nil {
            terminal.out(pairs[0].fingerprint.description)
        } else {
            for pair in pairs { terminal.out("\(pair.fingerprint)  \(pair.source)  \(pair.destination)") }
        }
        return 0
    }

    func replicate(_ pair: Pair) -> Int32 {
        SignalTrap.install()
        let log: PairLog
        if options.dryRun {
            log = PairLog(discardingFor: pair.fingerprint, mirror: options.verbose, debug: options.debug)
        } else {
            do {
                log = try PairLog(
                    path: files.logPath(for: pair.fingerprint), fingerprint: pair.fingerprint, debug: options.debug,
                    mirror: options.verbose)
            } catch {
                return fail(pair, ActionError("\(error); run 'zettabee setup' first?"))
            }
        }
        var lock: PairLock?
        if !options.dryRun {
            do {
                switch try PairLock.acquire(path: files.lockPath(for: pair.fingerprint), action: actionName) {
                case .busy(let holder):
                    let who = holder.map { "pid \($0.pid), \($0.action) started \(Date(timeIntervalSince1970: $0.started))" } ?? "unknown holder"
                    log.info("\(actionName) skipped: another run holds the lock (\(who))")
                    return 0
                case .acquired(let acquired, let stale):
                    lock = acquired
                    if let stale {
                        log.warn("found a stale lock of pid \(stale.pid) (\(stale.action)); that run died, recovering")
                        let leftovers = stale.children.compactMap { ProcessIdentity($0) }
                        for process in Leftovers.terminate(leftovers) {
                            log.warn("stopped process \(process.pid) left running by the dead run")
                        }
                    }
                }
            } catch {
                return fail(pair, ActionError("\(error)"))
            }
        }
        defer { lock?.release() }
        log.info("\(actionName) started (pid \(getpid()))")
        do {
            var settings = ReplicationSettings(
                files: files, sshConfig: options.sshConfigPath, dryRun: options.dryRun, forceRollback: options.forceRollback)
            let recorder = lock
            settings.childStarted = { pid in
                if let identity = ProcessIdentity.of(pid: pid) { recorder?.recordChild(identity.description) }
            }
            let replicator = try Replicator(
                pair: pair, settings: settings, executor: executor, log: log, dryRunOutput: terminal.out)
            replicator.shareSourceConnection()
            defer { replicator.source.closeSharedConnection() }
            _ = invocation.action == .initialize ? try replicator.initialize() : try replicator.update()
            return 0
        } catch {
            log.error("\(actionName) failed: \(error.message)")
            if let details = error.details { log.writeLines(.debug, details) }
            lock?.release()
            if let signal = error.signal ?? SignalTrap.pendingSignal {
                terminal.err("zettabee: error: \(actionName) \(pair.destination.dataset): \(error.message)")
                return 128 + signal
            }
            return fail(pair, error)
        }
    }

    // MARK: helpers

    /// Loads the configuration and resolves the destination (all pairs when none is given and the
    /// action allows it), then runs `body`.
    func withPairs(_ body: ([Pair]) -> Int32) -> Int32 {
        let text: String
        do {
            text = try String(contentsOfFile: options.configPath, encoding: .utf8)
        } catch {
            return fail(nil, ActionError("cannot read configuration \(options.configPath): \(describe(error))", exitCode: 2, nagios: .unknown))
        }
        let pairs: [Pair]
        do {
            pairs = try ConfigParser.parse(fileName: options.configPath, text: text)
        } catch {
            for line in error.description.split(separator: "\n") { terminal.err("zettabee: error: \(line)") }
            return 2
        }
        guard let destination = invocation.destination else {
            if invocation.action.requiresDestination && !options.all {
                return fail(nil, ActionError("a destination is required", exitCode: 2, nagios: .unknown))
            }
            return body(pairs)
        }
        do {
            return body([try DestinationResolver.resolve(destination, in: pairs)])
        } catch {
            return fail(nil, ActionError(error.description, exitCode: 2, nagios: .unknown))
        }
    }

    /// Prints `zettabee: error: ACTION DEST: reason` and returns the error's exit code.
    func fail(_ pair: Pair?, _ error: ActionError) -> Int32 {
        var subject = actionName
        if let pair { subject += " \(pair.destination.dataset)" } else if let destination = invocation.destination {
            subject += " \(destination)"
        }
        terminal.err("zettabee: error: \(subject): \(error.message)")
        return error.exitCode
    }

    func describe(_ error: Error) -> String {
        (error as NSError).localizedDescription
    }
}
