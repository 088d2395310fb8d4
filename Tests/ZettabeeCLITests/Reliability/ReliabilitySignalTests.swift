import Foundation
import XCTest
import Zettabee

#if canImport(Glibc)
import Glibc
#endif

/// Signals to zettabee in the middle of a transfer: SIGINT and SIGTERM end the run cleanly (children
/// gone within 5 s, exit 128+N); after SIGKILL the ssh master ends by itself, and the next run finds the
/// stale lock, stops the orphans and recovers.
final class ReliabilitySignalTests: XCTestCase {
    /// A pair whose update stalls mid-stream (the send stops after 1 MB), so that a signal surely lands
    /// during the transfer. Returns the world, the base and the running update once the lock records
    /// the transfer's processes.
    func startStalledUpdate(file: StaticString = #filePath, line: UInt = #line) throws
        -> (ReliabilityWorld, String, SignalledRun, [Int32])
    {
        let world = try ReliabilityWorld()
        try world.standardSetup(options: "port=\(ReliabilityWorld.freePort()),stall=60s")
        try world.initialize()
        let base = try world.assertBaseIntact(file: file, line: line)
        try world.ctl("src", "write", "tank/data", "5M")
        try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-stall-after","bytes":"1000000","when":"once"}"#)
        let run = try world.start("update", "backup/data")
        // Handshake: both pipelines' processes are recorded in the lock (mbuffer and receive here, the
        // ssh of the sender), and the stalled send is running on the source.
        var children: [Int32] = []
        let recorded = waitUntil(seconds: 20) {
            children = (try? world.lockChildren()) ?? []
            return children.count >= 3
        }
        XCTAssertTrue(recorded, "the transfer's processes were not recorded in the lock: \(children)", file: file, line: line)
        XCTAssertTrue(children.allSatisfy(isRunning), "recorded children not running", file: file, line: line)
        return (world, base, run, children)
    }

    func assertInterrupted(by signal: Int32, exitCode: Int32) throws {
        let (world, base, run, children) = try startStalledUpdate()
        let reported = world.nagiosResults().count
        let sent = Date()
        run.signal(signal)
        let outcome = try XCTUnwrap(run.wait(seconds: 10), "zettabee did not end after signal \(signal)")
        XCTAssertEqual(outcome.exitCode, exitCode, outcome.stderr)
        XCTAssertFalse(outcome.signaled)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("zettabee: error: update backup/data: "), outcome.stderr)
        world.assertNagios(2, after: reported, prefix: "UPDATE backup/data: interrupted: ")
        let gone = waitUntil(seconds: max(0.1, 5 - Date().timeIntervalSince(sent))) {
            !children.contains(where: isRunning) && world.strayProcesses().isEmpty
        }
        XCTAssertTrue(gone, "children left 5 s after the signal: \(world.strayProcesses().map(world.describeProcess))")
        XCTAssertEqual(try world.assertBaseIntact(), base)
        try world.assertLockReleased()
        try world.clearFaults()
        try world.assertNextUpdateRecovers(from: base)
    }

    func testSIGINTMidTransfer() throws { try assertInterrupted(by: SIGINT, exitCode: 130) }

    func testSIGTERMMidTransfer() throws { try assertInterrupted(by: SIGTERM, exitCode: 143) }

    func testSIGKILLMidTransferIsRecoveredByTheNextRun() throws {
        let (world, base, run, children) = try startStalledUpdate()
        let masters = { world.strayProcesses().filter { world.describeProcess($0).contains("ControlMaster=yes") } }
        XCTAssertEqual(masters().count, 1, "the run's ssh master is up")
        run.signal(SIGKILL)
        let outcome = try XCTUnwrap(run.wait(seconds: 10))
        XCTAssertTrue(outcome.signaled)
        // No connection outlives its run: the master ends by itself, with no next run to reap it.
        XCTAssertTrue(waitUntil(seconds: 5) { masters().isEmpty },
                      "the ssh master outlived its run: \(masters().map(world.describeProcess))")
        // The killed run's children live on (each leads its own process group), and the lock says so.
        XCTAssertTrue(children.contains(where: isRunning), "no orphan survived: the test proves nothing")
        guard case .stale(let holder) = PairLock.inspect(path: try world.lockPath) else {
            return XCTFail("the lock is not stale")
        }
        XCTAssertEqual(holder?.pid, run.pid)
        let reported = world.nagiosResults().count

        try world.clearFaults()
        let next = try world.zettabee("update", "backup/data")
        XCTAssertEqual(next.exitCode, 0, next.stderr)
        world.assertNagios(0, after: reported)
        let log = try world.logText
        XCTAssertTrue(log.contains("found a stale lock of pid \(run.pid)"), log)
        XCTAssertTrue(log.contains("left running by the dead run"), log)
        XCTAssertFalse(children.contains(where: isRunning), "orphans still running")
        world.assertNoStrayProcess()
        try world.assertLockReleased()
        let newBase = try world.assertBaseIntact()
        XCTAssertNotEqual(newBase, base)
        XCTAssertNil(try world.snapshots("src", "tank/data")[base])
    }
}
