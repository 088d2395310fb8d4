import Foundation
import XCTest

/// Updates that fail — the sender, the receiver or the network — leave the base intact on both sides,
/// release the lock, and the next update (the fault gone) succeeds.
final class FakeTierFailureTests: XCTestCase {
    static let sendFails = ["tool": "zfs", "sub": "send", "host": "src", "effect": "send-fail-after", "bytes": "100000"]

    func testSenderFailsMidStreamOverSSH() throws {
        try failedUpdate(options: "", fault: Self.sendFails, words: ["transfer failed", "zfs send", "Input/output error"])
    }

    /// Over mbuffer the send's failure reaches zettabee through ssh, while the local receive sees the
    /// stream end: the receive's "incomplete stream" is a consequence, the send is named.
    func testSenderFailsMidStreamOverMbuffer() throws {
        try failedUpdate(options: "port=\(try FakeTierWorld.freePort())", fault: Self.sendFails,
                         words: ["transfer failed", "zfs send on src failed: warning: cannot send", "Input/output error"])
    }

    func testSenderCorruptsTheStream() throws {
        try failedUpdate(options: "compress=lz4",
                         fault: ["tool": "zfs", "sub": "send", "host": "src", "effect": "send-corrupt-at", "bytes": "200000"],
                         words: ["transfer failed", "zfs receive", "checksum mismatch"])
    }

    func testReceiverFailsAtStart() throws {
        try failedUpdate(options: "compress=zstd", fault: ["tool": "zfs", "sub": "receive", "effect": "recv-fail"],
                         words: ["transfer failed", "zfs receive", "Input/output error"])
    }

    func testReceiverFailsMidStreamOverMbuffer() throws {
        try failedUpdate(options: "port=\(try FakeTierWorld.freePort())",
                         fault: ["tool": "zfs", "sub": "receive", "effect": "recv-fail-after", "bytes": "100000"],
                         words: ["transfer failed", "zfs receive", "incomplete stream"])
    }

    func testSSHConnectionDropsDuringTheTransfer() throws {
        try failedUpdate(options: "", fault: ["tool": "ssh", "effect": "drop", "bytes": "100000", "match": "*zfs send*"],
                         words: ["transfer failed", "Connection to src closed"])
    }

    /// A short run directory: the pair's control commands share one ssh connection, and the stream's
    /// ssh is one of its clients; the stream cut short there is the same failure.
    func testSSHConnectionDropsDuringAMultiplexedTransfer() throws {
        try failedUpdate(options: "", fault: ["tool": "ssh", "effect": "drop", "bytes": "100000", "match": "*zfs send*"],
                         words: ["transfer failed", "Connection to src closed"], label: "mux", multiplexedStream: true)
    }

    /// With a decompressor between ssh and the receive, the decompressor's premature end of its input
    /// is a consequence: ssh's own message is reported.
    func testSSHConnectionDropsDuringACompressedTransfer() throws {
        try failedUpdate(options: "compress=zstd",
                         fault: ["tool": "ssh", "effect": "drop", "bytes": "100000", "match": "*zfs send*"],
                         words: ["transfer failed", "Connection to src closed"])
    }

    func testMbufferConnectionDrops() throws {
        try failedUpdate(options: "port=\(try FakeTierWorld.freePort())", fault: ["tool": "mbuffer", "effect": "drop", "bytes": "100000"],
                         words: ["transfer failed", "mbuffer", "Connection reset by peer"])
    }

    func testMbufferConnectionRefused() throws {
        try failedUpdate(options: "port=\(try FakeTierWorld.freePort())", fault: ["tool": "mbuffer", "effect": "refused"],
                         words: ["transfer failed", "mbuffer"])
    }

    /// The receive, finding no stream, may end before ssh's own exit is seen; its failure is a
    /// consequence, and ssh's refusal is reported.
    func testSSHRefusedForTheTransfer() throws {
        try failedUpdate(options: "", fault: ["tool": "ssh", "effect": "refused", "match": "*zfs send*"],
                         words: ["transfer failed", "ssh: connect to host src port 22: Connection refused"])
    }

