import Foundation
import GraphRunner
#if canImport(Glibc)
import Glibc
#endif

/// Who holds (or last held) a pair's lock, as recorded in the lock file.
public struct LockHolder: Hashable, Sendable {
    public var pid: Int32
    /// When the holder started, seconds since the epoch.
    public var started: Double
    /// The action the holder runs (`update`, `initialize`).
    public var action: String
    /// The holder's child processes as `pid:starttime` (see `ProcessIdentity`), recorded as they started,
    /// so that the run after a killed one can stop what it left running.
    public var children: [String]

    public init(pid: Int32, started: Double, action: String, children: [String] = []) {
        self.pid = pid
        self.started = started
        self.action = action
        self.children = children
    }

    var fileText: String {
        "pid=\(pid)\nstarted=\(Int(started))\naction=\(action)\n" + children.map { "child=\($0)\n" }.joined()
    }

    static func parse(_ text: String) -> LockHolder? {
        var fields: [String: String] = [:]
        var children: [String] = []
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            if key == "child" { children.append(value) } else { fields[key] = value }
        }
        guard let pid = fields["pid"].flatMap({ Int32($0) }), let started = fields["started"].flatMap({ Double($0) })
        else { return nil }
        return LockHolder(pid: pid, started: started, action: fields["action"] ?? "?", children: children)
    }
}

/// A pair's lock: `<run-dir>/<fp>.lck`, held with `flock` for as long as the run lives and recording the
/// holder's pid, start time and action. The kernel drops the `flock` when the holder dies, so a lock file
/// whose lock is free but which still names a holder was left by a run that was killed: it is *stale*.
public final class PairLock: @unchecked Sendable {
    public enum Acquisition {
        /// Acquired. `staleHolder` is the killed run whose leftover file was found (and is now replaced).
        case acquired(PairLock, staleHolder: LockHolder?)
        /// A live run holds it.
        case busy(LockHolder?)
    }

    /// What a lock file says when nobody is trying to take it.
    public enum Inspection: Equatable, Sendable {
        case free
        case held(LockHolder?)
        case stale(LockHolder?)
    }

    public let path: String
    private var fd: Int32
    /// Guards `fd`: children are recorded from the runner's spawning thread.
    private let guardLock = NSLock()

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Tries to take the lock without waiting. The original Zettabee's lock (a directory at `path`)
    /// is busy while its run lives, and a `LockError` saying what to do once that run died.
    public static func acquire(path: String, action: String, now: Double = Date().timeIntervalSince1970) throws -> Acquisition {
        if let original = OriginalLock(lockPath: path) {
            if original.isLive { return .busy(original.holder) }
            throw LockError(
                path: path,
                reason: "the original Zettabee left its lock (the directory \(path)/) and no run of it is alive "
                    + "(no \(original.socketPath)); check the pair, then remove the lock with zettabee unlock")
        }
        var fd: Int32 = -1
        while true {
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw LockError(path: path, reason: String(cString: strerror(errno)))
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let holder = LockHolder.parse(readAll(fd))
                close(fd)
                return .busy(holder)
            }
            // A releasing holder unlinks the file: make sure the file locked is still the one at `path`.
            if isStillAtPath(fd: fd, path: path) { break }
            close(fd)
        }
        let previous = readAll(fd)
        let stale = previous.isEmpty ? nil : (LockHolder.parse(previous) ?? LockHolder(pid: 0, started: 0, action: "?"))
        let holder = LockHolder(pid: getpid(), started: now, action: action)
        _ = ftruncate(fd, 0)
        let text = Array(holder.fileText.utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return .acquired(PairLock(path: path, fd: fd), staleHolder: stale)
    }

    /// Looks at a lock file without disturbing a live holder.
    public static func inspect(path: String) -> Inspection {
        if let original = OriginalLock(lockPath: path) { return original.isLive ? .held(original.holder) : .stale(original.holder) }
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return .free }
        defer { close(fd) }
        let text = readAll(fd)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 { return .held(LockHolder.parse(text)) }
        flock(fd, LOCK_UN)
        return text.isEmpty ? .free : .stale(LockHolder.parse(text))
    }

    /// Removes a stale lock file (or the original Zettabee's lock directory and its socket). Refuses
    /// (returns the holder) while a live run holds it.
    public static func removeStale(path: String) throws -> Inspection {
        if let original = OriginalLock(lockPath: path) {
            guard !original.isLive else { return .held(original.holder) }
            unlink(original.socketPath)
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw LockError(path: path, reason: "cannot remove the original Zettabee's lock directory: \(SystemErrorText.describe(error))")
            }
            return .stale(original.holder)
        }
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return .free }
        defer { close(fd) }
        let text = readAll(fd)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 { return .held(LockHolder.parse(text)) }
        unlink(path)
        return text.isEmpty ? .free : .stale(LockHolder.parse(text))
    }

    /// Adds a child process (`pid:starttime`) to the lock file.
    public func recordChild(_ identity: String) {
        guardLock.lock()
        defer { guardLock.unlock() }
        guard fd >= 0 else { return }
        let line = Array("child=\(identity)\n".utf8)
        lseek(fd, 0, SEEK_END)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Ends the run's hold: the file is emptied and removed, then the lock dropped.
    public func release() {
        guardLock.lock()
        defer { guardLock.unlock() }
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        unlink(path)
        close(fd)
        fd = -1
    }

    private static func isStillAtPath(fd: Int32, path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }

    private static func readAll(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: bytes[..<count], as: UTF8.self) : ""
    }
}

public struct LockError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot open lock file \(path): \(reason)" }
}

/// The original Zettabee's lock: the directory `<run-dir>/<fp>.lck/` (made with mkdir), its run alive
/// while its status socket `<run-dir>/<fp>.zmq` exists. A socket file that no process has bound (a run
/// killed before it could remove it, seen in /proc/net/unix) counts as dead; any other file there as alive,
/// as the original itself judges.
public struct OriginalLock: Sendable {
    public let lockPath: String
    public let socketPath: String

    /// nil unless `lockPath` is a directory.
    public init?(lockPath: String) {
        var info = stat()
        guard lstat(lockPath, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        self.lockPath = lockPath
        let base = lockPath.hasSuffix(".lck") ? String(lockPath.dropLast(4)) : lockPath
        socketPath = base + ".zmq"
    }

    public var isLive: Bool {
        var info = stat()
        guard lstat(socketPath, &info) == 0 else { return false }
        if (info.st_mode & S_IFMT) != S_IFSOCK { return true }
        return Self.boundSocketPaths().contains(socketPath)
    }

    /// Shown as the holder: the original run, started when its socket (or else its lock) appeared.
    public var holder: LockHolder {
        var info = stat()
        let started = lstat(socketPath, &info) == 0 || lstat(lockPath, &info) == 0 ? Double(info.st_ctim.tv_sec) : 0
        return LockHolder(pid: 0, started: started, action: "original Zettabee")
    }

    /// The paths of the Unix sockets some process has bound, from /proc/net/unix.
    static func boundSocketPaths() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else { return [] }
        var paths = Set<String>()
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 8, fields[7].hasPrefix("/") { paths.insert(String(fields[7])) }
        }
        return paths
    }
}
