import Foundation
import XCTest

/// Every outcome of an interrupted resumable update, and the GUID check after a receive.
final class ReliabilityResumeTests: XCTestCase {
    /// An initialized pair whose update was interrupted mid-receive: the destination holds a partial
    /// receive (`receive_resume_token`), the source the run's snapshot. Returns the base and that snapshot.
    func interruptedUpdate(_ world: ReliabilityWorld) throws -> (base: String, pending: String) {
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        try world.fault(#"{"tool":"zfs","sub":"receive","host":"backup","effect":"recv-fail-after","bytes":"1000000","when":"once"}"#)
        let failed = try world.zettabee("update", "backup/data")
        XCTAssertEqual(failed.exitCode, 1, failed.stderr)
        // The source's side of the failed transfer may take a moment to notice it.
        world.assertNoStrayProcess()
        try world.clearFaults()
        XCTAssertTrue(try token(world).hasPrefix("1-"), "no partial receive was saved")
        let pending = try XCTUnwrap(try world.snapshots("src", "tank/data").keys.first { $0 != base })
        return (base, pending)
    }

    func token(_ world: ReliabilityWorld) throws -> String {
        try world.zfs("backup", "get", "-H", "-o", "value", "receive_resume_token", "backup/data")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The next update gave the partial receive up for `reason` (`receive -A`), then sent a fresh
    /// incremental from the base, which moved.
    func assertAbortedAndStartedOver(_ world: ReliabilityWorld, base: String, reason: String, from: Int,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try world.zettabee("update", "backup/data", file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr, file: file, line: line)
        let log = try world.logText
        XCTAssertTrue(log.contains("discarding the partial receive on backup/data: \(reason)"), log, file: file, line: line)
        let receives = world.zfsCalls(["receive", "recv"], from: from, host: "backup")
        XCTAssertTrue(receives.contains(["receive", "-A", "backup/data"]), "\(receives)", file: file, line: line)
        let sends = world.zfsCalls(["send"], from: from, host: "src")
        XCTAssertTrue(sends.last?.starts(with: ["send", "-L", "-c", "-e", "-i", "tank/data@\(base)"]) ?? false, "\(sends)", file: file, line: line)
        XCTAssertEqual(try token(world), "-", file: file, line: line)
        XCTAssertNotEqual(try world.assertBaseIntact(file: file, line: line), base, file: file, line: line)
        world.assertNoStrayProcess(file: file, line: line)
        try world.assertLockReleased(file: file, line: line)
    }

    func testInterruptedUpdateIsResumedWithTheToken() throws {
        let world = try ReliabilityWorld()
        let (base, pending) = try interruptedUpdate(world)
        let tokenBefore = try token(world)
        let from = world.calls().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        let sends = world.zfsCalls(["send"], from: from, host: "src")
        // Checked with a dry run first, then resumed.
        XCTAssertEqual(Array(sends.prefix(2)), [["send", "-n", "-t", tokenBefore], ["send", "-t", tokenBefore]])
        XCTAssertTrue(try world.logText.contains("resumed receive completed: base \(pending)"))
        // The resumed snapshot arrived; the same run then sent the rest and moved the base past it.
        XCTAssertNotNil(try world.snapshots("backup", "backup/data")[pending])
        XCTAssertEqual(try token(world), "-")
        XCTAssertNotEqual(try world.assertBaseIntact(), base)
    }

    func testResumeOfAVanishedSnapshotStartsOver() throws {
        let world = try ReliabilityWorld()
        let (base, pending) = try interruptedUpdate(world)
        // The run held its snapshot when it took it: only someone who releases that hold can destroy it.
        XCTAssertThrowsError(try world.zfs("src", "destroy", "tank/data@\(pending)"), "the hold protects it")
        try world.zfs("src", "release", "zettabee.\(try world.fingerprint)", "tank/data@\(pending)")
        try world.zfs("src", "destroy", "tank/data@\(pending)")
        try assertAbortedAndStartedOver(
            world, base: base, reason: "the partial receive on backup/data matches no snapshot of this pair on the source",
            from: world.calls().count)
    }

    func testResumeOfASnapshotThatIsNoLongerTheSameStartsOver() throws {
        let world = try ReliabilityWorld()
        let (base, pending) = try interruptedUpdate(world)
        // Same name, another snapshot (another GUID).
        try world.zfs("src", "release", "zettabee.\(try world.fingerprint)", "tank/data@\(pending)")
        try world.zfs("src", "destroy", "tank/data@\(pending)")
        try world.zfs("src", "snapshot", "tank/data@\(pending)")
        try assertAbortedAndStartedOver(
            world, base: base, reason: "zfs refused to resume", from: world.calls().count)
        XCTAssertTrue(try world.logText.contains("is no longer the same snapshot"))
    }

    func testCorruptTokenStartsOver() throws {
        let world = try ReliabilityWorld()
        let (base, _) = try interruptedUpdate(world)
        // The first read of the destination reports a corrupt token instead of the real one.
        let properties = "guid,createtxg,creation,zettabee:\(try world.fingerprint):source,zettabee:\(try world.fingerprint):destination,zettabee:\(try world.fingerprint):lastsnap,zettabee:fingerprint,receive_resume_token"
        let real = try world.zfs("backup", "get", "-H", "-p", "-d", "1", "-o", "name,property,value,source", properties, "backup/data")
        let corrupt = real.replacingOccurrences(
            of: #"receive_resume_token\t1-[^\t]*\t"#, with: "receive_resume_token\t1-0-0-00\t", options: .regularExpression)
        XCTAssertNotEqual(corrupt, real)
        let rule: [String: String] = [
            "tool": "zfs", "sub": "get", "host": "backup", "match": "*receive_resume_token*", "effect": "output",
            "stdout": corrupt, "when": "once",
        ]
        try world.fault(String(decoding: try JSONSerialization.data(withJSONObject: rule), as: UTF8.self))
        try assertAbortedAndStartedOver(world, base: base, reason: "zfs refused to resume", from: world.calls().count)
        XCTAssertTrue(try world.logText.contains("resume token is corrupt"))
    }

    /// A partial receive that another tool left (not of a snapshot of this pair).
    func testPartialStateOfAnotherToolIsDiscarded() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        try world.zfs("src", "snapshot", "tank/data@manual")
        let script = "zfs send -i tank/data@\(base) tank/data@manual | ZFAKE_HOST=backup zfs receive -s backup/data"
        try world.fault(#"{"tool":"zfs","sub":"receive","host":"backup","effect":"recv-fail-after","bytes":"1000000","when":"once"}"#)
        var env = world.environment
        env["ZFAKE_HOST"] = "src"
        let manual = try TestProcess.run("/bin/sh", ["-c", script], environment: env, timeout: 30)
        XCTAssertNotEqual(manual.exitCode, 0)
        try world.clearFaults()
        XCTAssertTrue(try token(world).hasPrefix("1-"))
        try assertAbortedAndStartedOver(
            world, base: base, reason: "the partial receive on backup/data matches no snapshot of this pair on the source",
            from: world.calls().count)
        XCTAssertNotNil(try world.snapshots("src", "tank/data")["manual"], "a snapshot zettabee did not make was destroyed")
    }

    /// "contains partially-complete state": a resume whose stream zfs takes for a new one.
    func testPartiallyCompleteStateStartsOver() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        try world.ctl("src", "write", "tank/data", "5M")
        // A corrupted stream saves the partial state at offset 0: its resume stream is refused.
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-corrupt-at","bytes":"1000000","when":"once"}"#)
        XCTAssertEqual(try world.zettabee("update", "backup/data").exitCode, 1)
        try world.clearFaults()
        XCTAssertTrue(try token(world).hasPrefix("1-"))
        try assertAbortedAndStartedOver(world, base: base, reason: "zfs refused to resume", from: world.calls().count)
        XCTAssertTrue(try world.logText.contains("partially-complete state"))
    }

    /// A resume that fails the same way twice is given up: no endless loop.
    func testResumeFailingTwiceFallsBackToAFreshIncremental() throws {
        let world = try ReliabilityWorld()
        let (base, _) = try interruptedUpdate(world)
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","match":"send -t *","effect":"fail","message":"warning: cannot send 'tank/data': Input/output error"}"#)
        let first = try world.zettabee("update", "backup/data")
        XCTAssertEqual(first.exitCode, 1)
        // The failing send is named; the receive left with a short stream is its consequence.
        world.assertOneLineError(first, contains: "Input/output error")
        XCTAssertEqual(try world.assertBaseIntact(), base)
        XCTAssertTrue(try token(world).hasPrefix("1-"), "the partial receive was given up after one failure")
        let from = world.calls().count
        try assertAbortedAndStartedOver(world, base: base, reason: "the resume failed twice", from: from)
        XCTAssertEqual(world.zfsCalls(["send"], from: from, host: "src").filter { $0.starts(with: ["send", "-t"]) }.count, 1)
    }

    // MARK: GUID verification

    /// The destination reports, after the receive, a snapshot with another GUID than the source's (a
    /// stream that was not ours): the pair is Inconsistent, the base does not move.
    func testGUIDMismatchAfterReceiveKeepsTheBase() throws {
        let world = try ReliabilityWorld()
        try world.standardSetup()
        try world.initialize()
        let base = try world.assertBaseIntact()
        let fingerprint = try world.fingerprint
        // A pair snapshot stamped in the future makes the next snapshot's name predictable.
        try world.zfs("src", "snapshot", "tank/data@zettabee.\(fingerprint).20991231235959UTC")
        let next = "zettabee.\(fingerprint).21000101000000UTC"
        try world.ctl("src", "write", "tank/data", "2M")
        // The second read of the destination (the verification) sees the new snapshot with another GUID.
        let forged = "backup/data\tguid\t1\t-\nbackup/data@\(next)\tguid\t424242\t-\nbackup/data@\(next)\tcreatetxg\t999\t-\n"
        let rule: [String: String] = [
            "tool": "zfs", "sub": "get", "host": "backup", "effect": "output", "stdout": forged, "when": "nth", "nth": "2",
        ]
        try world.fault(String(decoding: try JSONSerialization.data(withJSONObject: rule), as: UTF8.self))
        let sent = world.nagiosResults().count
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 1)
        world.assertNagios(2, after: sent, prefix: "UPDATE backup/data: failed: ")
        world.assertOneLineError(outcome, contains: "GUID mismatch after receive of \(next): source ")
        XCTAssertTrue(outcome.stderr.contains("destination 424242; pair is Inconsistent"), outcome.stderr)
        XCTAssertEqual(try world.assertBaseIntact(), base)
        XCTAssertEqual(try world.snapshots("backup", "backup/data")[next]?.holds, [], "an unverified snapshot was held")
        world.assertNoStrayProcess()
        try world.assertLockReleased()
        try world.clearFaults()
        try world.assertNextUpdateRecovers(from: base)
    }
}
