import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The simulated world the fake tools share: one directory (`ZFAKE_WORLD`) holding a zfs state file per
/// simulated host, the call log, the fault rules and their counters. `ZFAKE_HOST` names the host the
/// current process runs on (default `localhost`); the fake ssh sets it for the remote side.
struct FakeWorld {
    let directory: String
    let host: String

    static let worldVariable = "ZFAKE_WORLD"
    static let hostVariable = "ZFAKE_HOST"
    static let faultsVariable = "ZFAKE_FAULTS"

    /// The world of `ZFAKE_WORLD`, else the default world (`defaultDirectory`), so a first command
    /// works at once.
    static func fromEnvironment() -> FakeWorld {
        let environment = ProcessInfo.processInfo.environment
        let directory = environment[worldVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory(environment)
        let host = environment[hostVariable].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        return FakeWorld(directory: directory, host: host)
    }

    /// Without `ZFAKE_WORLD`: `$XDG_RUNTIME_DIR/zfake` when that directory exists (a per-user tmpfs on
    /// systemd hosts), else `/tmp/zfake-UID`. Created on first use.
    static func defaultDirectory(_ environment: [String: String]) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            var info = stat()
            if stat(runtime, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { return runtime + "/zfake" }
        }
        return "/tmp/zfake-\(getuid())"
    }

    /// The zfs/zpool state file of a simulated host.
    func stateFile(host: String) -> String { "\(directory)/hosts/\(host).json" }
    var callLog: String { "\(directory)/calls.log" }
    var faultsFile: String { "\(directory)/faults" }
    var faultCounters: String { "\(directory)/fault-counters.json" }

    /// Appends one JSON line per invocation: tool, host, argv, exit code, duration. Tests assert on it.
    /// Only into a world that exists: a call that found no world (usage, `--help`, a first question)
    /// leaves none behind.
    func logCall(tool: String, arguments: [String], exitCode: Int32, duration: Double, extra: [String: Any] = [:]) {
        var entry: [String: Any] = [
            "tool": tool, "host": host, "argv": arguments, "exit": Int(exitCode),
            "duration": (duration * 1e6).rounded() / 1e6, "pid": Int(getpid()),
            "time": Date().timeIntervalSince1970, "cpu": ownCPUSeconds(),
        ]
        entry.merge(extra) { _, new in new }
        var line = Data(CallLogLine.encode(entry).utf8)
        line.append(0x0a)
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let fd = open(callLog, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        FileLock.withLock(fd: fd) {
            line.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        }
    }
}

/// One call-log entry as a JSON object with sorted keys, written by hand: JSONSerialization costs a
/// fake call about a sixth of its CPU (dynamic casts of every value, cold in a process that lives for
/// milliseconds), and the fakes run thousands of times per test suite. Values are strings, integers,
/// doubles and string arrays; anything else is written as its description, a string.
enum CallLogLine {
    static func encode(_ entry: [String: Any]) -> String {
        "{" + entry.keys.sorted().map { key in string(key) + ":" + value(entry[key]!) }.joined(separator: ",") + "}"
    }

    static func value(_ value: Any) -> String {
        switch value {
        case let text as String: return string(text)
        case let number as Int: return String(number)
        case let number as Int32: return String(number)
        case let number as UInt64: return String(number)
        case let number as Double: return number.isFinite ? "\(number)" : "null"
        case let flag as Bool: return flag ? "true" : "false"
        case let words as [String]: return "[" + words.map(string).joined(separator: ",") + "]"
        default: return string(String(describing: value))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// `flock`-based exclusive locking for read-modify-write of shared files.
enum FileLock {
    static func withLock<T>(fd: Int32, _ body: () throws -> T) rethrows -> T {
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Locks `path + ".lock"` (created if needed) around `body`.
    static func withLock<T>(path: String, _ body: () throws -> T) rethrows -> T {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        precondition(fd >= 0, "cannot open lock file \(lockPath)")
        defer { close(fd) }
        return try withLock(fd: fd, body)
    }
}

/// Shell-style glob matching (`*`, `?`, `[...]`) through fnmatch(3).
func globMatches(_ pattern: String, _ text: String) -> Bool {
    fnmatch(pattern, text, 0) == 0
}

/// This process's CPU time so far (user and system), for the call log: the benchmarks tell the fakes'
/// cost from zettabee's with it.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let seconds = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    return ((seconds + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6) * 1e6).rounded() / 1e6
}
