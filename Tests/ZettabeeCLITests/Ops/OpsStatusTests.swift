import Foundation
import XCTest

/// `status` in every form, and `check`, against the fake tools.
final class OpsStatusTests: XCTestCase {
    func testUninitializedThenSynchronizedInEveryForm() throws {
        let world = try OpsWorld(configLines: [
            "src:tank/data  backup:backup/data  wlag=1h clag=2h",
            "src:tank/other  backup:backup/other  transport=mbuffer port=9123",
        ])
        var outcome = try world.zettabee("status")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        var lines = outcome.stdout.split(separator: "\n").map(String.init)
        // Not a terminal: no heading, the original Zettabee's columns, the runtime always shown.
        XCTAssertEqual(lines[0], "src:tank/data   backup:backup/data   Uninitialized  -  Idle (0:00:00)")
        XCTAssertEqual(lines[1], "src:tank/other  backup:backup/other  Uninitialized  -  Idle (0:00:00)")

        XCTAssertEqual(try world.zettabee("initialize", "backup/data").exitCode, 0)
        let fp = world.fingerprint
        outcome = try world.zettabee("status", "-H", "--full-status")
        lines = outcome.stdout.split(separator: "\n").map(String.init)
        let fields = lines[0].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(fields.count, 10)
        XCTAssertEqual(Array(fields[0...2]), ["src:tank/data", "backup:backup/data", "Synchronized"])
        XCTAssertNotNil(Int(fields[3]))
        XCTAssertEqual(Array(fields[4...6]), ["-", "Idle", "-"])
        XCTAssertTrue(fields[7].hasPrefix("zettabee.\(fp)."))
        XCTAssertEqual(Array(fields[8...9]), ["-", fp])
        XCTAssertTrue(lines[1].hasSuffix("Uninitialized\t-\t-\tIdle\t-\t-\t9123\t" + lines[1].split(separator: "\t").last!))

        outcome = try world.zettabee("status", "--json", "data")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as! [String: Any]
        let pair = (object["pairs"] as! [[String: Any]])[0]
        XCTAssertEqual(pair["state"] as? String, "Synchronized")
        XCTAssertEqual(pair["fingerprint"] as? String, fp)
        XCTAssertEqual((pair["thresholds"] as! [String: Any])["clag"] as? Int, 7200)
        let last = pair["lastRun"] as! [String: Any]
        XCTAssertEqual(last["action"] as? String, "initialize")
        XCTAssertEqual(last["result"] as? String, "success")
        XCTAssertNotNil(last["durationSeconds"] as? Double)

        outcome = try world.zettabee("check", "data")
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertTrue(outcome.stdout.hasPrefix("ZETTABEE OK - backup/data Synchronized, lag "), outcome.stdout)
        XCTAssertTrue(outcome.stdout.contains("|lag="))
        outcome = try world.zettabee("check")
        XCTAssertEqual(outcome.exitCode, 1, "the uninitialized pair warns")
        XCTAssertTrue(outcome.stdout.hasPrefix("ZETTABEE WARNING - "))
    }

    func testTwoZfsGetsPerHostWhateverThePairCount() throws {
        let world = try OpsWorld(configLines: [
            "src:tank/data  backup:backup/data", "src:tank/other  backup:backup/other", "src:tank/third  backup:backup/third",
        ])
        let outcome = try world.zettabee("-d", "status")
        let gets = outcome.stderr.split(separator: "\n").filter { $0.contains("run: ") && $0.contains("zfs get") }
        // Per host: the snapshots' identities (-d 1), and the filesystems' own properties (all -s local,received).
        XCTAssertEqual(gets.count, 4, outcome.stderr)
        XCTAssertEqual(gets.filter { $0.contains("tank/data tank/other tank/third") }.count, 2, outcome.stderr)
        XCTAssertEqual(gets.filter { $0.contains("backup/data backup/other backup/third") }.count, 2, outcome.stderr)
        XCTAssertEqual(gets.filter { $0.contains("-s local,received all") }.count, 2, outcome.stderr)
    }

    func testInconsistentAndUnknownStates() throws {
        let world = try OpsWorld()
        XCTAssertEqual(try world.zettabee("initialize", "backup/data").exitCode, 0)
        _ = try world.zfs("backup", "set", "zettabee:fingerprint=0123456789abcdef0123456789abcdef", "backup/data")
        var outcome = try world.zettabee("status", "-H")
        XCTAssertTrue(outcome.stdout.contains("\tInconsistent!\t"), outcome.stdout)
        outcome = try world.zettabee("check")
        XCTAssertEqual(outcome.exitCode, 2)
        XCTAssertTrue(outcome.stdout.hasPrefix("ZETTABEE CRITICAL - backup/data CRITICAL: Inconsistent: fingerprint mismatch"), outcome.stdout)

        try world.ctl("fault-add", #"{"tool":"ssh","effect":"refused"}"#)
        outcome = try world.zettabee("check")
        XCTAssertEqual(outcome.exitCode, 3, outcome.stdout + outcome.stderr)
        XCTAssertTrue(outcome.stdout.hasPrefix("ZETTABEE UNKNOWN - "), outcome.stdout)
        outcome = try world.zettabee("status")
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertTrue(outcome.stdout.contains("Unknown"))
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
    }
}
