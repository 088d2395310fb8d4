import Foundation
import GraphRunner
import Zettabee

extension ActionRunner {
    /// `unlock <destination>`: removes a lock left by a run that died; refuses while its holder lives.
    func unlock(_ pair: Pair) -> Int32 {
        let path = files.lockPath(for: pair.fingerprint)
        let inspection: PairLock.Inspection
        do {
            inspection = try PairLock.removeStale(path: path)
        } catch {
            return fail(pair, ActionError("\(error)"))
        }
        switch inspection {
        case .free:
            terminal.out("\(pair.destination.dataset): not locked")
            return 0
        case .held(let holder):
            return fail(pair, ActionError("refusing: the lock is held by a live run (\(describe(holder)))"))
        case .stale(let holder):
            let message = "removed the stale lock of a run that died (\(describe(holder)))"
            if let log = try? PairLog(path: files.logPath(for: pair.fingerprint), fingerprint: pair.fingerprint, debug: false, mirror: false) {
                log.warn("unlock: \(message)")
            }
            terminal.out("\(pair.destination.dataset): \(message)")
            return 0
        }
    }

    /// `purge <destination> [--dry-run]`: destroys the pair's surplus snapshots under the pair's lock.
    func purge(_ pair: Pair) -> Int32 {
        let log: PairLog
        let lock: PairLock
        switch openLogAndLock(pair, action: "purge", discardLog: options.dryRun, busy: { holder, log in
            log.info("purge skipped: another run holds the lock (\(describe(holder)))")
            terminal.err("zettabee: purge \(pair.destination.dataset): skipped, another run holds the lock (\(describe(holder)))")
            return 0
        }) {
        case .ended(let code): return code
        case .ready(let opened, let acquired): (log, lock) = (opened, acquired)
        }
        defer { lock.release() }
        do {
            let replicator = try Replicator(
                pair: pair, settings: ReplicationSettings(files: files, sshConfig: options.sshConfigPath, dryRun: options.dryRun),
                executor: executor, log: log)
            let outcome = try Purger(replicator: replicator, log: log).run(dryRun: options.dryRun)
            let verb = options.dryRun ? "would destroy" : "destroyed"
            let failed = Set(outcome.failures.map { $0.prefix { $0 != ":" } })
            for snapshot in outcome.plan.destination + outcome.plan.source where !failed.contains(Substring(snapshot.rawValue)) {
                terminal.out("\(verb) \(snapshot)")
            }
            for held in outcome.plan.keptHeld { terminal.out("kept \(held) (held)") }
            if !outcome.failures.isEmpty {
                return fail(pair, ActionError("could not destroy \(outcome.failures.joined(separator: "; "))"))
            }
            log.info("purge: \(verb) \(outcome.plan.destination.count) snapshot(s) on the destination, \(outcome.plan.source.count) on the source")
            return 0
        } catch {
            log.error("purge failed: \(error.message)")
            return fail(pair, error)
        }
    }

    /// `handback <destination>`: hands the pair back to the original Zettabee, which does not know
    /// holds: this pair's hold (`zettabee.<fp>`) is released from every snapshot of both trees that has
    /// it, under the pair's lock. Nothing else changes: snapshots, properties and data stay as the
    /// original expects them. (Any later zettabee run holds its base again.)
    func handBack(_ pair: Pair) -> Int32 {
        let log: PairLog
        let lock: PairLock
        switch openLogAndLock(pair, action: "handback", discardLog: false, busy: { holder, _ in
            fail(pair, ActionError("refusing: a run holds the lock (\(describe(holder)))"))
        }) {
        case .ended(let code): return code
        case .ready(let opened, let acquired): (log, lock) = (opened, acquired)
        }
        defer { lock.release() }
        do {
            let replicator = try Replicator(
                pair: pair, settings: ReplicationSettings(files: files, sshConfig: options.sshConfigPath), executor: executor, log: log)
            replicator.shareSourceConnection()
            defer { replicator.source.closeSharedConnection() }
            let released = try replicator.releaseEveryHold()
            let message = "released this pair's hold on \(released.count) snapshot(s); the original Zettabee can take the pair over"
            log.info("handback: \(message)" + (released.isEmpty ? "" : ": " + released.joined(separator: ", ")))
            terminal.out("\(pair.destination.dataset): \(message)")
            return 0
        } catch {
            log.error("handback failed: \(error.message)")
            return fail(pair, error)
        }
    }

    /// What `openLogAndLock` found: the pair's log and its lock, or the exit code the action ends with.
    enum LogAndLock {
        case ready(PairLog, PairLock)
        case ended(Int32)
    }

    /// Opens the pair's log (a discarding one for a dry run) and takes its lock for a maintenance
    /// action; `busy` decides what a held lock means for it.
    func openLogAndLock(
        _ pair: Pair, action: String, discardLog: Bool, busy: (LockHolder?, PairLog) -> Int32
    ) -> LogAndLock {
        SignalTrap.install()
        let log: PairLog
        do {
            log = discardLog
                ? PairLog(discardingFor: pair.fingerprint, mirror: options.verbose, debug: options.debug)
                : try PairLog(
                    path: files.logPath(for: pair.fingerprint), fingerprint: pair.fingerprint, debug: options.debug,
                    mirror: options.verbose)
        } catch {
            return .ended(fail(pair, ActionError("\(error); run 'zettabee setup' first?")))
        }
        do {
            switch try PairLock.acquire(path: files.lockPath(for: pair.fingerprint), action: action) {
            case .busy(let holder): return .ended(busy(holder, log))
            case .acquired(let lock, _): return .ready(log, lock)
            }
        } catch {
            log.error("\(action) refused: \(error)")
            return .ended(fail(pair, ActionError("\(error)")))
        }
    }

    func describe(_ holder: LockHolder?) -> String {
        guard let holder else { return "holder unknown" }
        let started = StatusFormatter.iso(Date(timeIntervalSince1970: holder.started))
        // The original Zettabee records no pid: its lock is a directory, its run a socket.
        if holder.pid == 0 { return "\(holder.action), since \(started)" }
        return "pid \(holder.pid), \(holder.action) started \(started)"
    }
}
