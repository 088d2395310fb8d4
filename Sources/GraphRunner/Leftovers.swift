import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process recorded by pid and start time, so that it can be recognised later without mistaking a
/// reused pid for it.
public struct ProcessIdentity: Hashable, Sendable, CustomStringConvertible {
    public var pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot.
    public var startTicks: UInt64

    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    /// The identity of a running process, nil when it is gone.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard let stat = ProcFS.readSmallFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, start time field 22 → index 19 here.
        guard fields.count > 19, let ticks = UInt64(fields[19]) else { return nil }
        return ProcessIdentity(pid: pid, startTicks: ticks)
    }

    /// `pid:startTicks`, as written into lock files.
    public var description: String { "\(pid):\(startTicks)" }

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 1, let ticks = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTicks: ticks)
    }

    /// True while this very process (same pid, same start time) exists, zombies excepted.
    public var isRunning: Bool {
        ProcessIdentity.of(pid: pid) == self && ProcFS.isAlive(pid: pid)
    }
}

/// Cleans up after a zettabee that was killed outright: its children were in their own process groups
/// and may still run (an ssh, a `zfs receive`, an mbuffer waiting for a sender).
public enum Leftovers {
    /// Sends SIGTERM to each leftover's process group, SIGKILL after `gracePeriod`, and waits until they
    /// are gone (at most `gracePeriod` more). Returns the ones that were still running.
    @discardableResult
    public static func terminate(_ leftovers: [ProcessIdentity], gracePeriod: Double = 5) -> [ProcessIdentity] {
        let running = leftovers.filter(\.isRunning)
        guard !running.isEmpty else { return [] }
        for process in running { signalGroupOrProcess(process.pid, SIGTERM) }
        if !waitUntilGone(running, seconds: gracePeriod) {
            for process in running where process.isRunning { signalGroupOrProcess(process.pid, SIGKILL) }
            _ = waitUntilGone(running, seconds: gracePeriod)
        }
        return running
    }

    /// Each child of the runner leads its own process group; signal the group, or the process if it
    /// no longer leads one.
    static func signalGroupOrProcess(_ pid: Int32, _ signal: Int32) {
        if getpgid(pid) == pid { kill(-pid, signal) } else { kill(pid, signal) }
    }

    static func waitUntilGone(_ processes: [ProcessIdentity], seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if processes.allSatisfy({ !$0.isRunning }) { return true }
            usleep(20_000)
        }
        return processes.allSatisfy { !$0.isRunning }
    }
}
