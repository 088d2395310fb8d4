import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A pair's log, `<log-dir>/<fp>.log`: appended, never truncated, one line per event in the form
/// `[timestamp] zettabee:<fp> [pid] LEVEL msg`. With `mirror`, lines at or above `mirrorLevel` are also
/// written to stderr (`-v`).
public final class PairLog: @unchecked Sendable {
    public let path: String?
    let fingerprint: Fingerprint
    let minimumLevel: LogLevel
    let mirrorLevel: LogLevel?
    private let fd: Int32
    private let lock = NSLock()

    /// Opens (creating) the log for appending. Throws when the file cannot be opened.
    public init(path: String, fingerprint: Fingerprint, debug: Bool, mirror: Bool) throws(LogError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw LogError(path: path, reason: String(cString: strerror(errno))) }
        self.path = path
        self.fd = fd
        self.fingerprint = fingerprint
        self.minimumLevel = debug ? .debug : .info
        self.mirrorLevel = mirror ? (debug ? .debug : .info) : nil
    }

    /// A log that writes nowhere (dry runs keep the log untouched).
    public init(discardingFor fingerprint: Fingerprint, mirror: Bool = false, debug: Bool = false) {
        self.path = nil
        self.fd = -1
        self.fingerprint = fingerprint
        self.minimumLevel = debug ? .debug : .info
        self.mirrorLevel = mirror ? (debug ? .debug : .info) : nil
    }

    deinit { if fd >= 0 { close(fd) } }

    public func debug(_ message: String) { write(.debug, message) }
    public func info(_ message: String) { write(.info, message) }
    public func warn(_ message: String) { write(.warn, message) }
    public func error(_ message: String) { write(.error, message) }

    public func write(_ level: LogLevel, _ message: String, date: Date = Date()) {
        let line = LogLine.format(date: date, fingerprint: fingerprint, pid: getpid(), level: level, message: message) + "\n"
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0, level >= minimumLevel {
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
        if let mirrorLevel, level >= mirrorLevel {
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Logs every line of a multi-line text (a stderr tail, a command's details) at `level`.
    public func writeLines(_ level: LogLevel, _ text: String, indent: String = "  ") {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            write(level, indent + line)
        }
    }
}

public struct LogError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot open log file \(path): \(reason)" }
}
