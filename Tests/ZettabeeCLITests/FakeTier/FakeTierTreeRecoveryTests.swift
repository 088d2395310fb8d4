import Foundation
import XCTest

/// A pair whose source has a child: a failure inside the child's part of the recursive stream never
/// costs the common base, status tells the truth in the meantime, and the next run recovers the tree
/// by itself.
final class FakeTierTreeRecoveryTests: XCTestCase {
    /// `tank/data` (2 MiB) with `tank/data/kid` (1 MiB), initialized; then 1 MiB new on each. Returns the
    /// world, the fingerprint and the base. `legacy`: pools of zfs-fuse's kind (no resumable receive).
    func treeWithNewData(_ label: String, legacy: Bool = false) throws -> (FakeTierWorld, String, String) {
        let world = try FakeTierWorld(label)
        try world.treeHosts(legacy: legacy)
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data")
        let base = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "1M")
        return (world, fingerprint, base)
    }

    /// The receive stops 1.5 MiB into the stream: past the parent's 1 MiB, inside the child's part.
    static let inTheChildsPart = ["tool": "zfs", "sub": "receive", "effect": "recv-fail-after", "bytes": "1572864"]

    /// OpenZFS (resumable receives): the parent has the new snapshot, the child a partial receive. The
    /// base stays on both sides of every dataset, status says Resumable naming the child, and the next
    /// update resumes the child and adopts the snapshot for the whole tree.
    func testAReceiveFailingInTheChildsPartIsResumedByTheNextUpdate() throws {
        let (world, fingerprint, base) = try treeWithNewData(name)
        try world.addFault(Self.inTheChildsPart)
        let failed = try world.zettabee("update", "backup/data")
        world.expectFailure(failed, action: "update", destination: "backup/data", words: ["transfer failed"])
        try world.clearFaults()
        let kid = try world.dataset("backup", "backup/data/kid")
        XCTAssertNotNil(kid.partial, "the child keeps its partial receive")
        try world.expectBaseOnEveryDataset(base, children: ["/kid"])
        let taken = try XCTUnwrap(try world.dataset("backup", "backup/data").snapshotNames.last)
        XCTAssertNotEqual(taken, base, "the parent received the new snapshot")

        // Status, check and Nagios do not say Synchronized.
        let status = try world.zettabee("status", "-H")
        XCTAssertEqual(status.exitCode, 0, status.stderr)
        XCTAssertEqual(status.stdout.split(separator: "\t").dropFirst(2).first, "Resumable", status.stdout)
        let json = try world.zettabee("status", "--json")
        XCTAssertTrue(json.stdout.contains("\"state\" : \"Resumable\""), json.stdout)
        XCTAssertTrue(json.stdout.contains("backup/data/kid holds a partial receive"), json.stdout)
        let check = try world.zettabee("check", "backup/data")
        XCTAssertNotEqual(check.exitCode, 0, "check: \(check.stdout)")
        XCTAssertTrue(check.stdout.contains("backup/data/kid"), check.stdout)

        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        XCTAssertNotEqual(next, base)
        let log = world.log(fingerprint)
        XCTAssertTrue(log.contains("resuming the interrupted receive of tank/data/kid@\(taken) into backup/data/kid"), log)
        XCTAssertTrue(try world.dataset("backup", "backup/data/kid").snapshotNames.contains(taken))
    }

    /// Old zfs (no resumable receive): the child's part is rolled back by zfs, the parent keeps the new
    /// snapshot. The next update sends the same stream again (the parent's part is skipped) and moves
    /// the base for the whole tree; it never adopts the parent's snapshot alone.
    func testOnOldZfsAPartlyReceivedTreeIsCompletedByTheNextUpdate() throws {
        let (world, fingerprint, base) = try treeWithNewData(name, legacy: true)
        try world.addFault(Self.inTheChildsPart)
        world.expectFailure(try world.zettabee("update", "backup/data"), action: "update", destination: "backup/data",
                            words: ["transfer failed"])
        try world.clearFaults()
        try world.expectBaseOnEveryDataset(base, children: ["/kid"])
        let taken = try XCTUnwrap(try world.dataset("backup", "backup/data").snapshotNames.last)
        XCTAssertNotEqual(taken, base)
        XCTAssertNil(try world.dataset("backup", "backup/data/kid").snapshot(taken))
        XCTAssertNotNil(try world.dataset("src", "tank/data/kid").snapshot(taken), "the source keeps the new snapshot")
        let status = try world.zettabee("status", "-H")
        XCTAssertTrue(status.stdout.contains("\tResumable\t"), status.stdout)

        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        let log = world.log(fingerprint)
        XCTAssertFalse(log.contains("adopting it as the base"), log)
        XCTAssertTrue(log.contains("completing the interrupted transfer of \(taken)"), log)
        XCTAssertEqual(try world.zfsCalls("send", on: "src").first?.line, "send -R -i tank/data@\(base) tank/data@\(taken)")
        XCTAssertNotEqual(next, base)
    }

    /// Where zfs will not complete the partly received tree (here it refuses the stream sent again),
    /// the datasets that moved on are rolled back to the base and the update sends from it.
    func testAPartlyReceivedTreeThatCannotBeCompletedIsRolledBackToTheBase() throws {
        let (world, fingerprint, base) = try treeWithNewData(name, legacy: true)
        try world.addFault(Self.inTheChildsPart)
        world.expectFailure(try world.zettabee("update", "backup/data"), action: "update", destination: "backup/data",
                            words: ["transfer failed"])
        try world.clearFaults()
        let taken = try XCTUnwrap(try world.dataset("backup", "backup/data").snapshotNames.last)
        try world.addFault([
            "tool": "zfs", "sub": "receive", "effect": "recv-fail", "when": "once",
            "message": "cannot receive incremental stream: most recent snapshot of backup/data/kid does not\nmatch incremental source",
        ])
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        XCTAssertNotEqual(next, taken)
        let log = world.log(fingerprint)
        XCTAssertTrue(log.contains("rolling backup/data back to \(base): \(taken) came from an interrupted transfer"), log)
        XCTAssertNil(try world.dataset("backup", "backup/data").snapshot(taken), "the interrupted transfer's snapshot is gone")
        XCTAssertNil(try world.dataset("src", "tank/data").snapshot(taken), "and so is its source")
    }

    /// A rollback that would destroy a snapshot this pair did not make is not done: update fails with one
    /// line naming the dataset and the snapshot, exit 1, and both trees keep their base and properties.
    func testARollbackOverAnotherToolsSnapshotIsRefusedNamingIt() throws {
        let (world, fingerprint, base) = try treeWithNewData(name, legacy: true)
        try world.addFault(Self.inTheChildsPart)
        world.expectFailure(try world.zettabee("update", "backup/data"), action: "update", destination: "backup/data",
                            words: ["transfer failed"])
        try world.clearFaults()
        XCTAssertEqual(try world.zfs(on: "backup", ["snapshot", "backup/data@mine"]).exitCode, 0)
        try world.addFault([
            "tool": "zfs", "sub": "receive", "effect": "recv-fail", "when": "once",
            "message": "cannot receive incremental stream: most recent snapshot of backup/data/kid does not\nmatch incremental source",
        ])
        let before = try world.pairState(source: "tank/data", destination: "backup/data")
        let refused = try world.zettabee("update", "backup/data")
        world.expectFailure(refused, action: "update", destination: "backup/data",
                            words: ["cannot roll backup/data back to the base \(base)", "mine", "--force-rollback"])
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before, "nothing was rolled back")
        try world.expectBaseOnEveryDataset(base, children: ["/kid"])
        XCTAssertNotNil(try world.dataset("backup", "backup/data").snapshot("mine"))
        XCTAssertTrue(world.log(fingerprint).contains("cannot roll backup/data back"), world.log(fingerprint))
    }

    /// A `zfs release` of the old base that failed (the connection dropped at that moment) leaves it held;
    /// the next update releases it and destroys it on the source, without retrying a busy destroy.
    func testAnOldBaseLeftHeldIsReleasedAndDestroyedByTheNextUpdate() throws {
        let (world, fingerprint, base) = try treeWithNewData(name)
        try world.addFault(["tool": "zfs", "sub": "release", "host": "src", "effect": "fail", "message": "ssh: connection lost"])
        let outcome = try world.zettabee("update", "backup/data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        try world.clearFaults()
        XCTAssertEqual(try world.dataset("src", "tank/data").snapshot(base)?.holds.isEmpty, false, "the old base stayed held")
        XCTAssertNotNil(try world.dataset("src", "tank/data/kid").snapshot(base))

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "1M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        _ = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        XCTAssertNil(try world.dataset("src", "tank/data").snapshot(base), "the old base is gone from the source")
        XCTAssertEqual(try world.zfsCalls("release", on: "src").first?.line, "release -r zettabee.\(fingerprint) tank/data@\(base)")
        XCTAssertFalse(try world.zfsCalls("destroy", on: "src").contains { $0.exit != 0 }, "no destroy refused as busy")
    }

    /// An initialize that fails in the child's part leaves nothing behind on the destination, and the
    /// next initialize succeeds.
    func testAnInitializeFailingInTheChildsPartLeavesNothingAndCanBeRunAgain() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/data/kid")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "2M")
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.expectSuccess(try world.zettabee("setup"))
        try world.addFault(["tool": "zfs", "sub": "receive", "effect": "recv-fail-after", "bytes": "3145728"])
        world.expectFailure(try world.zettabee("initialize", "backup/data"), action: "initialize", destination: "backup/data",
                            words: ["transfer failed"])
        try world.clearFaults()
        XCTAssertNil(try world.dump("backup").datasets["backup/data"], "the partly received tree was removed")
        XCTAssertEqual(try world.dataset("src", "tank/data").snapshotNames, [], "the source snapshot was removed")
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        _ = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
    }

    /// A child destroyed on the destination while its source holds the base: Inconsistent, naming it; the
    /// update changes nothing.
    func testAChildMissingOnTheDestinationMakesThePairInconsistentNamingIt() throws {
        let (world, fingerprint, base) = try treeWithNewData(name)
        // An operator removes the child's copy (its base is held: released first).
        XCTAssertEqual(try world.zfs(on: "backup", ["release", "zettabee.\(fingerprint)", "backup/data/kid@\(base)"]).exitCode, 0)
        let destroyed = try world.zfs(on: "backup", ["destroy", "-r", "backup/data/kid"])
        XCTAssertEqual(destroyed.exitCode, 0, destroyed.stderr)
        let before = try world.pairState(source: "tank/data", destination: "backup/data")
        let status = try world.zettabee("status", "-H")
        XCTAssertTrue(status.stdout.contains("\tInconsistent!\t"), status.stdout)
        world.expectFailure(try world.zettabee("update", "backup/data"), action: "update", destination: "backup/data",
                            words: ["Inconsistent", "backup/data/kid is missing on the destination"])
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before)
        XCTAssertNotNil(try world.dataset("src", "tank/data/kid").snapshot(base))
    }

    /// A child created on the source after initialize goes with the next update; one destroyed on the
    /// source is kept on the destination, no longer updated.
    func testChildrenCreatedOrDestroyedOnTheSourceAfterInitialize() throws {
        let (world, fingerprint, base) = try treeWithNewData(name)
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/data/new")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/new", "1M")
        let status = try world.zettabee("status", "-H")
        XCTAssertTrue(status.stdout.contains("\tSynchronized\t"), status.stdout)
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid", "/new"])

        XCTAssertEqual(try world.zfs(on: "src", ["release", "zettabee.\(fingerprint)", "tank/data/kid@\(next)"]).exitCode, 0)
        let destroyed = try world.zfs(on: "src", ["destroy", "-r", "tank/data/kid"])
        XCTAssertEqual(destroyed.exitCode, 0, destroyed.stderr)
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        _ = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/new"])
        let kept = try world.dataset("backup", "backup/data/kid")
        XCTAssertTrue(kept.snapshotNames.contains(next), "the destroyed source's copy is kept")
        XCTAssertTrue(kept.snapshotNames.contains(base), "with its history")
    }
}

