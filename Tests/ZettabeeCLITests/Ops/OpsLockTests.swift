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

    /// An update started without a terminal (cron) does not ask for its stream's size, but records the
    /// stream: `runstatus` asks the source for that stream's size itself (`zfs send -nvP`, once) and
    /// shows a percent and an ETA.
    func testRunstatusOfACronUpdateAsksTheStreamSizeAndShowsAnETA() throws {
        let world = try OpsWorld()
        let fp = world.fingerprint
        let running = try startSlowUpdate(world)
        world.waitUntil("the update to publish the stream it sends") {
            RunProgressFile.stream(in: world.runDirectory + "/\(fp).progress.json") != nil
        }
        let estimatesBefore = try estimateCalls(world)
        XCTAssertEqual(estimatesBefore, [], "the update itself asks for no size")
        let outcome = try world.zettabee("runstatus", "data", timeout: 60)
        running.waitUntilExit()
        XCTAssertEqual(running.terminationStatus, 0)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        XCTAssertNotNil(outcome.stdout.range(of: #"update transfer: .* of 3\.0 MiB \(\d+%\) at .*, ETA \d+:\d\d:\d\d"#,
                                             options: .regularExpression), outcome.stdout)
        let estimates = try estimateCalls(world)
        XCTAssertEqual(estimates.count, 1, "runstatus asked once: \(estimates)")
        let sent = try XCTUnwrap(try sendCalls(world).first { !$0.contains("-n") })
        XCTAssertEqual(estimates.first.map { $0.filter { !["-n", "-v", "-P"].contains($0) } }, sent,
                       "the estimate is of the very stream the update sent")
    }

    /// Old zfs (zfs-fuse) gives no estimates: the run records no stream, and `runstatus` asks nothing and
    /// shows bytes and rate without a percent.
    func testRunstatusOfAnUpdateFromOldZfsShowsBytesAndRateOnly() throws {
        let world = try OpsWorld()
        let fp = world.fingerprint
        try world.ctl("--host", "src", "legacy", "on")
        try world.ctl("--host", "backup", "legacy", "on")
        let running = try startSlowUpdate(world)
        world.waitUntil("the update to transfer") {
            (try? String(contentsOfFile: world.runDirectory + "/\(fp).progress.json", encoding: .utf8))?
                .contains(#""phase":"transfer""#) ?? false
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: world.runDirectory + "/\(fp).progress.json"), "still sending")
        XCTAssertNil(RunProgressFile.stream(in: world.runDirectory + "/\(fp).progress.json"), "no stream recorded")
        let outcome = try world.zettabee("runstatus", "data", timeout: 60)
        running.waitUntilExit()
        XCTAssertEqual(running.terminationStatus, 0)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").filter { $0.hasPrefix("update transfer: ") }
        XCTAssertFalse(lines.isEmpty, outcome.stdout)
        XCTAssertFalse(lines.contains { $0.contains("%") || $0.contains("ETA") }, outcome.stdout)
        XCTAssertEqual(try estimateCalls(world), [], "nothing asked for an estimate old zfs cannot give")
    }

    /// Initializes the pair, writes 3 MB, and starts an update whose stream moves at 1 MB/s, with an
    /// empty call log.
    private func startSlowUpdate(_ world: OpsWorld) throws -> Process {
        XCTAssertEqual(try world.zettabee("initialize", "backup/data").exitCode, 0)
        try world.ctl("--host", "src", "write", "tank/data", "3M")
        try world.slowSend(bytesPerSecond: 1_000_000)
        try FileManager.default.removeItem(atPath: world.world + "/calls.log")
        return try world.start("update", "backup/data")
    }

    /// The fake zfs's `send` calls on the source, as argv.
    private func sendCalls(_ world: OpsWorld) throws -> [[String]] {
        let text = (try? String(contentsOfFile: world.world + "/calls.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> [String]? in
            guard let call = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  call["tool"] as? String == "zfs", call["host"] as? String == "src",
                  let argv = call["argv"] as? [String], argv.first == "send"
            else { return nil }
            return argv
        }
    }

    private func estimateCalls(_ world: OpsWorld) throws -> [[String]] {
        try sendCalls(world).filter { $0.contains("-n") }
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

/// Reads a run's progress file as runstatus does.
enum RunProgressFile {
    /// The `stream` the run recorded, when it did.
    static func stream(in path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["stream"] as? [String: Any]
    }
}
