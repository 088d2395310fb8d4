import Foundation
import GraphRunner
import XCTest

/// What zettabee prints when a file or directory fails it: the system's words (strerror), never
/// Foundation's "The operation could not be completed".
final class ReadableErrorTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zb-err-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "src:tank/data  backup:backup/data\n".write(toFile: directory + "/zb.cfg", atomically: true, encoding: .utf8)
        try "x".write(toFile: directory + "/file", atomically: true, encoding: .utf8)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func zettabee(_ arguments: [String], program: String = PackagePaths.zettabee, prefix: [String] = []) throws -> ProcessOutcome {
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = PackagePaths.fakeBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["ZFAKE_WORLD"] = directory + "/world"
        environment["ZFAKE_BIN"] = PackagePaths.zfake
        environment["ZFAKE_HOST"] = "backup"
        return try TestProcess.run(program, prefix + arguments, environment: environment, timeout: 60)
    }

    func assertReadable(_ outcome: ProcessOutcome, _ expected: String, code: Int32, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(outcome.exitCode, code, outcome.stderr, file: file, line: line)
        XCTAssertEqual(outcome.stderr, expected + "\n", file: file, line: line)
        XCTAssertFalse(outcome.stderr.contains("operation could not be completed"), file: file, line: line)
        XCTAssertFalse(outcome.stderr.contains("NSCocoaErrorDomain"), file: file, line: line)
    }

    func testMissingConfiguration() throws {
        let path = directory + "/missing.cfg"
        assertReadable(try zettabee(["-c", path, "status"]),
                       "zettabee: error: status: cannot read configuration \(path): No such file or directory", code: 2)
    }

    func testConfigurationThatIsADirectory() throws {
        assertReadable(try zettabee(["-c", directory, "fingerprint"]),
                       "zettabee: error: fingerprint: cannot read configuration \(directory): Is a directory", code: 2)
    }

    /// Permission denied, as a user who may not read the file (root reads anything: the check runs the
    /// binary as nobody through setpriv when the test runs as root).
    func testUnreadableConfiguration() throws {
        let config = directory + "/secret.cfg"
        try "src:tank/data  backup:backup/data\n".write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: config)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        var program = PackagePaths.zettabee
        var prefix: [String] = []
        if geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root without /usr/bin/setpriv: cannot test as an unprivileged user")
            }
            program = "/usr/bin/setpriv"
            prefix = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", PackagePaths.zettabee]
        }
        let outcome = try zettabee(["-c", config, "fingerprint"], program: program, prefix: prefix)
        if outcome.stderr.contains("Permission denied") && !outcome.stderr.contains(config) {
            throw XCTSkip("the built zettabee is not reachable as an unprivileged user: \(outcome.stderr)")
        }
        assertReadable(outcome, "zettabee: error: fingerprint: cannot read configuration \(config): Permission denied", code: 2)
    }

    func testLogDirectoryThatCannotBeCreated() throws {
        let logDirectory = directory + "/file/log"
        assertReadable(try zettabee(["-c", directory + "/zb.cfg", "--run-dir", directory + "/run", "--log-dir", logDirectory, "setup"]),
                       "zettabee: error: setup: cannot create \(logDirectory): Not a directory", code: 1)
    }

    func testLogFileThatCannotBeOpened() throws {
        let logDirectory = directory + "/nolog"
        let outcome = try zettabee(["-c", directory + "/zb.cfg", "--run-dir", directory, "--log-dir", logDirectory, "update", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.stderr.hasPrefix("zettabee: error: update backup/data: cannot open log file \(logDirectory)/"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasSuffix(": No such file or directory; run 'zettabee setup' first?\n"), outcome.stderr)
    }

    func testRunDirectoryThatIsNotWritable() throws {
        let runDirectory = directory + "/file/run"
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        let outcome = try zettabee(["-c", directory + "/zb.cfg", "--run-dir", runDirectory, "--log-dir", directory + "/log", "update", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("zettabee: error: update backup/data: "), outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains(runDirectory), outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasSuffix(": Not a directory\n"), outcome.stderr)
        XCTAssertFalse(outcome.stderr.contains("operation could not be completed"))
    }

    func testRunDirectoryWithoutPermission() throws {
        let runDirectory = directory + "/run"
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory + "/log")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/zb.cfg")
        var program = PackagePaths.zettabee
        var prefix: [String] = []
        if geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root without /usr/bin/setpriv: cannot test as an unprivileged user")
            }
            program = "/usr/bin/setpriv"
            prefix = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", PackagePaths.zettabee]
        }
        let outcome = try zettabee(["-c", directory + "/zb.cfg", "--run-dir", runDirectory, "--log-dir", directory + "/log",
                                    "--metrics-dir", runDirectory, "status"], program: program, prefix: prefix)
        XCTAssertTrue(outcome.stderr.contains(
            "zettabee: error: status: cannot write metrics \(runDirectory)/zettabee.prom: Permission denied\n"), outcome.stderr)
        XCTAssertFalse(outcome.stderr.contains("operation could not be completed"))
    }
}

/// A program zettabee starts that is missing: the system's words too.
final class ReadableProcessErrorTests: XCTestCase {
    func testMissingSendNSCA() throws {
        let world = try OpsWorld()
        let missing = world.directory + "/no/send_nsca"
        let outcome = try world.zettabee("-N", "nagios.example.com", "--send-nsca", missing, "--send-nsca-config", world.nscaConfig,
                                         "initialize", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("send_nsca failed: \(missing) does not exist or is not executable"), outcome.stderr)
        XCTAssertFalse(outcome.stderr.contains("operation could not be completed"), outcome.stderr)
        XCTAssertFalse(outcome.stderr.contains("doesn’t exist"), outcome.stderr)
    }
}

/// `SystemErrorText` on the errors Foundation really throws.
final class SystemErrorTextTests: XCTestCase {
    func text(_ body: () throws -> Void) -> String {
        do {
            try body()
            XCTFail("no error")
            return ""
        } catch {
            return SystemErrorText.describe(error)
        }
    }

    func testFoundationErrorsInTheSystemsWords() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zb-set-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(text { _ = try String(contentsOfFile: directory + "/missing", encoding: .utf8) }, "No such file or directory")
        XCTAssertEqual(text { _ = try String(contentsOfFile: directory, encoding: .utf8) }, "Is a directory")
        XCTAssertEqual(text { try FileManager.default.createDirectory(atPath: file + "/sub", withIntermediateDirectories: true) },
                       "Not a directory")
        XCTAssertEqual(text { try Data().write(to: URL(fileURLWithPath: directory + "/no/such")) }, "No such file or directory")
        XCTAssertEqual(text {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: file)  // mode 0644: not executable
            try process.run()
        }, "Permission denied")
        XCTAssertEqual(text {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: directory + "/missing")
            try process.run()
        }, "No such file or directory")
        XCTAssertEqual(SystemErrorText.describe(NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))), "No space left on device")
        XCTAssertEqual(SystemErrorText.describe(CocoaError(.fileWriteNoPermission)), "Permission denied")
        struct Described: Error, CustomStringConvertible { var description: String { "own words" } }
        XCTAssertEqual(SystemErrorText.describe(Described()), "own words")
    }
}
