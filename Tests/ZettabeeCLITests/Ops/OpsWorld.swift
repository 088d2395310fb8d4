import Foundation
import XCTest

/// A fake world for the operations tests: source host `src` with `tank/data`, destination host `backup`
/// with pool `backup`, a configuration, run and log directories, and the fake tools first on PATH.
final class OpsWorld {
    let directory: String
    var config: String { directory + "/zb.cfg" }
    var runDirectory: String { directory + "/run" }
    var logDirectory: String { directory + "/log" }
    var world: String { directory + "/world" }
    var nscaLog: String { world + "/nsca.log" }
    var nscaConfig: String { directory + "/send_nsca.cfg" }

    init(configLines: [String] = ["src:tank/data  backup:backup/data  wlag=1h clag=2h"]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zb-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (configLines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        try "password=x\n".write(toFile: nscaConfig, atomically: true, encoding: .utf8)
        try ctl("--host", "src", "create-pool", "tank")
        try ctl("--host", "src", "create", "tank/data")
        try ctl("--host", "src", "write", "tank/data", "2M")
        try ctl("--host", "backup", "create-pool", "backup")
        XCTAssertEqual(try zettabee("setup").exitCode, 0)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["ZFAKE_WORLD"] = world
        environment["ZFAKE_BIN"] = PackagePaths.zfake
        environment["ZFAKE_HOST"] = "backup"
        environment["PATH"] = PackagePaths.fakeBin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        return environment
    }

    @discardableResult
    func ctl(_ arguments: String...) throws -> ProcessOutcome {
        let outcome = try TestProcess.run(PackagePaths.fakeBin + "/zfake-ctl", arguments, environment: environment, timeout: 30)
        XCTAssertEqual(outcome.exitCode, 0, "zfake-ctl \(arguments): \(outcome.stderr)")
        return outcome
    }

    /// Runs zettabee with this world's configuration and directories.
    func zettabee(_ arguments: String..., timeout: Double = 60) throws -> ProcessOutcome {
        try TestProcess.run(
            PackagePaths.zettabee, ["-c", config, "--run-dir", runDirectory, "--log-dir", logDirectory] + arguments,
            environment: environment, timeout: timeout)
    }

    /// Starts zettabee without waiting for it.
    func start(_ arguments: String...) throws -> Process { try start(arguments) }

    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PackagePaths.zettabee)
        process.arguments = ["-c", config, "--run-dir", runDirectory, "--log-dir", logDirectory] + arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The fake zfs on `host` answers a command.
    func zfs(_ host: String, _ arguments: String...) throws -> String {
        var environment = self.environment
        environment["ZFAKE_HOST"] = host
        return try TestProcess.run(PackagePaths.fakeBin + "/zfs", arguments, environment: environment, timeout: 30).stdout
    }

    /// The results the fake send_nsca received, one JSON object each.
    func nscaResults() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: nscaLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Slows the source's `zfs send` down to `bytesPerSecond`.
    func slowSend(bytesPerSecond: Int) throws {
        try ctl("fault-add", #"{"tool":"zfs","sub":"send","effect":"send-rate","bytes_per_second":"\#(bytesPerSecond)"}"#)
    }

    /// Polls (every 20 ms, up to `timeout` s) until `condition` holds.
    func waitUntil(_ what: String, timeout: Double = 30, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline {
                XCTFail("timed out waiting for \(what)")
                return
            }
            usleep(20_000)
        }
    }

    var fingerprint: String {
        (try? zettabee("fingerprint", "backup/data").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
    }
}
