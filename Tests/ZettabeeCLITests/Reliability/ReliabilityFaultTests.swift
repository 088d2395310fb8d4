import Foundation
import XCTest

/// The fault matrix: each fault during an update ends with one clear line on stderr and exit 1, the base
/// and its holds intact on both sides, no process left, the lock released, and a next update that
/// recovers by itself.
final class ReliabilityFaultTests: XCTestCase {
    /// Initializes the standard pair, writes to the source, adds `fault`, runs an update that must fail
    /// with `message`, checks what every failure must leave, clears the fault and checks the next update.
    func assertFault(
        _ fault: String, options: String? = nil, message: String, file: StaticString = #filePath, line: UInt = #line,
        afterFailure: (ReliabilityWorld) throws -> Void = { _ in }
    ) throws {
        let world = try ReliabilityWorld()
        try world.standardSetup(options: options)
        try world.initialize()
        let base = try world.assertBaseIntact(file: file, line: line)
        try world.ctl("src", "write", "tank/data", "5M")
        try world.fault(fault)
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data", file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 1, "stderr: \(outcome.stderr)", file: file, line: line)
        world.assertOneLineError(outcome, contains: message, file: file, line: line)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ", file: file, line: line)
        XCTAssertEqual(try world.assertBaseIntact(file: file, line: line), base, "the base moved", file: file, line: line)
        world.assertNoStrayProcess(file: file, line: line)
        try world.assertLockReleased(file: file, line: line)
        try afterFailure(world)
        try world.clearFaults()
        try world.assertNextUpdateRecovers(from: base, file: file, line: line)
        world.assertNoStrayProcess(file: file, line: line)
    }

