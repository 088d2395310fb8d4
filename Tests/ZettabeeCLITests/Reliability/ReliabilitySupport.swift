import Foundation
import GraphRunner
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A zettabee started in the background, to be signalled while it runs.
final class SignalledRun {
    let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let readers = DispatchGroup()
    private let stdoutData = DataBox(), stderrData = DataBox()
    private let pipes = [Pipe(), Pipe()]
    private var finished = false

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = pipes[0], err = pipes[1]
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [exited] _ in exited.signal() }
        DispatchQueue.global().async(group: readers) { [stdoutData] in stdoutData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: readers) { [stderrData] in stderrData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits at most `seconds` for the process to end; nil when it did not (it is then killed).
    func wait(seconds: Double) -> ProcessOutcome? {
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            _ = readers.wait(timeout: .now() + 5)
            closeHandles(of: pipes)
            return nil
        }
        _ = readers.wait(timeout: .now() + 5)
        closeHandles(of: pipes)
        return ProcessOutcome(
            exitCode: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdoutData.get(), as: UTF8.self),
            stderr: String(decoding: stderrData.get(), as: UTF8.self))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Whether `pid` runs. A killed orphan stays a zombie until whoever adopted it reaps it; it holds
/// nothing any more, so it counts as gone (as for zettabee's own clean-up of leftovers).
func isRunning(_ pid: Int32) -> Bool {
    ProcessIdentity.of(pid: pid)?.isRunning ?? false
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
@discardableResult
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A private simulated world for zettabee: a source host `src` with `tank/data`, a destination host
/// `backup` with pool `backup`, a configuration, run and log directories, and ways to run zettabee and
/// the fake tools against them and to inspect what happened.
final class ReliabilityWorld {
    let root: String
    let world: String
    let runDirectory: String
    let logDirectory: String
    let configPath: String
    var environment: [String: String]
    /// A free TCP port for the mbuffer transport.
    let port: Int

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.zettabee),
              FileManager.default.isExecutableFile(atPath: PackagePaths.zfake)
        else { throw TierMissing("zettabee or zfake is not built") }
        root = NSTemporaryDirectory() + "zb-rel-" + UUID().uuidString.prefix(8)
        world = root + "/world"
        runDirectory = root + "/run"
        logDirectory = root + "/log"
        configPath = root + "/zettabee.cfg"
        for directory in [world, runDirectory, logDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try "password=x\n".write(toFile: root + "/send_nsca.cfg", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("ZFAKE_") || key.hasPrefix("ZETTABEE_") { env[key] = nil }
        env["PATH"] = PackagePaths.fakeBin + ":/usr/bin:/bin"
        env["ZFAKE_WORLD"] = world
        env["ZFAKE_HOST"] = "backup"
        env["ZFAKE_BIN"] = PackagePaths.zfake
        env["TZ"] = "UTC"
        environment = env
        port = ReliabilityWorld.freePort()
    }

    deinit {
        // Nothing of this world may outlive the test.
        for pid in strayProcesses() { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: root)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        return port > 0 ? port : Int.random(in: 20_000...40_000)
    }

    // MARK: setup

    /// The standard pair: `src:tank/data` into `backup:backup/data`, over mbuffer on `port` unless
    /// `options` say otherwise.
    func standardSetup(options: String? = nil, sourceSize: String = "20M") throws {
        try ctl("src", "create-pool", "tank")
        try ctl("src", "create", "tank/data")
        try ctl("src", "write", "tank/data", sourceSize)
        try ctl("backup", "create-pool", "backup")
        try writeConfig("src:tank/data backup:backup/data \(options ?? "port=\(port),stall=20s")\n")
    }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `zfake-ctl --host HOST ARGS…`, which must succeed.
    func ctl(_ host: String, _ arguments: String...) throws {
        let outcome = try fake("zfake-ctl", ["--host", host] + arguments)
        guard outcome.exitCode == 0 else {
            throw ReliabilityError("zfake-ctl \(host) \(arguments) failed: \(outcome.stderr)")
        }
    }

    func fault(_ json: String) throws { try ctl("backup", "fault-add", json) }
    func clearFaults() throws { try ctl("backup", "fault-clear") }

    /// A fake tool as if run on `host`.
    func fake(_ tool: String, _ arguments: [String], host: String = "backup") throws -> ProcessOutcome {
        var env = environment
        env["ZFAKE_HOST"] = host
        return try TestProcess.run(PackagePaths.fakeBin + "/" + tool, arguments, environment: env, timeout: 30)
    }

    /// `zfs ARGS…` on `host`, which must succeed; its stdout.
    @discardableResult
    func zfs(_ host: String, _ arguments: String...) throws -> String {
        let outcome = try fake("zfs", arguments, host: host)
        guard outcome.exitCode == 0 else { throw ReliabilityError("zfs \(arguments) on \(host) failed: \(outcome.stderr)") }
        return outcome.stdout
    }

    // MARK: running zettabee

    var baseArguments: [String] { ["-c", configPath, "--run-dir", runDirectory, "--log-dir", logDirectory] }

    /// Every run of `initialize` and `update` reports to Nagios through the fake send_nsca.
    var nagiosArguments: [String] { ["-N", "nagios.example", "--send-nsca-config", root + "/send_nsca.cfg"] }

    func arguments(_ arguments: [String]) -> [String] {
        guard let action = arguments.first, ["initialize", "update"].contains(action) else { return baseArguments + arguments }
        return baseArguments + nagiosArguments + arguments
    }

    /// The results the fake send_nsca received: (code, output), oldest first.
    func nagiosResults() -> [(code: Int, output: String)] {
        let text = (try? String(contentsOfFile: world + "/nsca.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["code"] as? Int ?? -1, object["output"] as? String ?? "")
        }
    }

    /// The last run sent exactly one result, with `code` (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    func assertNagios(_ code: Int, after count: Int, prefix: String = "UPDATE backup/data: ",
                      file: StaticString = #filePath, line: UInt = #line) {
        let results = nagiosResults().dropFirst(count)
        XCTAssertEqual(results.count, 1, "results sent: \(results.map(\.output))", file: file, line: line)
        XCTAssertEqual(results.last?.code, code, "\(results.map(\.output))", file: file, line: line)
        XCTAssertTrue(results.last?.output.hasPrefix(prefix) ?? false, "\(results.map(\.output))", file: file, line: line)
    }

    func zettabee(_ arguments: String..., timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutcome {
        try TestProcess.run(
            PackagePaths.zettabee, self.arguments(arguments), environment: environment, timeout: timeout, file: file, line: line)
    }

    func start(_ arguments: String...) throws -> SignalledRun {
        try SignalledRun(PackagePaths.zettabee, self.arguments(arguments), environment: environment)
    }

    /// Initializes the standard pair, and checks it worked.
    func initialize(file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try zettabee("initialize", "backup/data", file: file, line: line)
        guard outcome.exitCode == 0 else { throw ReliabilityError("initialize failed: \(outcome.stderr)") }
    }

    // MARK: inspecting

    var fingerprint: String {
        get throws {
            let outcome = try zettabee("fingerprint", "backup/data")
            return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    var lockPath: String { get throws { runDirectory + "/" + (try fingerprint) + ".lck" } }
    var logText: String { get throws { (try? String(contentsOfFile: logDirectory + "/" + (try fingerprint) + ".log", encoding: .utf8)) ?? "" } }

    /// The pids recorded as `child=` in the lock file.
    func lockChildren() throws -> [Int32] {
        let text = (try? String(contentsOfFile: try lockPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("child=") else { return nil }
            return Int32(line.dropFirst(6).split(separator: ":").first ?? "")
        }
    }

    /// Snapshot name → (guid, holds) of `dataset` on `host`, from the fake's state.
    func snapshots(_ host: String, _ dataset: String) throws -> [String: (guid: String, holds: [String])] {
        let outcome = try fake("zfake-ctl", ["--host", host, "dump"])
        guard let state = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
              let datasets = state["datasets"] as? [String: Any]
        else { throw ReliabilityError("unreadable dump of \(host)") }
        guard let entry = datasets[dataset] as? [String: Any] else { return [:] }
        var result: [String: (guid: String, holds: [String])] = [:]
        for case let snapshot as [String: Any] in entry["snapshots"] as? [Any] ?? [] {
            let name = snapshot["name"] as? String ?? "?"
            let holds = (snapshot["holds"] as? [String: Any] ?? [:]).keys.sorted()
            result[name] = ("\(snapshot["guid"] ?? "")", holds)
        }
        return result
    }

    /// `lastsnap` as recorded on `host` (local property of the pair's filesystem).
    func lastSnapshot(_ host: String, _ dataset: String) throws -> String? {
        let out = try zfs(host, "get", "-H", "-o", "value", "zettabee:\(try fingerprint):lastsnap", dataset)
        let value = out.trimmingCharacters(in: .whitespacesAndNewlines)
        return value == "-" ? nil : value
    }

    /// The base as both sides record it; fails the test unless it is one snapshot that both sides hold,
    /// with the same GUID and the pair's hold on both.
    @discardableResult
    func assertBaseIntact(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let base = try XCTUnwrap(try lastSnapshot("backup", "backup/data"), "no base recorded on the destination", file: file, line: line)
        XCTAssertEqual(try lastSnapshot("src", "tank/data"), base, "the sides record different bases", file: file, line: line)
        let tag = "zettabee.\(try fingerprint)"
        let source = try snapshots("src", "tank/data")[base]
        let destination = try snapshots("backup", "backup/data")[base]
        XCTAssertNotNil(source, "base \(base) is gone from the source", file: file, line: line)
        XCTAssertNotNil(destination, "base \(base) is gone from the destination", file: file, line: line)
        XCTAssertEqual(source?.guid, destination?.guid, "base GUIDs differ", file: file, line: line)
        XCTAssertEqual(source?.holds, [tag], "source base not held", file: file, line: line)
        XCTAssertEqual(destination?.holds, [tag], "destination base not held", file: file, line: line)
        return base
    }

    /// The call log's entries (one per fake tool invocation that ended).
    func calls() -> [(tool: String, host: String, argv: [String], exit: Int, pid: Int32)] {
        guard let text = try? String(contentsOfFile: world + "/calls.log", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["tool"] as? String ?? "", object["host"] as? String ?? "", object["argv"] as? [String] ?? [],
                    object["exit"] as? Int ?? -1, Int32(object["pid"] as? Int ?? 0))
        }
    }

    /// zfs calls on `host` whose subcommand is one of `subcommands`, logged after entry `from`.
    func zfsCalls(_ subcommands: Set<String>, from: Int = 0, host: String? = nil) -> [[String]] {
        calls().dropFirst(from).filter { call in
            call.tool == "zfs" && (host == nil || call.host == host) && subcommands.contains(call.argv.first ?? "")
        }.map(\.argv)
    }

    /// Live processes of this world (any process whose environment names it), zombies excepted.
    func strayProcesses() -> [Int32] {
        let marker = Array("ZFAKE_WORLD=\(world)\u{0}".utf8)
        let own = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { pid in
            guard pid != own,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return false }
            let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
            guard state != "Z" && state != "X" else { return false }
            return Array(environ).firstRange(of: marker) != nil
        }
    }

    /// No process of this world is left, within a short deadline (a process ending takes a moment).
    func assertNoStrayProcess(file: StaticString = #filePath, line: UInt = #line) {
        let gone = waitUntil(seconds: 5) { strayProcesses().isEmpty }
        XCTAssertTrue(gone, "processes left running: \(strayProcesses().map { describeProcess($0) })", file: file, line: line)
    }

    func describeProcess(_ pid: Int32) -> String {
        let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map {
            String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        } ?? "?"
        return "\(pid): \(cmdline)"
    }

    /// The lock file is gone or empty and no run holds it.
    func assertLockReleased(file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try lockPath
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        XCTAssertEqual(text, "", "lock file left: \(text)", file: file, line: line)
    }

    /// One line, `zettabee: error: update backup/data: …`, containing `fragment`.
    func assertOneLineError(_ outcome: ProcessOutcome, action: String = "update", contains fragment: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        let lines = outcome.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line on stderr, got: \(outcome.stderr)", file: file, line: line)
        XCTAssertTrue(
            outcome.stderr.hasPrefix("zettabee: error: \(action) backup/data: "), "unexpected stderr: \(outcome.stderr)",
            file: file, line: line)
        XCTAssertTrue(outcome.stderr.contains(fragment), "stderr lacks '\(fragment)': \(outcome.stderr)", file: file, line: line)
    }

    /// A follow-up update succeeds and moves the base to a new snapshot held on both sides.
    func assertNextUpdateRecovers(from base: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try ctl("src", "write", "tank/data", "1M")
        let outcome = try zettabee("update", "backup/data", file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, "the next update failed: \(outcome.stderr)", file: file, line: line)
        let newBase = try assertBaseIntact(file: file, line: line)
        XCTAssertNotEqual(newBase, base, "the base did not move", file: file, line: line)
        XCTAssertNil(try snapshots("src", "tank/data")[base], "the old base is still on the source", file: file, line: line)
        XCTAssertEqual(try snapshots("backup", "backup/data")[base]?.holds, [], "the old base is still held", file: file, line: line)
    }
}

struct ReliabilityError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
