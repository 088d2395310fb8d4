import Foundation
import XCTest

/// Configuration and command-line errors: exit 2, the message on stderr, nothing on stdout, and no zfs,
/// ssh or mbuffer run. Decided before any process starts, they run in the test's own process
/// (`zettabeeInProcess`); setup's directories and modes, through the built binary.
final class FakeTierCommandLineTests: XCTestCase {
    // MARK: configuration errors

    func testConfigurationErrorsNameFileLineAndFieldAndRunNothing() throws {
        let cases: [(lines: [String], expected: [(line: Int, field: String, words: [String])])] = [
            (["src:tank/data  backup:backup/data  port=abc"], [(1, "port", ["'abc'", "TCP port"])]),
            (["# pairs", "", "src:tank/data  backup:backup/data  colour=blue"], [(3, "options", ["unknown key", "'colour'"])]),
            (["src:tank/data"], [(1, "destination", ["missing destination"])]),
            (["src:tank/data  backup:backup/data  port=9000,compress=zstd"], [(1, "compress", ["only to transport=ssh"])]),
            (["src:tank/data  backup:backup/data  rate=10M"], [(1, "rate", ["only to transport=mbuffer"])]),
            (["src:tank/data  backup:backup/data  compress=gzip"], [(1, "compress", ["'gzip'", "none, zstd or lz4"])]),
            (["src:tank/a  backup:backup/data", "src:tank/b  backup:backup/data"], [(2, "destination", ["already used on line 1"])]),
            (["src:tank/data  backup:backup/data  wlag=2h,clag=1h"], [(1, "wlag", ["greater than", "clag"])]),
            (["src:tank/data  backup:bad@name"], [(1, "destination", ["invalid ZFS name"])]),
            // Every problem is reported, in line order.
            (["src:tank/a  backup:backup/a  port=0", "src:tank/b  backup:backup/b  keep=lots"],
             [(1, "port", ["'0'"]), (2, "keep", ["'lots'"])]),
        ]
        for (index, testCase) in cases.enumerated() {
            let world = try FakeTierWorld("\(name)\(index)")
            try world.standardHosts()
            try (testCase.lines.joined(separator: "\n") + "\n").write(toFile: world.configPath, atomically: true, encoding: .utf8)
            try world.clearCalls()
            for action in [["update", "backup/data"], ["initialize", "backup/data"], ["fingerprint"]] {
                let outcome = world.zettabeeInProcess(arguments: action)
                let context = "case \(index), \(action[0])"
                XCTAssertEqual(outcome.exitCode, 2, context)
                XCTAssertEqual(outcome.stdout, "", context)
                let lines = outcome.stderr.split(separator: "\n").map(String.init)
                XCTAssertEqual(lines.count, testCase.expected.count, "\(context): \(outcome.stderr)")
                for (line, expected) in zip(lines, testCase.expected) {
                    let prefix = "zettabee: error: \(world.configPath):\(expected.line): field '\(expected.field)': "
                    XCTAssertTrue(line.hasPrefix(prefix), "\(context): '\(line)' lacks '\(prefix)'")
                    for word in expected.words { XCTAssertTrue(line.contains(word), "\(context): '\(line)' lacks \(word)") }
                }
            }
            XCTAssertEqual(try world.calls().map(\.line), [], "case \(index): nothing ran")
        }
    }

    func testMissingConfigurationFile() throws {
        let world = try FakeTierWorld(name)
        let outcome = world.zettabeeInProcess("update", "backup/data")
        world.expectFailure(outcome, code: 2, action: "update", destination: "backup/data",
                            words: ["cannot read configuration", world.configPath])
        XCTAssertEqual(try world.calls().count, 0)
    }

    // MARK: command-line errors

