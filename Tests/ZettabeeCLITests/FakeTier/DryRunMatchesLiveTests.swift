import CommandGraph
import Foundation
import GraphRunner
import XCTest
import Zettabee

/// What `--dry-run` prints is what runs: the same state is replicated once through `RenderedChanges`
/// (the dry run) and once through `RecordedChanges` (live, keeping the text of every change it ran), at
/// the same clock, and the two lists must be equal, line for line: initialize and then update, for both
/// transports, on OpenZFS and on old zfs (zfs-fuse's kind), with a child filesystem and a shared ssh
/// connection, as the command line runs them.
final class DryRunMatchesLiveTests: XCTestCase {
    func testSSHOnOpenZFS() throws { try compare(mbuffer: false, legacy: false) }
    func testMbufferOnOpenZFS() throws { try compare(mbuffer: true, legacy: false) }
    func testSSHOnOldZFS() throws { try compare(mbuffer: false, legacy: true) }
    func testMbufferOnOldZFS() throws { try compare(mbuffer: true, legacy: true) }

    func compare(mbuffer: Bool, legacy: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        // A short label: the ssh control socket's path must fit a Unix socket, or nothing is shared.
        let world = try FakeTierWorld("dry")
        try world.treeHosts(legacy: legacy)
        for directory in [world.runDirectory, world.logDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let options = mbuffer ? "  port=\(try FakeTierWorld.freePort())" : ""
        let pair = try XCTUnwrap(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/data  backup:backup/data\(options)\n").first)

        let initialized = Date(timeIntervalSince1970: 1_800_000_000)
        let (dryInitialize, liveInitialize) = try bothWays(pair, world: world, at: initialized) { try $0.initialize() }
        XCTAssertFalse(liveInitialize.isEmpty, file: file, line: line)
        XCTAssertEqual(dryInitialize, liveInitialize, "initialize", file: file, line: line)
        XCTAssertTrue(liveInitialize.contains { $0.contains("zfs send -R") }, "\(liveInitialize)", file: file, line: line)

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "1M")
        let (dryUpdate, liveUpdate) = try bothWays(pair, world: world, at: initialized.addingTimeInterval(3600)) { try $0.update() }
        XCTAssertEqual(dryUpdate, liveUpdate, "update", file: file, line: line)
        // The live update ran every kind of change the dry run showed: snapshot, transfer, holds, the
        // base's record, the old base's release and destroy; over the shared connection.
        let send = legacy ? "zfs send -R -i" : "zfs send -R -L -c -e -i"
        for word in ["zfs snapshot -r", send, "zfs hold -r", "zfs set", "zfs release -r", "zfs destroy -r", "ControlPath="] {
            XCTAssertTrue(liveUpdate.contains { $0.contains(word) }, "no '\(word)' in \(liveUpdate)", file: file, line: line)
        }
        if legacy {
            XCTAssertGreaterThan(liveInitialize.filter { $0.contains("zfs set") }.count, 3, "old zfs: one zfs set per property")
        }
    }

    /// Runs `action` as a dry run, then live, at the same clock; returns the dry run's printed changes
    /// (its `#` notes aside) and the live run's recorded ones.
    func bothWays(
        _ pair: Pair, world: FakeTierWorld, at now: Date, _ action: (Replicator) throws -> RunSummary
    ) throws -> (dry: [String], live: [String]) {
        let printed = Lines()
        let dry = try replicator(pair, world: world, at: now, changes: RenderedChanges(output: { printed.append($0) }))
        dry.shareSourceConnection()
        _ = try action(dry)
        dry.source.closeSharedConnection()

        let recorded = RecordedChanges()
        let live = try replicator(pair, world: world, at: now, changes: recorded)
        live.shareSourceConnection()
        defer { live.source.closeSharedConnection() }
        _ = try action(live)
        return (printed.all.filter { !$0.hasPrefix("# ") }, recorded.recorded)
    }

    func replicator(_ pair: Pair, world: FakeTierWorld, at now: Date, changes: any ChangeExecuting) throws -> Replicator {
        var settings = ReplicationSettings(
            files: PairFiles(runDirectory: world.runDirectory, logDirectory: world.logDirectory), environment: world.environment)
        settings.changes = changes
        return try Replicator(
            pair: pair, settings: settings, executor: ProcessRunner(), log: PairLog(discardingFor: pair.fingerprint), now: { now })
    }
}

/// Lines collected from another thread.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// `--dry-run --json` prints the plain dry run's plan as one JSON line: the same changes, in order, with
/// each command's argv and shell text, and each transfer's pipelines.
final class DryRunJSONTests: XCTestCase {
    func testTheJSONPlanIsThePlainDryRunsPlan() throws {
        let world = try FakeTierWorld("json")
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data  port=\(try FakeTierWorld.freePort())")
        try world.setupAndInitialize("backup/data")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        let before = try world.pairState(source: "tank/data", destination: "backup/data")

        let plain = try world.zettabee("--dry-run", "update", "backup/data")
        XCTAssertEqual(plain.exitCode, 0, plain.stderr)
        let json = try world.zettabee("--dry-run", "--json", "update", "backup/data")
        XCTAssertEqual(json.exitCode, 0, json.stderr)
        XCTAssertEqual(json.stdout.split(separator: "\n").count, 1, "one line: \(json.stdout)")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["action"] as? String, "update")
        XCTAssertEqual(object["destination"] as? String, "backup:backup/data")
        let changes = try XCTUnwrap(object["changes"] as? [[String: Any]])
        let texts: [String] = changes.compactMap { change in
            if let command = change["command"] as? [String: Any] { return command["shell"] as? String }
            if let transfer = change["transfer"] as? [String: Any] { return transfer["shell"] as? String }
            return (change["note"] as? String).map { "# " + $0 }
        }
        XCTAssertEqual(texts.count, changes.count)
        // The two runs took their snapshot names at different moments: compare the names aside.
        func normalized(_ text: String) -> String {
            text.replacingOccurrences(of: #"\.\d{14}UTC"#, with: ".<time>UTC", options: .regularExpression)
        }
        XCTAssertEqual(normalized(texts.joined(separator: "\n")), normalized(plain.stdout.trimmingCharacters(in: .newlines)))
        let snapshot = try XCTUnwrap(changes.compactMap { $0["command"] as? [String: Any] }.first)
        XCTAssertEqual(snapshot["host"] as? String, "src")
        let argv = try XCTUnwrap(snapshot["argv"] as? [String])
        XCTAssertEqual(argv.first, "ssh")
        XCTAssertTrue(argv.last?.hasPrefix("zfs snapshot tank/data@zettabee.") == true, "\(argv)")
        let transfer = try XCTUnwrap(changes.compactMap { $0["transfer"] as? [String: Any] }.first)
        let pipelines = try XCTUnwrap(transfer["pipelines"] as? [[String: Any]])
        XCTAssertEqual(pipelines.count, 2)
        XCTAssertEqual(pipelines[0]["start"] as? String, "immediately")
        XCTAssertTrue((pipelines[1]["start"] as? String)?.hasPrefix("after port ") == true)
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before, "a dry run changes nothing")

        let refused = try world.zettabee("--json", "update", "backup/data")
        XCTAssertEqual(refused.exitCode, 2)
        XCTAssertTrue(refused.stderr.hasPrefix("Error: Option '--json' needs '--dry-run' for action 'update'"), refused.stderr)
    }
}
