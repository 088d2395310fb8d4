import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The real-component environment started by `scripts/realenv.sh` (through `scripts/real-tier.sh`),
/// as described by the `ZB_*` variables it exports. Tests of the real tier skip without it.
struct RealEnvironment {
    let directory: String
    let sourcePool: String
    let destinationPool: String
    let sshConfig: String
    let sshSourceHost: String
    let sshPort: Int
    let nscaHost: String
    let nscaPort: Int
    let nscaConfig: String
    let nscaCommandFile: String
    /// The environment every child process gets: the test's own, with any fake tool directory
    /// removed from PATH so that only the real zfs, ssh, mbuffer and send_nsca are found.
    let processEnvironment: [String: String]

    /// The pid of the harness's sshd; changes when a test restarts it.
    nonisolated(unsafe) static var currentSSHDPid: Int32?

    /// The environment, or an XCTSkip naming what is missing.
    static func require() throws -> RealEnvironment {
        let env = ProcessInfo.processInfo.environment
        guard let directory = env["ZB_REAL_DIR"], !directory.isEmpty else {
            throw realTierSkip("real-component tier: ZB_REAL_DIR is not set (run scripts/test-real.sh, as root)")
        }
        func value(_ name: String) throws -> String {
            guard let text = env[name], !text.isEmpty else {
                throw realTierSkip("real-component tier: \(name) is not set although ZB_REAL_DIR is")
            }
            return text
        }
        func number(_ name: String) throws -> Int {
            guard let number = Int(try value(name)) else {
                throw realTierSkip("real-component tier: \(name) is not a number")
            }
            return number
        }
        var childEnvironment = env
        let path = (env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":")
            .filter { !$0.contains("fakebin") }.joined(separator: ":")
        childEnvironment["PATH"] = path
        childEnvironment["LC_ALL"] = "C"
        let environment = RealEnvironment(
            directory: directory,
            sourcePool: try value("ZB_SRC_POOL"),
            destinationPool: try value("ZB_DST_POOL"),
            sshConfig: try value("ZB_SSH_CONFIG"),
            sshSourceHost: try value("ZB_SSH_SRC"),
            sshPort: try number("ZB_SSH_PORT"),
            nscaHost: try value("ZB_NSCA_HOST"),
            nscaPort: try number("ZB_NSCA_PORT"),
            nscaConfig: try value("ZB_NSCA_CFG"),
            nscaCommandFile: try value("ZB_NSCA_COMMAND_FILE"),
            processEnvironment: childEnvironment)
        if currentSSHDPid == nil { currentSSHDPid = Int32(env["ZB_SSHD_PID"] ?? "") }
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.zettabee) else {
            throw realTierSkip("real-component tier: no built zettabee at \(PackagePaths.zettabee)")
        }
        return environment
    }

    /// A fresh per-test scratch directory below the environment's directory.
    func scratchDirectory(_ label: String) throws -> String {
        let path = "\(directory)/tests/\(label)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: processes

    /// Runs a program found on PATH, bounded by `timeout`.
    func run(_ program: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 60,
             file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutcome {
        try TestProcess.run(
            try executable(program), arguments, environment: processEnvironment, stdin: stdin, timeout: timeout,
            file: file, line: line)
    }

    /// Runs a program that must succeed; returns its stdout.
    @discardableResult
    func check(_ program: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 60,
               file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try run(program, arguments, stdin: stdin, timeout: timeout, file: file, line: line)
        guard outcome.exitCode == 0, !outcome.signaled else {
            throw RealTierError("\(program) \(arguments.joined(separator: " ")) failed (status \(outcome.exitCode)"
                + "\(outcome.signaled ? ", signal" : "")): \(outcome.stderr)\(outcome.stdout)")
        }
        return outcome.stdout
    }

    /// The absolute path of `program` on the children's PATH.
    func executable(_ program: String) throws -> String {
        if program.hasPrefix("/") { return program }
        for directory in (processEnvironment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw RealTierError("\(program) is not on PATH \(processEnvironment["PATH"] ?? "")")
    }

    // MARK: zfs

    @discardableResult
    func zfs(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try check("zfs", arguments, timeout: 60, file: file, line: line)
    }

    /// The exact value of `property` (`zfs get -Hp`); `-` when unset.
    func property(_ property: String, of dataset: String) throws -> String {
        try zfs("get", "-Hp", "-o", "value", property, dataset).trimmingCharacters(in: .newlines)
    }

    /// The exact GUID (only `zfs get -Hp` prints it unabbreviated with zfs-fuse).
    func guid(of dataset: String) throws -> String {
        let value = try property("guid", of: dataset)
        guard !value.isEmpty, value.allSatisfy(\.isNumber) else {
            throw RealTierError("guid of \(dataset) is not a number: \(value)")
        }
        return value
    }

    func exists(_ dataset: String) throws -> Bool {
        try run("zfs", ["list", "-H", "-o", "name", "-t", "all", dataset], timeout: 30).exitCode == 0
    }

    /// Short names (after `@`) of `dataset`'s snapshots, oldest first (by createtxg).
    func snapshots(of dataset: String) throws -> [String] {
        try zfs("list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-d", "1", dataset)
            .split(separator: "\n").map { line in
                guard let at = line.firstIndex(of: "@") else { return String(line) }
                return String(line[line.index(after: at)...])
            }
    }

    func mountpoint(of dataset: String) throws -> String {
        let path = try zfs("get", "-H", "-o", "value", "mountpoint", dataset).trimmingCharacters(in: .newlines)
        guard path.hasPrefix("/") else { throw RealTierError("\(dataset) has no mountpoint: \(path)") }
        return path
    }

    /// `zfs destroy -r`, retried while zfs-fuse calls the dataset busy (as it does right after a receive).
    /// With `allowBusy`, a dataset still busy after 10 s is reported and left (the pool goes at teardown).
    func destroy(_ dataset: String, allowBusy: Bool = false) {
        guard (try? exists(dataset)) == true else { return }
        var last = ""
        let succeeded = poll(timeout: allowBusy ? 10 : 30, interval: 0.2) {
            guard let outcome = try? run("zfs", ["destroy", "-r", dataset], timeout: 60) else { return false }
            last = outcome.stderr
            return outcome.exitCode == 0 || (try? exists(dataset)) == false
        }
        if !succeeded {
            if allowBusy && last.contains("dataset is busy") {
                print("left for the pool's teardown, zfs-fuse calls it busy: \(dataset): \(last)")
            } else {
                XCTFail("could not destroy \(dataset): \(last)")
            }
        }
    }

    /// `zfs unmount` and `zfs mount`, the unmount retried while zfs-fuse calls the dataset busy.
    func remount(_ dataset: String) throws {
        var last = ""
        let unmounted = poll(timeout: 20, interval: 0.2) {
            let outcome = try run("zfs", ["unmount", dataset], timeout: 60)
            last = outcome.stderr
            return outcome.exitCode == 0
        }
        guard unmounted else { throw RealTierError("zfs unmount \(dataset): \(last)") }
        try zfs("mount", dataset)
    }

    // MARK: sshd

    /// Stops the harness's sshd (by pid), waiting until its port no longer listens.
    func stopSSHD() throws {
        guard let pid = RealEnvironment.currentSSHDPid, pid > 0 else { throw RealTierError("the sshd pid is unknown") }
        guard kill(pid, SIGTERM) == 0 else { throw RealTierError("kill \(pid) failed: errno \(errno)") }
        guard poll(timeout: 15, { !TCP.isListening(port: sshPort) }) else {
            throw RealTierError("sshd \(pid) still listens on \(sshPort) after SIGTERM")
        }
    }

    /// Starts the harness's sshd again (same configuration and port) unless it is running.
    func ensureSSHD() throws {
        if TCP.isListening(port: sshPort) { return }
        let script = PackagePaths.root.appendingPathComponent("scripts/realenv.sh").path
        let outcome = try TestProcess.run(
            "/bin/bash", [script, "restart-sshd", directory], environment: processEnvironment, timeout: 60)
        guard outcome.exitCode == 0, let pid = Int32(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw RealTierError("realenv.sh restart-sshd failed (\(outcome.exitCode)): \(outcome.stderr)")
        }
        RealEnvironment.currentSSHDPid = pid
    }
}

struct RealTierError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` seconds pass; true when it held.
@discardableResult
func poll(timeout: Double, interval: Double = 0.05, _ condition: () throws -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if (try? condition()) == true { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// TCP sockets as /proc/net/tcp{,6} show them.
enum TCP {
    struct Socket {
        var localPort: Int
        var state: String
    }

    static func sockets() -> [Socket] {
        var result: [Socket] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, let colon = fields[1].lastIndex(of: ":"),
                      let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
                else { continue }
                result.append(Socket(localPort: port, state: String(fields[3])))
            }
        }
        return result
    }

    static func isListening(port: Int) -> Bool {
        sockets().contains { $0.localPort == port && $0.state == "0A" }
    }

    static func hasEstablished(port: Int) -> Bool {
        sockets().contains { $0.localPort == port && $0.state == "01" }
    }

    /// A port in 20000–32767 (below the ephemeral range) that no socket uses at the moment.
    static func freePort() throws -> Int {
        let used = Set(sockets().map(\.localPort))
        for _ in 0..<500 {
            let port = Int.random(in: 20000...32767)
            if !used.contains(port) { return port }
        }
        throw RealTierError("no free TCP port found")
    }
}

/// Processes as /proc shows them.
enum ProcTable {
    struct Entry {
        var pid: Int32
        var arguments: [String]
    }

    static func all() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name in
            guard let pid = Int32(name),
                  let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"), !data.isEmpty
            else { return nil }
            let arguments = data.split(separator: 0, omittingEmptySubsequences: false).dropLast()
                .map { String(decoding: $0, as: UTF8.self) }
            return Entry(pid: pid, arguments: Array(arguments))
        }
    }

    /// Bytes the process has read so far with read(2) and friends (`rchar` of /proc/PID/io).
    static func bytesRead(pid: Int32) -> Int? { ioCounter("rchar", pid: pid) }

    /// The parent's pid (`PPid` of /proc/PID/status).
    static func parent(of pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("PPid:") {
            return Int32(line.dropFirst("PPid:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Whether `pid` descends from `ancestor`.
    static func descends(_ pid: Int32, from ancestor: Int32) -> Bool {
        var current = pid
        for _ in 0..<64 {
            guard let parent = parent(of: current), parent > 1 else { return false }
            if parent == ancestor { return true }
            current = parent
        }
        return false
    }

    private static func ioCounter(_ name: String, pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("\(name):") {
            return Int(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Bytes the process has written so far with write(2) and friends (`wchar` of /proc/PID/io;
    /// an mbuffer listener's socket input is not counted in `rchar`, its output pipe is in `wchar`).
    static func bytesWritten(pid: Int32) -> Int? { ioCounter("wchar", pid: pid) }
}

/// A child process started now and waited for later (the mbuffer test kills a grandchild meanwhile).
final class BackgroundProcess: @unchecked Sendable {
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let readers = DispatchGroup()
    private var stdoutData = Data(), stderrData = Data()
    let description: String

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        description = ([executable] + arguments).joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.terminationHandler = { [exited] _ in exited.signal() }
        DispatchQueue.global().async(group: readers) { [self] in
            stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        }
        DispatchQueue.global().async(group: readers) { [self] in
            stderrData = err.fileHandleForReading.readDataToEndOfFile()
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits at most `timeout` seconds; on timeout kills the child and fails the test.
    func wait(timeout: Double, file: StaticString = #filePath, line: UInt = #line) -> ProcessOutcome {
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            XCTFail("\(description) did not finish within \(timeout) s", file: file, line: line)
        }
        _ = readers.wait(timeout: .now() + 5)
        return ProcessOutcome(
            exitCode: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
