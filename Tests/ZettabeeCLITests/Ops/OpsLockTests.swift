import Foundation
import XCTest

/// runstatus following a slow transfer; stale locks after SIGKILL; unlock; purge.
final class OpsLockTests: XCTestCase {
    func testRunstatusFollowsASlowTransferToItsEnd() throws {
        let world = try OpsWorld()
        let fp = world.fingerprint
        var outcome = try world.zettabee("runstatus", "data")
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.stderr.hasPrefix("zettabee: error: runstatus backup/data: not running"), outcome.stderr)

        try world.slowSend(bytesPerSecond: 1_000_000)
        let running = try world.start("initialize", "backup/data")
        world.waitUntil("the initialize to publish progress") {
            FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).progress.json")
        }
        outcome = try world.zettabee("runstatus", "data", timeout: 60)
        running.waitUntilExit()
        XCTAssertEqual(running.terminationStatus, 0)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 1, outcome.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("initialize transfer: ") }, outcome.stdout)
        XCTAssertTrue(lines.last!.hasPrefix("initialize succeeded"), outcome.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).progress.json"))
    }

    func testStaleLockAfterSIGKILLIsRecognisedAndUnlocked() throws {
        let world = try OpsWorld()
        let fp = world.fingerprint
        try world.slowSend(bytesPerSecond: 500_000)
        let running = try world.start("initialize", "backup/data")
        world.waitUntil("the initialize to take its lock") {
            FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).progress.json")
        }
        var outcome = try world.zettabee("unlock", "data")
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.stderr.contains("refusing: the lock is held by a live run (pid \(running.processIdentifier)"), outcome.stderr)
        outcome = try world.zettabee("status", "-H")
        XCTAssertTrue(outcome.stdout.contains("\tL\tInitializing\t"), outcome.stdout)

        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
        outcome = try world.zettabee("status", "--json")
        XCTAssertTrue(outcome.stdout.contains(#""state" : "stale""#), outcome.stdout)
        outcome = try world.zettabee("unlock", "data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("removed the stale lock of a run that died (pid \(running.processIdentifier)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).lck"))
        outcome = try world.zettabee("unlock", "data")
        XCTAssertEqual(outcome.stdout, "backup/data: not locked\n")
    }

    func testPurgeKeepsExactlyWhatItMust() throws {
        let world = try OpsWorld(configLines: ["src:tank/data  backup:backup/data  keep=3"])
        XCTAssertEqual(try world.zettabee("initialize", "backup/data").exitCode, 0)
        for _ in 0..<4 { XCTAssertEqual(try world.zettabee("update", "backup/data").exitCode, 0) }
        _ = try world.zfs("backup", "snapshot", "backup/data@manual")
        let fp = world.fingerprint
        func snapshots() throws -> [String] {
            try world.zfs("backup", "list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-r", "backup/data")
                .split(separator: "\n").map(String.init)
        }
        let before = try snapshots()
        XCTAssertEqual(before.filter { $0.contains("zettabee.\(fp)") }.count, 5)
        _ = try world.zfs("backup", "hold", "keepme", before[1])

        var outcome = try world.zettabee("purge", "--dry-run", "data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        XCTAssertEqual(outcome.stdout, "would destroy \(before[0])\nkept \(before[1]) (held)\n")
        XCTAssertEqual(try snapshots(), before)

        outcome = try world.zettabee("purge", "data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        XCTAssertEqual(try snapshots(), Array(before.dropFirst()))
        outcome = try world.zettabee("status", "-H")
        XCTAssertTrue(outcome.stdout.contains("\tSynchronized\t"), "the base survived: \(outcome.stdout)")
    }
}
