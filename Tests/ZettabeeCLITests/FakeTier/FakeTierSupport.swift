import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// One simulated world for a fake-tier test: its own directory with the fake tools' state, a zettabee
/// configuration and run/log directories. zettabee runs as the built binary with the fake tools
/// (`PackagePaths.fakeBin`) first on PATH; its local host is the simulated `backup`, and the fake ssh maps `src` to the
/// simulated host `src`.
final class FakeTierWorld: Sendable {
    let directory: String
    let world: String
    let configPath: String
    let runDirectory: String
    let logDirectory: String
    let environment: [String: String]

    /// The source and destination hosts every test uses.
    static let sourceHost = "src"
    static let destinationHost = "backup"

    init(_ label: String = #function) throws {
        let name = label.filter { $0.isLetter || $0.isNumber }
        directory = NSTemporaryDirectory() + "zb-fake-\(name)-\(UInt32.random(in: 0...UInt32.max))"
        world = directory + "/world"
        configPath = directory + "/zettabee.cfg"
        runDirectory = directory + "/run"
        logDirectory = directory + "/log"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: PackagePaths.zettabee),
              FileManager.default.isExecutableFile(atPath: PackagePaths.zfake)
        else {
            throw TierMissing("fake tier: no built zettabee/zfake in \(PackagePaths.products.path)")
        }
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("ZETTABEE_") && !$0.key.hasPrefix("ZFAKE_")
        }
        environment["PATH"] = PackagePaths.fakeBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["ZFAKE_WORLD"] = world
        environment["ZFAKE_BIN"] = PackagePaths.zfake
        environment["ZFAKE_HOST"] = FakeTierWorld.destinationHost
        environment["LC_ALL"] = "C"
        self.environment = environment
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    // MARK: the simulated hosts

    /// `zfake ctl --host HOST ARGS…`, which must succeed.
    @discardableResult
    func ctl(_ host: String, _ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try TestProcess.run(
            PackagePaths.zfake, ["ctl", "--host", host] + arguments, environment: environment, timeout: 30, file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, "zfake ctl \(arguments): \(outcome.stderr)", file: file, line: line)
        return outcome.stdout
    }

    /// Runs the fake `zfs` as if on `host` (e.g. to lay down state as another tool left it).
    @discardableResult
    func zfs(on host: String, _ arguments: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutcome {
        var environment = self.environment
        environment["ZFAKE_HOST"] = host
        return try TestProcess.run(
            PackagePaths.zfake, ["zfs"] + arguments, environment: environment, stdin: stdin, timeout: 30, file: file, line: line)
    }

    /// A source pool `tank` with `tank/<name>` holding `size`, and an empty destination pool `backup`.
    func standardHosts(sources: [String] = ["data"], size: String = "4M") throws {
        try ctl(Self.sourceHost, "create-pool", "tank")
        for name in sources {
            try ctl(Self.sourceHost, "create", "tank/\(name)")
            try ctl(Self.sourceHost, "write", "tank/\(name)", size)
        }
        try ctl(Self.destinationHost, "create-pool", "backup")
    }

    func addFault(_ rule: [String: String]) throws {
        let data = try JSONSerialization.data(withJSONObject: rule, options: [.sortedKeys])
        try ctl(Self.destinationHost, "fault-add", String(decoding: data, as: UTF8.self))
    }

    func clearFaults() throws { try ctl(Self.destinationHost, "fault-clear") }

    /// A host's state, as `zfake ctl dump` prints it.
    func dump(_ host: String, file: StaticString = #filePath, line: UInt = #line) throws -> FakeHostState {
        let text = try ctl(host, "dump", file: file, line: line)
        return try JSONDecoder().decode(FakeHostState.self, from: Data(text.utf8))
    }

    func dataset(_ host: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> FakeDataset {
        let state = try dump(host, file: file, line: line)
        return try XCTUnwrap(state.datasets[name], "\(host) has no dataset \(name)", file: file, line: line)
    }

    // MARK: zettabee

    func writeConfig(_ lines: String...) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Runs the built zettabee with this world's configuration and directories, then `arguments`.
    func zettabee(_ arguments: String..., timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutcome {
        try zettabee(arguments: arguments, timeout: timeout, file: file, line: line)
    }

    func zettabee(arguments: [String], withDirectories: Bool = true, timeout: Double = 60,
                  file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutcome {
        let base = withDirectories ? ["-c", configPath, "--run-dir", runDirectory, "--log-dir", logDirectory] : []
        return try TestProcess.run(PackagePaths.zettabee, base + arguments, environment: environment, timeout: timeout, file: file, line: line)
    }

    /// The same run inside the test process (`InProcessZettabee`), for what is decided before any
    /// process would start (command line, configuration, destinations): it must try to start none.
    func zettabeeInProcess(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) -> ProcessOutcome {
        zettabeeInProcess(arguments: arguments, file: file, line: line)
    }

    func zettabeeInProcess(arguments: [String], withDirectories: Bool = true,
                           file: StaticString = #filePath, line: UInt = #line) -> ProcessOutcome {
        let base = withDirectories ? ["-c", configPath, "--run-dir", runDirectory, "--log-dir", logDirectory] : []
        let (outcome, attempts) = InProcessZettabee.run(base + arguments, environment: environment)
        XCTAssertEqual(attempts, [], "\(arguments): no process may start", file: file, line: line)
        return outcome
    }

    /// `setup`, then the pair's `initialize`, both succeeding silently.
    func setupAndInitialize(_ destination: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try expectSuccess(try zettabee("setup", file: file, line: line), file: file, line: line)
        try expectSuccess(try zettabee("initialize", destination, file: file, line: line), file: file, line: line)
    }

    /// Exit 0, nothing on stdout or stderr.
    func expectSuccess(_ outcome: ProcessOutcome, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(outcome.exitCode, 0, "stderr: \(outcome.stderr)", file: file, line: line)
        XCTAssertFalse(outcome.signaled, file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", file: file, line: line)
        XCTAssertEqual(outcome.stderr, "", file: file, line: line)
    }

    /// Exit `code` and exactly one stderr line `zettabee: error: ACTION DEST: reason`, with every one of
    /// `words` in the reason. Returns the reason.
    @discardableResult
    func expectFailure(_ outcome: ProcessOutcome, code: Int32 = 1, action: String, destination: String, words: [String],
                       file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertEqual(outcome.exitCode, code, "stderr: \(outcome.stderr)", file: file, line: line)
        XCTAssertFalse(outcome.signaled, file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", file: file, line: line)
        let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 2, "expected one line: \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(lines.last, "", "stderr must end in a newline", file: file, line: line)
        let prefix = "zettabee: error: \(action) \(destination): "
        let first = String(lines.first ?? "")
        XCTAssertTrue(first.hasPrefix(prefix), "'\(first)' does not start with '\(prefix)'", file: file, line: line)
        let reason = String(first.dropFirst(prefix.count))
        for word in words {
            XCTAssertTrue(reason.contains(word), "'\(reason)' does not mention '\(word)'", file: file, line: line)
        }
        return reason
    }

    // MARK: files

    func fingerprint(_ destination: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try zettabee("fingerprint", destination, file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr, file: file, line: line)
        let fingerprint = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(fingerprint.count, 32, "fingerprint '\(fingerprint)'", file: file, line: line)
        return fingerprint
    }

    func lockPath(_ fingerprint: String) -> String { "\(runDirectory)/\(fingerprint).lck" }
    func logPath(_ fingerprint: String) -> String { "\(logDirectory)/\(fingerprint).log" }

    func log(_ fingerprint: String) -> String {
        (try? String(contentsOfFile: logPath(fingerprint), encoding: .utf8)) ?? ""
    }

    // MARK: the call log

    var callLogPath: String { world + "/calls.log" }

    /// Every fake invocation since the last `clearCalls()`, zfake ctl's own excluded.
    func calls(file: StaticString = #filePath, line: UInt = #line) throws -> [FakeCall] {
        guard let text = try? String(contentsOfFile: callLogPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(FakeCall.self, from: Data($0.utf8)) }
            .filter { $0.tool != "ctl" }
    }

    func clearCalls() throws {
        if FileManager.default.fileExists(atPath: callLogPath) {
            try Data().write(to: URL(fileURLWithPath: callLogPath))
        }
    }

    /// zfs calls on `host` whose subcommand is `subcommand`.
    func zfsCalls(_ subcommand: String, on host: String) throws -> [FakeCall] {
        try calls().filter { $0.tool == "zfs" && $0.host == host && $0.argv.first == subcommand }
    }

    /// A TCP port nobody listens on right now: bind port 0 on the loopback and read what the kernel chose.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("no socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw XCTSkip("cannot bind a loopback port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls `condition` until it holds or `deadline` seconds passed.
    static func waitUntil(_ deadline: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(deadline)
        while Date() < end {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }
}

/// `zfake ctl dump`: the parts of a host's state the tests look at.
struct FakeHostState: Decodable {
    var datasets: [String: FakeDataset]
}

struct FakeDataset: Decodable {
    var name: String
    var guid: UInt64
    var local: [String: String]
    var received: [String: String]
    var referenced: Int64
    var modified: Bool
    var snapshots: [FakeSnapshot]
    /// What an interrupted `zfs receive -s` saved for resuming.
    var partial: FakePartialReceive?
    /// Mounts: whether it is mounted, its effective mountpoint and where that comes from.
    var mounted: Bool?
    var mountpoint: String?
    var mountpointSource: String?
    /// `available`, `unavailable`, or `none` for an unencrypted dataset.
    var keystatus: String?
    /// Encryption: the suite and the encryption root; nil when unencrypted.
    var crypt: FakeCrypt?

    func snapshot(_ name: String) -> FakeSnapshot? { snapshots.first { $0.name == name } }
    /// Snapshot names, oldest first.
    var snapshotNames: [String] { snapshots.map(\.name) }
    /// Name → GUID of every snapshot: what "the same snapshots" means across dumps and hosts.
    var snapshotGUIDs: [String: UInt64] { Dictionary(uniqueKeysWithValues: snapshots.map { ($0.name, $0.guid) }) }
    /// A property as zfs reports it: set locally or by a receive.
    func property(_ name: String) -> String? { local[name] ?? received[name] }
}

struct FakeCrypt: Decodable {
    var suite: String
    var root: String
}

struct FakePartialReceive: Decodable {
    /// The full name of the snapshot being received, as on the source.
    var toname: String
}

struct FakeSnapshot: Decodable, Equatable {
    var name: String
    var guid: UInt64
    var createtxg: UInt64
    var referenced: Int64
    var written: Int64
    /// Hold tag → time.
    var holds: [String: Int64]
}

/// One line of the world's call log.
struct FakeCall: Decodable {
    var tool: String
    var host: String
    var argv: [String]
    var exit: Int

    var line: String { argv.joined(separator: " ") }
}

/// The pair's property names.
struct PairPropertyNames {
    let fingerprint: String
    var lastsnap: String { "zettabee:\(fingerprint):lastsnap" }
    var source: String { "zettabee:\(fingerprint):source" }
    var destination: String { "zettabee:\(fingerprint):destination" }
    static let owner = "zettabee:fingerprint"
}

extension FakeTierWorld {
    /// Checks that the pair `fingerprint` is synchronized: both sides record the same base, hold it with
    /// the same GUID, the destination is read-only, owned by the pair and holds the source's data as of
    /// the base, and the source keeps no older snapshot of the pair. Returns the base.
    @discardableResult
    func expectSynchronized(fingerprint: String, source: String, destination: String, ownerRecorded: Bool = true,
                            file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let names = PairPropertyNames(fingerprint: fingerprint)
        let sourceSide = try dataset(Self.sourceHost, source, file: file, line: line)
        let destinationSide = try dataset(Self.destinationHost, destination, file: file, line: line)
        let base = try XCTUnwrap(destinationSide.property(names.lastsnap), "no lastsnap on \(destination)", file: file, line: line)
        XCTAssertEqual(sourceSide.property(names.lastsnap), base, "source lastsnap", file: file, line: line)
        XCTAssertTrue(base.hasPrefix("zettabee.\(fingerprint)."), base, file: file, line: line)
        let sent = try XCTUnwrap(sourceSide.snapshot(base), "source lacks \(base)", file: file, line: line)
        let received = try XCTUnwrap(destinationSide.snapshot(base), "destination lacks \(base)", file: file, line: line)
        XCTAssertEqual(sent.guid, received.guid, "GUID of \(base)", file: file, line: line)
        XCTAssertEqual(received.referenced, sent.referenced, "data received for \(base)", file: file, line: line)
        XCTAssertEqual(destinationSide.referenced, sent.referenced, "destination's data", file: file, line: line)
        XCTAssertEqual(destinationSide.property("readonly"), "on", "destination readonly", file: file, line: line)
        if ownerRecorded {
            XCTAssertEqual(destinationSide.property(PairPropertyNames.owner), fingerprint, file: file, line: line)
            XCTAssertEqual(destinationSide.property(names.source), "\(Self.sourceHost):\(source)", file: file, line: line)
            XCTAssertEqual(destinationSide.property(names.destination), "\(Self.destinationHost):\(destination)", file: file, line: line)
        }
        let pairSnapshots = sourceSide.snapshotNames.filter { $0.hasPrefix("zettabee.\(fingerprint).") }
        XCTAssertEqual(pairSnapshots, [base], "the source keeps only the base", file: file, line: line)
        return base
    }

    /// The pair state that a failed run must leave alone: both filesystems' snapshots and properties.
    func pairState(source: String, destination: String) throws -> PairStateSnapshot {
        let sourceSide = try dataset(Self.sourceHost, source)
        let destinationSide = try dataset(Self.destinationHost, destination)
        return PairStateSnapshot(
            sourceSnapshots: sourceSide.snapshotGUIDs, sourceProperties: sourceSide.local,
            destinationSnapshots: destinationSide.snapshotGUIDs, destinationProperties: destinationSide.local,
            destinationReferenced: destinationSide.referenced)
    }
}

struct PairStateSnapshot: Equatable {
    var sourceSnapshots: [String: UInt64]
    var sourceProperties: [String: String]
    var destinationSnapshots: [String: UInt64]
    var destinationProperties: [String: String]
    var destinationReferenced: Int64
}