    func testSSHRefusedFromTheStart() throws {
        try failedUpdate(options: "", fault: ["tool": "ssh", "effect": "refused"],
                         words: ["on src failed", "Connection refused"], snapshotAttempted: false)
    }

    func testSnapshotCreationFails() throws {
        try failedUpdate(options: "", fault: ["tool": "zfs", "sub": "snapshot", "host": "src", "effect": "fail",
                                              "message": "cannot create snapshot 'tank/data@x': out of space"],
                         words: ["zfs snapshot on src failed", "out of space"], transferAttempted: false)
    }

    /// The hold that keeps the new snapshot is taken in the snapshot's own round trip: when it fails, the
    /// snapshot is destroyed again and nothing is sent.
    func testHoldingTheNewSnapshotFails() throws {
        try failedUpdate(options: "", fault: ["tool": "zfs", "sub": "hold", "host": "src", "effect": "fail", "when": "once",
                                              "message": "cannot hold snapshot 'tank/data@x': permission denied"],
                         words: ["zfs hold on src failed", "permission denied"], transferAttempted: false, discardedUnsent: true)
    }

    /// The scenario: initialize, write, update with `fault` → exit 1 and one line with `words`; both sides
    /// exactly as before; the lock gone; then, without the fault, the next update succeeds.
    func failedUpdate(options: String, fault: [String: String], words: [String], anyOf: [String] = [], snapshotAttempted: Bool = true,
                      transferAttempted: Bool = true, discardedUnsent: Bool = false, label: String? = nil,
                      multiplexedStream: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        // (The test's name makes a run directory too long for an ssh control socket: nothing is shared.)
        let world = try FakeTierWorld(label ?? name)
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data  \(options)")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data", file: file, line: line)
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                file: file, line: line)
        try world.ctl("src", "write", "tank/data", "2M")
        let before = try world.pairState(source: "tank/data", destination: "backup/data")

        try world.addFault(fault)
        try world.clearCalls()
        let outcome = try world.zettabee("update", "backup/data", file: file, line: line)
        let reason = world.expectFailure(outcome, action: "update", destination: "backup/data", words: words, file: file, line: line)
        if !anyOf.isEmpty {
            XCTAssertTrue(anyOf.contains { reason.contains($0) }, "'\(reason)' mentions none of \(anyOf)", file: file, line: line)
        }
        try world.clearFaults()

        // The base and the recorded state are intact on both sides.
        let after = try world.pairState(source: "tank/data", destination: "backup/data")
        XCTAssertEqual(after.destinationSnapshots, before.destinationSnapshots, "destination snapshots", file: file, line: line)
        XCTAssertEqual(after.destinationProperties, before.destinationProperties, file: file, line: line)
        XCTAssertEqual(after.destinationReferenced, before.destinationReferenced, file: file, line: line)
        XCTAssertEqual(after.sourceProperties, before.sourceProperties, file: file, line: line)
        XCTAssertEqual(after.sourceSnapshots.filter { before.sourceSnapshots[$0.key] != nil }, before.sourceSnapshots,
                       "source snapshots", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.lockPath(fingerprint)), "lock released", file: file, line: line)
        XCTAssertTrue(world.log(fingerprint).contains("ERROR update failed: "), file: file, line: line)
        let streamSSH = try world.calls().filter { $0.tool == "ssh" && $0.line.contains("zfs send") }
        XCTAssertEqual(streamSSH.map { $0.argv.contains("ControlMaster=no") }, streamSSH.isEmpty ? [] : [multiplexedStream],
                       "the stream's ssh: \(streamSSH.map(\.line))", file: file, line: line)
        let snapshots = try world.zfsCalls("snapshot", on: "src")
        XCTAssertEqual(snapshots.count, snapshotAttempted ? 1 : 0, file: file, line: line)
        // The run's own snapshot is destroyed by the run itself, unless the destination saved the
        // partial receive: then it stays, for the next run to resume.
        let kept = after.sourceSnapshots.keys.filter { before.sourceSnapshots[$0] == nil }
        let partial = try world.dataset("backup", "backup/data").partial
        var resumable = false
        if let taken = snapshots.first?.argv.last, transferAttempted {
            if let name = kept.first {
                XCTAssertEqual(kept.count, 1, file: file, line: line)
                XCTAssertEqual("tank/data@\(name)", taken, file: file, line: line)
                XCTAssertEqual(partial?.toname, taken, "kept only for resuming the partial receive", file: file, line: line)
                XCTAssertTrue(try world.zfsCalls("destroy", on: "src").isEmpty, file: file, line: line)
                resumable = true
            } else {
                XCTAssertNil(partial, file: file, line: line)
                // (a destroy refused while the torn-down sender still held the snapshot is retried)
                XCTAssertEqual(try world.zfsCalls("destroy", on: "src").filter { $0.exit == 0 }.map(\.line), ["destroy \(taken)"],
                               file: file, line: line)
            }
        } else {
            XCTAssertEqual(kept, [], file: file, line: line)
            let destroyed = try world.zfsCalls("destroy", on: "src").filter { $0.exit == 0 }.map(\.line)
            XCTAssertEqual(destroyed, discardedUnsent ? snapshots.compactMap(\.argv.last).map { "destroy \($0)" } : [],
                           file: file, line: line)
            XCTAssertTrue(try world.calls().allSatisfy { !($0.tool == "zfs" && ["send", "receive", "recv"].contains($0.argv.first ?? "")) },
                          "nothing was sent", file: file, line: line)
        }
        XCTAssertTrue(try world.zfsCalls("set", on: "src").isEmpty, file: file, line: line)
        XCTAssertTrue(try world.zfsCalls("set", on: "backup").isEmpty, file: file, line: line)

        try world.expectSuccess(try world.zettabee("update", "backup/data", file: file, line: line), file: file, line: line)
        let next = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                file: file, line: line)
        XCTAssertNotEqual(next, base, file: file, line: line)
        let received = try world.dataset("backup", "backup/data").snapshotNames
        XCTAssertEqual(received.first, base, file: file, line: line)
        XCTAssertEqual(received.last, next, file: file, line: line)
        XCTAssertNil(try world.dataset("backup", "backup/data").partial, file: file, line: line)
        // A kept partial receive is resumed (its snapshot becomes a base on the way) or, when zfs
        // cannot continue it, given up; either way the log says which.
        let log = world.log(fingerprint)
        let resumed = log.contains("resumed receive completed")
        if resumable {
            XCTAssertTrue(resumed || log.contains("discarding the partial receive"), log, file: file, line: line)
        } else {
            XCTAssertFalse(log.contains("resuming the interrupted receive"), file: file, line: line)
        }
        XCTAssertEqual(received.count, resumed ? 3 : 2, "\(received)", file: file, line: line)
    }

    /// The receive committed the snapshot but zfs receive still failed (here: right after the stream).
    /// The destination then holds the new snapshot: the run must keep its source twin so that the next
    /// update can adopt it instead of being refused forever.
    func testReceiveThatCommittedBeforeFailingIsAdoptedByTheNextUpdate() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data")
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        try world.ctl("src", "write", "tank/data", "1M")

        try world.addFault(["tool": "zfs", "sub": "receive", "effect": "recv-fail", "at": "end"])
        let failed = try world.zettabee("update", "backup/data")
        world.expectFailure(failed, action: "update", destination: "backup/data", words: ["zfs receive", "Input/output error"])
        try world.clearFaults()
        let names = PairPropertyNames(fingerprint: fingerprint)
        let destination = try world.dataset("backup", "backup/data")
        let source = try world.dataset("src", "tank/data")
        XCTAssertEqual(destination.property(names.lastsnap), base, "the base did not move")
        XCTAssertEqual(source.property(names.lastsnap), base)
        let received = try XCTUnwrap(destination.snapshotNames.last)
        XCTAssertNotEqual(received, base)
        XCTAssertEqual(source.snapshot(received)?.guid, destination.snapshot(received)?.guid,
                       "the source keeps the snapshot the destination received")

        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertTrue(world.log(fingerprint).contains("adopting it as the base"))
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshotNames.first, base)
        XCTAssertTrue(try world.dataset("backup", "backup/data").snapshotNames.contains(received))
        XCTAssertNotEqual(next, base)
    }
}
