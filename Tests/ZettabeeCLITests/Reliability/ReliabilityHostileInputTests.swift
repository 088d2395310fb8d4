import Foundation
import XCTest

/// Hostile and broken input: configuration and command-line values that could reach a shell, names
/// with every character ZFS allows, and zfs output that is not what zettabee expects.
final class ReliabilityHostileInputTests: XCTestCase {
    static let hostileValues = [
        "tank/a;touch${IFS}/tmp/zb-pwn", "tank/$(touch /tmp/zb-pwn)", "tank/`touch /tmp/zb-pwn`", "tank/a'b", "tank/\"a\"",
        "tank/a\\b", "tank/é", "tank/a|b", "tank/a&b", "tank/a>b", "tank/*", "tank/" + String(repeating: "a", count: 300),
    ]

    /// Every hostile source is rejected with its line and field; nothing runs.
    func testHostileConfigurationValuesAreRejectedWithTheLine() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        var lines = ["# hostile values"]
        for (index, value) in Self.hostileValues.enumerated() {
            lines.append("src:\(value) backup:backup/d\(index) port=\(20_000 + index)")
        }
        lines += [
            "src:tank/o1 backup:backup/o1 sshuser=-oProxyCommand=touch",
            "src:tank/o2 backup:backup/o2 sshkey=/k;touch",
            "src:tank/o3 backup:backup/o3 port=9$(id)",
            "src:tank/o4 backup:backup/o4 rate=1M;id",
            "-oProxyCommand=x:tank/o5 backup:backup/o5",
            "src:tank/o6 backup:-backup/o6",
            "sr c:tank/o7 backup:backup/o7",
            "src:tank/o8 backup:backup/o8 compress=zstd$(id)",
        ]
        try world.writeConfig(lines.joined(separator: "\n") + "\n")
        let before = world.calls().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 2)
        let errors = outcome.stderr.split(separator: "\n")
        // Line 1 is the comment; each following line has (at least) one error naming it.
        for number in 2...lines.count {
            XCTAssertTrue(
                errors.contains { $0.hasPrefix("zettabee: error: \(world.configPath):\(number): field '") },
                "no error for line \(number) (\(lines[number - 1])): \(outcome.stderr)")
        }
        XCTAssertTrue(errors.allSatisfy { $0.hasPrefix("zettabee: error: \(world.configPath):") }, outcome.stderr)
        XCTAssertEqual(world.calls().count, before, "a tool ran")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/zb-pwn"))
    }

    /// A hostile destination on the command line is rejected before anything runs.
    func testHostileDestinationOnTheCommandLineRunsNothing() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        let before = world.calls().count
        for destination in ["backup/data;touch /tmp/zb-pwn", "$(touch /tmp/zb-pwn)", "`touch /tmp/zb-pwn`", "backup/data\nbackup/data",
                            "'backup/data'", "backup/data ", "backup/dätä", String(repeating: "d", count: 5000)] {
            let outcome = try world.zettabee("update", destination)
            XCTAssertEqual(outcome.exitCode, 2, "\(destination): \(outcome.stderr)")
            // Refused by the argument parser (newline, non-ASCII, overlong) or as an unknown destination;
            // either way the value is quoted, never echoed raw.
            let refused = outcome.stderr.hasPrefix("Error: The value ") && outcome.stderr.contains("is invalid for '<destination>'")
            let unknown = outcome.stderr.hasPrefix("zettabee: error: update ") && outcome.stderr.contains("no pair has the destination")
            XCTAssertTrue(refused || unknown, outcome.stderr)
            XCTAssertFalse(outcome.stderr.contains("backup/data\nbackup/data"), "a raw newline was echoed")
        }
        for arguments in [["update", "--", "-backup/data"], ["update", "--ssh-config", "-oProxyCommand=x", "backup/data"]] {
            let outcome = try TestProcess.run(
                PackagePaths.zettabee, world.baseArguments + arguments, environment: world.environment, timeout: 30)
            XCTAssertEqual(outcome.exitCode, 2, "\(arguments): \(outcome.stderr)")
        }
        XCTAssertEqual(world.calls().count, before, "a tool ran: \(world.calls().dropFirst(before).map(\.argv))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/zb-pwn"))
    }

    /// Every character ZFS allows in a name (`:`, `.`, `-`, `_`) goes through the remote shell intact:
    /// the fake ssh runs the line through a real shell, and the call log shows the exact argv.
    func testNamesWithEveryAllowedCharacterReplicate() throws {
        let source = "tank/my-data_1.2:x", destination = "backup/my-data_1.2:x"
        for options in ["port=\(ReliabilityWorld.freePort())", "transport=ssh,compress=zstd"] {
            let world = try ReliabilityWorld()
            try world.ctl("src", "create-pool", "tank")
            try world.ctl("src", "create", source)
            try world.ctl("src", "write", source, "3M")
            try world.ctl("backup", "create-pool", "backup")
            try world.writeConfig("src:\(source) backup:\(destination) \(options)\n")
            for action in ["initialize", "update"] {
                let outcome = try world.zettabee(action, destination)
                XCTAssertEqual(outcome.exitCode, 0, "\(options) \(action): \(outcome.stderr)")
                try world.ctl("src", "write", source, "1M")
            }
            let sends = world.zfsCalls(["send"], host: "src")
            XCTAssertEqual(sends.count, 2)
            let last = try XCTUnwrap(sends.last)
            XCTAssertEqual(last.count, 7, "\(last)")
            guard last.count == 7 else { continue }
            XCTAssertEqual(Array(last.prefix(5)), ["send", "-L", "-c", "-e", "-i"])
            XCTAssertTrue(last[5].hasPrefix(source + "@zettabee.") && last[6].hasPrefix(source + "@zettabee."), "\(last)")
            XCTAssertEqual(world.zfsCalls(["receive"], host: "backup").last, ["receive", "-s", destination])
            let name = String(last[6].split(separator: "@")[1])
            let received = try world.snapshots("backup", destination)[name]
            XCTAssertNotNil(received)
            XCTAssertEqual(received?.guid, try world.snapshots("src", source)[name]?.guid)
            world.assertNoStrayProcess()
        }
    }

    // MARK: zfs output that is not what zettabee expects

    /// The source's `zfs get` prints `stdout` (exit 0): the update fails with one clear line, and nothing
    /// that changes state runs after the bad read.
    func assertBadSourceRead(_ stdout: String, repeat count: Int = 1, contains fragment: String, nagios: Int = 3,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact(file: file, line: line)
        try world.ctl("src", "write", "tank/data", "1M")
        let rule: [String: String] = [
            "tool": "zfs", "sub": "get", "host": "src", "effect": "output", "stdout": stdout, "repeat": "\(count)", "when": "once",
        ]
        try world.fault(String(decoding: try JSONSerialization.data(withJSONObject: rule), as: UTF8.self))
        let before = world.calls().count
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data", timeout: 120, file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 1, outcome.stderr, file: file, line: line)
        world.assertNagios(nagios, after: sent, prefix: "UPDATE backup/data: failed: ", file: file, line: line)
        world.assertOneLineError(outcome, contains: fragment, file: file, line: line)
        XCTAssertLessThan(outcome.stderr.utf8.count, 1000, "an overlong error line", file: file, line: line)
        XCTAssertEqual(
            world.zfsCalls(["snapshot", "send", "receive", "destroy", "set", "hold", "release", "rollback", "inherit"], from: before), [],
            "state changed after a bad read", file: file, line: line)
        XCTAssertEqual(try world.assertBaseIntact(file: file, line: line), base, file: file, line: line)
        world.assertNoStrayProcess(file: file, line: line)
        try world.assertLockReleased(file: file, line: line)
    }

    func testExtraColumnsInZFSGet() throws {
        try assertBadSourceRead("tank/data\tguid\t1\t-\textra\n", contains: "unexpected zfs output on src for tank/data")
    }

    func testGarbageInZFSGet() throws {
        try assertBadSourceRead("\u{1}\u{7f}garbage; rm -rf /\n", contains: "unexpected zfs output on src for tank/data")
    }

    func testSnapshotWithoutGUIDInZFSGet() throws {
        try assertBadSourceRead(
            "tank/data\tguid\t1\t-\ntank/data@zettabee.x\tcreatetxg\t5\t-\n",
            contains: "unexpected zfs output on src for tank/data")
    }

    /// Missing lines: the source's filesystem is not in the output. zettabee takes it for absent and
    /// refuses (Inconsistent), it does not guess.
    func testMissingLinesInZFSGet() throws {
        try assertBadSourceRead("", contains: "pair is Inconsistent: source tank/data does not exist", nagios: 2)
    }

    func testHugeZFSGetOutput() throws {
        // 24 MiB of rows: more than zettabee reads of a control command.
        try assertBadSourceRead(String(repeating: "tank/data\tguid\t1\t-\n", count: 1000), repeat: 1400,
                                contains: "unexpected zfs output on src for tank/data: ssh src: zfs get printed more than 16777216 bytes")
    }

    /// The destination's own `zfs get` (zettabee's first read of it) prints garbage.
    func testGarbageInTheDestinationsZFSGet() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.fault(#"{"tool":"zfs","sub":"get","host":"backup","effect":"output","stdout":"backup/data guid 1\n","when":"once"}"#)
        let before = world.calls().count
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertOneLineError(outcome, contains: "unexpected zfs output on backup for backup/data")
        world.assertNagios(3, after: sent, prefix: "UPDATE backup/data: failed: ")
        XCTAssertEqual(world.zfsCalls(["snapshot", "send", "receive", "destroy", "set", "hold", "release"], from: before), [])
        XCTAssertEqual(try world.assertBaseIntact(), base)
        try world.assertLockReleased()
    }

    /// `zpool get version` prints something that is no version.
    func testGarbageInZpoolGet() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.fault(#"{"tool":"zpool","host":"backup","effect":"output","stdout":"what\tever\n","when":"once"}"#)
        let before = world.calls().count
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertOneLineError(outcome, contains: "cannot read the version of pool backup on backup")
        world.assertNagios(3, after: sent, prefix: "UPDATE backup/data: failed: ")
        XCTAssertEqual(world.zfsCalls(["snapshot", "send", "receive", "destroy", "set", "hold", "release"], from: before), [])
        XCTAssertEqual(try world.assertBaseIntact(), base)
        try world.assertLockReleased()
    }

    // MARK: the security notes

    /// `setup` creates the run and log directories 0700; logs are not readable by others.
    func testDirectoriesAndLogsAreNotWorldReadable() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        let run = world.root + "/fresh/run", log = world.root + "/fresh/log"
        let setup = try TestProcess.run(
            PackagePaths.zettabee, ["-c", world.configPath, "--run-dir", run, "--log-dir", log, "setup"],
            environment: world.environment, timeout: 30)
        XCTAssertEqual(setup.exitCode, 0, setup.stderr)
        for directory in [run, log] {
            let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int)
            XCTAssertEqual(mode & 0o777, 0o700, directory)
        }
        try world.initialize()
        let logPath = world.logDirectory + "/" + (try world.fingerprint) + ".log"
        let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: logPath)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o007, 0, "the log is accessible to others: \(String(mode, radix: 8))")
    }
}
