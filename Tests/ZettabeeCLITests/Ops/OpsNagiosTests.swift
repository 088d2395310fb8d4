import Foundation
import XCTest

/// Every Nagios path, checked in what the fake send_nsca received.
final class OpsNagiosTests: XCTestCase {
    func nagiosArguments(_ world: OpsWorld) -> [String] {
        ["-N", "nagios.example", "--send-nsca-config", world.nscaConfig, "--nsca-port", "5999"]
    }

    func run(_ world: OpsWorld, _ arguments: [String]) throws -> ProcessOutcome {
        try TestProcess.run(
            PackagePaths.zettabee,
            ["-c", world.config, "--run-dir", world.runDirectory, "--log-dir", world.logDirectory] + nagiosArguments(world) + arguments,
            environment: world.environment, timeout: 60)
    }

    func testSuccessFailureAndUnreachableServer() throws {
        let world = try OpsWorld()
        let fp = world.fingerprint
        var outcome = try run(world, ["initialize", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        var results = world.nscaResults()
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(results[0]["host"] as? String, "backup")
        XCTAssertEqual(results[0]["service"] as? String, "service/zettabee:\(fp)")
        XCTAssertEqual(results[0]["code"] as? Int, 0)
        XCTAssertEqual(results[0]["server"] as? String, "nagios.example")
        XCTAssertEqual(results[0]["port"] as? String, "5999")
        XCTAssertTrue((results[0]["output"] as! String).hasPrefix("INITIALIZE backup/data: OK, base zettabee.\(fp)."))

        // initialize again fails (already synchronized): WARNING, exit 1.
        outcome = try run(world, ["initialize", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 1)
        results = world.nscaResults()
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(results[1]["code"] as? Int, 1)
        XCTAssertTrue((results[1]["output"] as! String).hasPrefix("INITIALIZE backup/data: failed: already initialized"))

        // A failing update: CRITICAL, the pair's properties intact.
        let before = try world.zfs("backup", "get", "-H", "-o", "value", "zettabee:\(fp):lastsnap", "backup/data")
        try world.ctl("fault-add", #"{"tool":"ssh","effect":"refused"}"#)
        outcome = try run(world, ["update", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
        results = world.nscaResults()
        XCTAssertEqual(results.count, 3)
        XCTAssertEqual(results[2]["code"] as? Int, 2)
        XCTAssertTrue((results[2]["output"] as! String).hasPrefix("UPDATE backup/data: failed: "))
        try world.ctl("fault-clear")
        XCTAssertEqual(try world.zfs("backup", "get", "-H", "-o", "value", "zettabee:\(fp):lastsnap", "backup/data"), before)

        // send_nsca cannot reach the server: the update still succeeds, zettabee exits 1 and says why.
        try world.ctl("fault-add", #"{"tool":"send_nsca","effect":"unreachable"}"#)
        outcome = try run(world, ["update", "backup/data"])
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.stderr.contains("reporting to Nagios failed: send_nsca failed: Error: Could not connect"), outcome.stderr)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
        let log = try String(contentsOfFile: world.logDirectory + "/\(fp).log", encoding: .utf8)
        XCTAssertTrue(log.contains("reporting to Nagios failed"))
        XCTAssertTrue(log.contains("update done"))
    }

    func testLagOverThresholdsAfterSuccessAndOverlap() throws {
        let world = try OpsWorld(configLines: ["src:tank/data  backup:backup/data  wrun=1s crun=1h"])
        XCTAssertEqual(try world.zettabee("initialize", "backup/data").exitCode, 0)
        try world.slowSend(bytesPerSecond: 1_000_000)
        try world.ctl("--host", "src", "write", "tank/data", "3M")
        let running = try world.start(nagiosArguments(world) + ["update", "backup/data"])
        let fp = world.fingerprint
        world.waitUntil("the update to publish progress") {
            FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).progress.json")
        }
        // Overlapping run: exit 0, one result, OK (the running one is within crun).
        let overlap = try run(world, ["update", "backup/data"])
        XCTAssertEqual(overlap.exitCode, 0, overlap.stderr)
        running.waitUntilExit()
        XCTAssertEqual(running.terminationStatus, 0)
        let results = world.nscaResults()
        XCTAssertEqual(results.count, 2, "one result from each run")
        XCTAssertTrue((results[0]["output"] as! String).contains("skipped: another run holds the lock"))
        XCTAssertTrue([0, 1].contains(results[0]["code"] as? Int))

        // The slow update took over wrun: it succeeded, reported WARNING.
        let last = results[1]
        XCTAssertEqual(last["code"] as? Int, 1, "\(last)")
        XCTAssertTrue((last["output"] as! String).contains("over wrun 0:00:01"))
    }
}