    func testSenderKilledMidStream() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"send","host":"src","effect":"send-kill-after","bytes":"1000000","when":"once"}"#,
            message: "transfer failed: ") { world in
            // Which stage's failure is reported depends on which ends first: the killed send, or the
            // receive that got an incomplete stream.
            let line = try world.logText
            XCTAssertTrue(line.contains("zfs send on src failed: Killed") || line.contains("incomplete stream"), line)
        }
    }

    func testReceiverKilledMidStream() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"receive","host":"backup","effect":"recv-fail-after","bytes":"1000000","when":"once"}"#,
            message: "zfs receive failed: cannot receive incremental stream") { world in
            // The partial receive is kept for resuming, and so is the run's snapshot on the source.
            let token = try world.zfs("backup", "get", "-H", "-o", "value", "receive_resume_token", "backup/data")
            XCTAssertTrue(token.hasPrefix("1-"), "no resume token: \(token)")
            XCTAssertEqual(try world.snapshots("src", "tank/data").count, 2)
        }
    }

    func testSSHConnectionDropped() throws {
        try assertFault(
            #"{"tool":"ssh","host":"src","match":"*zfs send*","effect":"drop","bytes":"1000000","when":"once"}"#,
            options: "transport=ssh,stall=20s", message: "transfer failed: ssh src: zfs send failed: Connection to src closed")
    }

    func testMbufferPortAlreadyInUse() throws {
        try assertFault(
            #"{"tool":"mbuffer","host":"backup","effect":"port-in-use","when":"once"}"#,
            message: "transfer failed: mbuffer -I failed: mbuffer: fatal: Unable to initialize network input") { world in
            // The sender was never started: the listener failed first.
            XCTAssertTrue(world.calls().filter { $0.tool == "zfs" && $0.argv.first == "send" }.count == 1, "a send ran")
        }
    }

    func testMbufferListenerNeverReachable() throws {
        try assertFault(
            #"{"tool":"mbuffer","host":"src","effect":"refused","when":"once"}"#,
            message: "transfer failed: ssh src: zfs send | mbuffer -O failed: mbuffer: fatal: no output left")
    }

    func testDestinationOutOfSpace() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"receive","host":"backup","effect":"recv-enospc-after","bytes":"1000000","when":"once"}"#,
            message: "destination backup/data is out of space: cannot receive incremental stream: out of space") { world in
            // Nothing to resume: the run's snapshot is gone from the source again.
            XCTAssertEqual(try world.snapshots("src", "tank/data").count, 1)
        }
    }

    func testStreamTruncated() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"send","host":"src","effect":"send-truncate-at","bytes":"1000000","when":"once"}"#,
            message: "checksum mismatch or incomplete stream")
    }

    func testStreamCorrupted() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"send","host":"src","effect":"send-corrupt-at","bytes":"1000000","when":"once"}"#,
            message: "checksum mismatch")
    }

    func testSourceSnapshotCreationFails() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"snapshot","host":"src","effect":"fail","message":"cannot create snapshot 'tank/data@x': out of space","when":"once"}"#,
            message: "zfs snapshot on src failed: cannot create snapshot 'tank/data@x': out of space") { world in
            XCTAssertEqual(world.zfsCalls(["send", "receive"]).count, 2, "a transfer ran after the snapshot failed")
        }
    }

    func testStalledTransferIsTornDown() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup(options: "port=\(world.port),stall=2s")
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-stall-after","bytes":"1000000","when":"once"}"#)
        let started = Date()
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data", timeout: 30)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ")
        world.assertOneLineError(outcome, contains: "transfer failed")
        XCTAssertTrue(outcome.stderr.lowercased().contains("stall") || outcome.stderr.contains("no progress"), outcome.stderr)
        XCTAssertGreaterThanOrEqual(seconds, 2)
        XCTAssertLessThan(seconds, 20, "the stall was not detected in time")
        XCTAssertEqual(try world.assertBaseIntact(), base)
        world.assertNoStrayProcess()
        try world.assertLockReleased()
        try world.clearFaults()
        try world.assertNextUpdateRecovers(from: base)
    }

    // MARK: after the receive

    /// The destination's `zfs set` fails after a verified receive: the received snapshot is adopted by
    /// the next run instead of being sent again.
    func testDestinationPropertySetFailsAfterReceive() throws {
        try assertFault(
            #"{"tool":"zfs","sub":"set","host":"backup","effect":"fail","message":"cannot set property for 'backup/data': permission denied","when":"once"}"#,
            message: "zfs set on backup failed: cannot set property for 'backup/data': permission denied") { world in
            let before = world.calls().count
            try world.clearFaults()
            // No write on the source: the next run only adopts the received snapshot.
            let outcome = try world.zettabee("update", "backup/data")
            XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
            XCTAssertTrue(try world.logText.contains("did not record it; adopting it as the base"))
            let adopted = try world.assertBaseIntact()
            let sends = world.zfsCalls(["send"], from: before)
            XCTAssertEqual(sends.count, 1, "one incremental from the adopted base: \(sends)")
            XCTAssertTrue(sends.first?.contains { $0.hasSuffix("@" + adopted) } ?? false, "\(sends)")
        }
    }

    /// The source's `zfs set` fails after the destination recorded the new base: the next run completes
    /// the move: the source records the base, and the old base's holds are released on both sides.
    func testSourcePropertySetFailsAfterReceive() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        try world.fault(#"{"tool":"zfs","sub":"set","host":"src","effect":"fail","message":"cannot set property for 'tank/data': permission denied","when":"once"}"#)
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ")
        world.assertOneLineError(outcome, contains: "zfs set on src failed: cannot set property for 'tank/data': permission denied")
        world.assertNoStrayProcess()
        try world.assertLockReleased()
        // The destination moved on; the source still records (and holds) the old base.
        let moved = try XCTUnwrap(try world.lastSnapshot("backup", "backup/data"))
        XCTAssertNotEqual(moved, base)
        XCTAssertEqual(try world.lastSnapshot("src", "tank/data"), base)
        try world.clearFaults()
        try world.assertNextUpdateRecovers(from: base)
        XCTAssertEqual(try world.snapshots("src", "tank/data").count, 1, "older snapshots left on the source")
    }

    // MARK: the operator's mistakes

    func testDestinationModifiedIsRefusedThenRolledBackWithConsent() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "2M")
        try world.ctl("backup", "write", "backup/data", "1M")
        var sent = world.nagiosResults().count
        let refused = try world.zettabee("update", "backup/data")
        XCTAssertEqual(refused.exitCode, 1)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ")
        world.assertOneLineError(
            refused,
            contains: "destination backup/data has been modified since the base snapshot \(base); refusing to roll it back without --force-rollback or the pair option rollback=yes")
        XCTAssertEqual(try world.assertBaseIntact(), base)
        XCTAssertTrue(world.zfsCalls(["receive"]).allSatisfy { !$0.contains("-F") })
        world.assertNoStrayProcess()
        try world.assertLockReleased()

        sent = world.nagiosResults().count
        let forced = try world.zettabee("update", "backup/data", "--force-rollback")
        XCTAssertEqual(forced.exitCode, 0, forced.stderr)
        world.assertNagios(0, after: sent)
        XCTAssertTrue(world.zfsCalls(["receive"]).last?.contains("-F") ?? false)
        XCTAssertNotEqual(try world.assertBaseIntact(), base)

        // The pair option gives the same consent.
        try world.writeConfig("src:tank/data backup:backup/data port=\(world.port),rollback=yes\n")
        let second = try world.assertBaseIntact()
        try world.ctl("backup", "write", "backup/data", "1M")
        try world.ctl("src", "write", "tank/data", "1M")
        let optioned = try world.zettabee("update", "backup/data")
        XCTAssertEqual(optioned.exitCode, 0, optioned.stderr)
        XCTAssertNotEqual(try world.assertBaseIntact(), second)
    }

    func testBaseDestroyedOnSource() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.zfs("src", "release", "zettabee.\(try world.fingerprint)", "tank/data@\(base)")
        try world.zfs("src", "destroy", "tank/data@\(base)")
        try world.ctl("src", "write", "tank/data", "1M")
        let destinationBefore = try world.snapshots("backup", "backup/data")
        let before = world.calls().count
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ")
        world.assertOneLineError(
            outcome,
            contains: "pair is Inconsistent: base snapshot \(base) is missing on the source tank/data; to start over, destroy backup/data and run: zettabee initialize backup/data")
        XCTAssertEqual(world.zfsCalls(["snapshot", "send", "receive", "destroy", "set", "rollback", "hold", "release"], from: before), [])
        XCTAssertEqual(try world.snapshots("backup", "backup/data").mapValues(\.guid), destinationBefore.mapValues(\.guid))
        XCTAssertEqual(try world.lastSnapshot("backup", "backup/data"), base)
        world.assertNoStrayProcess()
        try world.assertLockReleased()
    }

    // MARK: concurrency

    /// Two updates of one pair started together: exactly one transfers, the other skips (exit 0).
    func testTwoUpdatesStartedTogether() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        // Slow the transfer down so that the runs overlap for sure.
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-rate","bytes_per_second":"4000000"}"#)
        let sent = world.nagiosResults().count
        let first = try world.start("update", "backup/data")
        let second = try world.start("update", "backup/data")
        let a = try XCTUnwrap(first.wait(seconds: 60)), b = try XCTUnwrap(second.wait(seconds: 60))
        XCTAssertEqual(a.exitCode, 0, a.stderr)
        XCTAssertEqual(b.exitCode, 0, b.stderr)
        XCTAssertEqual(a.stderr + b.stderr, "")
        XCTAssertEqual(world.zfsCalls(["snapshot"], host: "src").count, 2, "initialize and exactly one update")
        XCTAssertEqual(world.zfsCalls(["send"], host: "src").count, 2)
        XCTAssertTrue(try world.logText.contains("update skipped: another run holds the lock"))
        // Both report OK: the one that ran, and the one that skipped.
        XCTAssertEqual(world.nagiosResults().dropFirst(sent).map(\.code), [0, 0])
        XCTAssertNotEqual(try world.assertBaseIntact(), base)
        world.assertNoStrayProcess()
        try world.assertLockReleased()
    }

    // MARK: initialize

    /// A full transfer that fails leaves no destination and no snapshot on the source; the next
    /// initialize starts afresh.
    func testInitializeWithAKilledSender() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-kill-after","bytes":"1000000","when":"once"}"#)
        let outcome = try world.zettabee("initialize", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertOneLineError(outcome, action: "initialize", contains: "transfer failed: ")
        world.assertNagios(2, after: 0, prefix: "INITIALIZE backup/data: failed: ")
        XCTAssertEqual(try world.snapshots("src", "tank/data").count, 0, "the failed run's snapshot is left on the source")
        let listed = try world.fake("zfs", ["list", "backup/data"], host: "backup")
        XCTAssertNotEqual(listed.exitCode, 0, "a partial destination is left: \(listed.stdout)")
        XCTAssertNil(try world.lastSnapshot("src", "tank/data"))
        world.assertNoStrayProcess()
        try world.assertLockReleased()
        try world.clearFaults()
        try world.initialize()
        try world.assertBaseIntact()
    }
}