    func testUsageErrorsExitTwoWithUsageAndRunNothing() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts()
        try world.writeConfig("src:tank/data  backup:backup/data")
        try world.clearCalls()
        let cases: [([String], String)] = [
            (["frobnicate", "backup/data"], "Error: Unknown action 'frobnicate'; expected one of: setup, initialize, update"),
            (["--frobnicate", "update", "backup/data"], "Error: Unknown option '--frobnicate'"),
            (["-x", "update", "backup/data"], "Error: Unknown option '-x'"),
            (["update"], "Error: Missing expected argument '<destination>' for action 'update'"),
            (["initialize"], "Error: Missing expected argument '<destination>' for action 'initialize'"),
            ([], "Error: Missing expected argument '<action>'"),
            (["update", "backup/data", "extra"], "Error: Unexpected argument 'extra'"),
            (["--dry-run=yes", "update", "backup/data"], "Error: Option '--dry-run' does not take a value"),
        ]
        for (arguments, firstLine) in cases {
            let outcome = world.zettabeeInProcess(arguments: arguments)
            XCTAssertEqual(outcome.exitCode, 2, "\(arguments)")
            XCTAssertEqual(outcome.stdout, "", "\(arguments)")
            let lines = outcome.stderr.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.first?.hasPrefix(firstLine) ?? false, "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(Array(lines.dropFirst()), ["Usage: zettabee [options] <action> [<destination>]", "See 'zettabee --help'."],
                           "\(arguments)")
        }
        XCTAssertEqual(try world.calls().count, 0, "nothing ran")
    }

    func testUnknownAndAmbiguousDestinationsListTheCandidates() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(sources: ["a", "b"])
        try world.writeConfig("src:tank/a  backup:backup/one/data", "src:tank/b  backup:backup/two/data")
        try world.clearCalls()

        let ambiguous = world.zettabeeInProcess("update", "data")
        world.expectFailure(ambiguous, code: 2, action: "update", destination: "data",
                            words: ["'data' is ambiguous", "backup:backup/one/data", "backup:backup/two/data"])
        let unknown = world.zettabeeInProcess("initialize", "backup/three")
        world.expectFailure(unknown, code: 2, action: "initialize", destination: "backup/three",
                            words: ["no pair has the destination 'backup/three'", "backup:backup/one/data, backup:backup/two/data"])
        XCTAssertEqual(try world.calls().count, 0, "nothing ran")

        // Each of the forms that does name one pair resolves to it.
        for form in ["backup:backup/one/data", "backup/one/data"] {
            let outcome = world.zettabeeInProcess("fingerprint", form)
            XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
            XCTAssertEqual(outcome.stdout.count, 33, form)
        }
    }

    func testHelpAndVersionPrintToStdoutAndExitZero() throws {
        let world = try FakeTierWorld(name)
        for arguments in [["--help"], ["-h"], ["update", "--help"], ["frobnicate", "-h"]] {
            let outcome = world.zettabeeInProcess(arguments: arguments, withDirectories: false)
            XCTAssertEqual(outcome.exitCode, 0, "\(arguments)")
            XCTAssertEqual(outcome.stderr, "", "\(arguments)")
            XCTAssertTrue(outcome.stdout.contains("Usage: zettabee [options] <action> [<destination>]"), "\(arguments)")
            for action in ["setup", "initialize", "update", "fingerprint", "logfile"] {
                XCTAssertTrue(outcome.stdout.contains("\n  \(action) "), "\(arguments): help lists \(action)")
            }
        }
        for arguments in [["--version"], ["-V"], ["-V", "update"]] {
            let outcome = world.zettabeeInProcess(arguments: arguments, withDirectories: false)
            XCTAssertEqual(outcome.exitCode, 0, "\(arguments)")
            XCTAssertEqual(outcome.stderr, "", "\(arguments)")
            XCTAssertTrue(outcome.stdout.hasPrefix("zettabee "), outcome.stdout)
            XCTAssertEqual(outcome.stdout.split(separator: "\n").count, 1, outcome.stdout)
        }
    }

    /// The in-process runs above could not hide a process: an action that needs one hands it to the
    /// executor, which records it (and starts nothing).
    func testAnInProcessRunRecordsEveryProcessTheActionWouldStart() throws {
        let world = try FakeTierWorld(name)
        try world.writeConfig("src:tank/data  backup:backup/data")
        try world.clearCalls()
        let (outcome, attempts) = InProcessZettabee.run(
            ["-c", world.configPath, "--run-dir", world.runDirectory, "--log-dir", world.logDirectory, "status"],
            environment: world.environment)
        XCTAssertFalse(attempts.isEmpty, "status reads both hosts: \(outcome)")
        XCTAssertTrue(attempts.contains { $0.contains("zfs get") }, "\(attempts)")
        XCTAssertEqual(try world.calls().count, 0, "and nothing ran")
    }

    func testSetupCreatesPrivateDirectoriesAndFingerprintListsPairs() throws {
        let world = try FakeTierWorld(name)
        try world.writeConfig("src:tank/a  backup:backup/a", "src:tank/b  backup:backup/b  port=9100")
        try world.expectSuccess(try world.zettabee("setup"))
        for directory in [world.runDirectory, world.logDirectory] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o700, directory)
        }
        let all = try world.zettabee("fingerprint")
        XCTAssertEqual(all.exitCode, 0)
        let rows = all.stdout.split(separator: "\n")
        XCTAssertEqual(rows.count, 2, all.stdout)
        // The original Zettabee's line: source, destination, then the fingerprint.
        XCTAssertEqual(rows.first?.split(separator: " ", omittingEmptySubsequences: true).prefix(3).joined(separator: " "),
                       "src :tank/a backup:backup/a", all.stdout)
        let fingerprint = try world.fingerprint("backup/b")
        XCTAssertTrue(rows.last?.hasSuffix("  " + fingerprint) ?? false, all.stdout)
        let logfile = try world.zettabee("logfile", "backup/b")
        XCTAssertEqual(logfile.stdout, world.logPath(fingerprint) + "\n")
        XCTAssertEqual(try world.calls().count, 0)
    }
}