extension FakeTierWorld {
    /// A source pool `tank` with `tank/data` (2 MiB) and its child `tank/data/kid` (1 MiB), and an empty
    /// destination pool `backup`; `legacy`: pools of zfs-fuse's kind.
    func treeHosts(legacy: Bool = false) throws {
        let flags = legacy ? ["--legacy"] : []
        try ctl(arguments: [Self.sourceHost, "create-pool", "tank"] + flags)
        try ctl(Self.sourceHost, "create", "tank/data")
        try ctl(Self.sourceHost, "write", "tank/data", "2M")
        try ctl(Self.sourceHost, "create", "tank/data/kid")
        try ctl(Self.sourceHost, "write", "tank/data/kid", "1M")
        try ctl(arguments: [Self.destinationHost, "create-pool", "backup"] + flags)
    }

    /// `zfake ctl --host HOST ARGS…` with the arguments as an array.
    @discardableResult
    func ctl(arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try TestProcess.run(
            PackagePaths.zfake, ["ctl", "--host"] + arguments, environment: environment, timeout: 30, file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, "zfake ctl \(arguments): \(outcome.stderr)", file: file, line: line)
        return outcome.stdout
    }

    /// `expectSynchronized` for `tank/data` → `backup/data`, and for each child (`/kid`): the base on both
    /// sides with the same GUID and the source's data, and no other pair snapshot on the source.
    func expectTreeSynchronized(fingerprint: String, children: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let base = try expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data", file: file, line: line)
        for child in children {
            let source = try dataset(Self.sourceHost, "tank/data" + child, file: file, line: line)
            let destination = try dataset(Self.destinationHost, "backup/data" + child, file: file, line: line)
            let sent = try XCTUnwrap(source.snapshot(base), "tank/data\(child) lacks \(base)", file: file, line: line)
            let received = try XCTUnwrap(destination.snapshot(base), "backup/data\(child) lacks \(base)", file: file, line: line)
            XCTAssertEqual(sent.guid, received.guid, "GUID of \(child)@\(base)", file: file, line: line)
            XCTAssertEqual(destination.referenced, sent.referenced, "data of \(child)", file: file, line: line)
            XCTAssertNil(destination.partial, "partial receive on \(child)", file: file, line: line)
            XCTAssertEqual(source.snapshotNames.filter { $0.hasPrefix("zettabee.\(fingerprint).") }, [base],
                           "the source child keeps only the base", file: file, line: line)
        }
        let status = try zettabee("status", "-H", file: file, line: line)
        XCTAssertTrue(status.stdout.contains("\tSynchronized\t"), "status: \(status.stdout)", file: file, line: line)
        return base
    }

    /// The base is on both sides of every dataset of the tree with the same GUID.
    func expectBaseOnEveryDataset(_ base: String, children: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        for relative in [""] + children {
            let sent = try dataset(Self.sourceHost, "tank/data" + relative, file: file, line: line).snapshot(base)
            let received = try dataset(Self.destinationHost, "backup/data" + relative, file: file, line: line).snapshot(base)
            XCTAssertNotNil(sent, "source \(relative) lost the base", file: file, line: line)
            XCTAssertEqual(sent?.guid, received?.guid, "base of \(relative)", file: file, line: line)
        }
    }
}
