import CommandGraph
import Foundation
import XCTest

/// Actions refused because of the pair's state, rollback consent, dry runs and concurrent runs.
final class FakeTierPairStateTests: XCTestCase {
    static let mutating: Set<String> = ["snapshot", "destroy", "set", "inherit", "receive", "recv", "rollback", "create", "hold", "release"]

    func makeWorld(_ options: String = "", size: String = "2M") throws -> (FakeTierWorld, String) {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: size)
        try world.writeConfig("src:tank/data  backup:backup/data  \(options)")
        try world.expectSuccess(try world.zettabee("setup"))
        return (world, try world.fingerprint("backup/data"))
    }

    func mutatingCalls(_ world: FakeTierWorld) throws -> [FakeCall] {
        try world.calls().filter { $0.tool == "zfs" && Self.mutating.contains($0.argv.first ?? "") }
    }

    func testUpdateOfAnUninitializedPairAsksForInitialize() throws {
        let (world, _) = try makeWorld()
        try world.clearCalls()
        let outcome = try world.zettabee("update", "backup/data")
        world.expectFailure(outcome, action: "update", destination: "backup/data",
                            words: ["not initialized", "zettabee initialize backup/data"])
        XCTAssertEqual(try mutatingCalls(world).map(\.line), [])
        XCTAssertNil(try world.dump("backup").datasets["backup/data"])
    }

    func testInitializeOfASynchronizedPairIsRefused() throws {
        let (world, fingerprint) = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        let before = try world.pairState(source: "tank/data", destination: "backup/data")
        try world.clearCalls()
        let outcome = try world.zettabee("initialize", "backup/data")
        world.expectFailure(outcome, action: "initialize", destination: "backup/data", words: ["already initialized", base, "update"])
        XCTAssertEqual(try mutatingCalls(world).map(\.line), [])
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before)
    }

    func testInitializeOverAnExistingDestinationDestroysNothing() throws {
        let (world, _) = try makeWorld()
        try world.ctl("backup", "create", "backup/data")
        try world.ctl("backup", "write", "backup/data", "1M")
        XCTAssertEqual(try world.zfs(on: "backup", ["snapshot", "backup/data@precious"]).exitCode, 0)
        let before = try world.dataset("backup", "backup/data")
        try world.clearCalls()
        let outcome = try world.zettabee("initialize", "backup/data")
        world.expectFailure(outcome, action: "initialize", destination: "backup/data",
                            words: ["destination backup/data already exists", "destroy or rename it first"])
        XCTAssertEqual(try mutatingCalls(world).map(\.line), [], "nothing created, destroyed or received")
        let after = try world.dataset("backup", "backup/data")
        XCTAssertEqual(after.guid, before.guid)
        XCTAssertEqual(after.snapshotGUIDs, before.snapshotGUIDs)
        XCTAssertEqual(after.referenced, before.referenced)
        XCTAssertTrue(try world.dataset("src", "tank/data").snapshots.isEmpty, "no snapshot left on the source")
    }

    func testModifiedDestinationNeedsRollbackConsent() throws {
        let (world, fingerprint) = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        try world.ctl("src", "write", "tank/data", "1M")
        try world.ctl("backup", "dirty", "backup/data")
        let before = try world.pairState(source: "tank/data", destination: "backup/data")

        let refused = try world.zettabee("update", "backup/data")
        world.expectFailure(refused, action: "update", destination: "backup/data", words: ["destination backup/data has been modified since the base snapshot \(base)", "--force-rollback"])
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before)
        XCTAssertTrue(try world.dataset("backup", "backup/data").modified, "not rolled back without consent")

        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("--force-rollback", "update", "backup/data"))
        let next = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertNotEqual(next, base)
        XCTAssertEqual(try world.zfsCalls("receive", on: "backup").map(\.line), ["receive -F -s backup/data"])
        XCTAssertFalse(try world.dataset("backup", "backup/data").modified)
    }

    func testRollbackYesInTheConfigurationIsConsent() throws {
        let (world, fingerprint) = try makeWorld("rollback=yes")
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        try world.ctl("backup", "dirty", "backup/data")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
    }

    // MARK: dry runs

    func testDryRunUpdatePrintsTheCommandsAndChangesNothing() throws {
        let port = try FakeTierWorld.freePort()
        let world = try FakeTierWorld(name)
        try world.standardHosts(sources: ["a", "b"], size: "2M")
        try world.writeConfig("src:tank/a  backup:backup/a  compress=zstd", "src:tank/b  backup:backup/b  port=\(port),rate=20M")
        try world.expectSuccess(try world.zettabee("setup"))
        for destination in ["backup/a", "backup/b"] {
            try world.expectSuccess(try world.zettabee("initialize", destination))
        }
        try world.ctl("src", "write", "tank/a", "1M")
        try world.ctl("src", "write", "tank/b", "1M")
        let fingerprintA = try world.fingerprint("backup/a"), fingerprintB = try world.fingerprint("backup/b")
        let before = try (world.dump("src").datasets.mapValues(\.snapshotGUIDs), world.dump("backup").datasets.mapValues(\.snapshotGUIDs))
        let baseA = try XCTUnwrap(try world.dataset("backup", "backup/a").property("zettabee:\(fingerprintA):lastsnap"))
        let baseB = try XCTUnwrap(try world.dataset("backup", "backup/b").property("zettabee:\(fingerprintB):lastsnap"))
        let logBefore = world.log(fingerprintA)
        try world.clearCalls()

        let ssh = try world.zettabee("-n", "update", "backup/a")
        XCTAssertEqual(ssh.exitCode, 0, ssh.stderr)
        XCTAssertEqual(ssh.stderr, "")
        let sshLines = ssh.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(sshLines.count, 6, ssh.stdout)
        let new = try XCTUnwrap(sshLines.first.flatMap { $0.range(of: "tank/a@")
            .map { String(sshLines[0][$0.upperBound...].prefix { $0 != "'" && $0 != ";" }) } })
        XCTAssertTrue(new.hasPrefix("zettabee.\(fingerprintA).") && new != baseA, new)
        let tag = "zettabee.\(fingerprintA)"
        let stateRead = ["zfs", "get", "-H", "-p", "-r", "-o", "name,property,value,source",
                         "guid,createtxg,creation,userrefs,zettabee:\(fingerprintA):source,zettabee:\(fingerprintA):destination,"
                            + "zettabee:\(fingerprintA):lastsnap,zettabee:fingerprint", "tank/a"]
        XCTAssertEqual(sshLines, [
            // The snapshot, the hold that keeps it and the tree read back: one round trip.
            ShellQuoting.join(["ssh", "-o", "BatchMode=yes", "--", "root@src", RemoteSequence.line([
                ["zfs", "snapshot", "tank/a@\(new)"],
                ["zfs", "hold", tag, "tank/a@\(new)"],
                stateRead,
            ], continueAfterFailure: false)]),
            "ssh -o BatchMode=yes -- root@src '{ zfs send -L -c -e -i tank/a@\(baseA) tank/a@\(new); echo \"@zettabee-stage 0 $?\" >&2; } | zstd -c -q' | zstd -d -c -q | zfs receive -s backup/a",
            "zfs hold \(tag) backup/a@\(new)",
            "zfs set zettabee:\(fingerprintA):lastsnap=\(new) backup/a",
            // The source's part of the base's move: one round trip, stopping at the first failure.
            ShellQuoting.join(["ssh", "-o", "BatchMode=yes", "--", "root@src", RemoteSequence.line([
                ["zfs", "set", "zettabee:\(fingerprintA):lastsnap=\(new)", "tank/a"],
                ["zfs", "release", tag, "tank/a@\(baseA)"],
                ["zfs", "destroy", "tank/a@\(baseA)"],
            ], continueAfterFailure: false)]),
            "zfs release \(tag) backup/a@\(baseA)",
        ])

        let mbuffer = try world.zettabee("--dry-run", "update", "backup/b")
        XCTAssertEqual(mbuffer.exitCode, 0, mbuffer.stderr)
        XCTAssertEqual(mbuffer.stderr, "")
        let mbufferLines = mbuffer.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(mbufferLines.count, 8, mbuffer.stdout)
        XCTAssertTrue(mbufferLines[0].hasPrefix("ssh -o BatchMode=yes -- root@src 'zfs snapshot tank/b@zettabee.\(fingerprintB)."))
        XCTAssertEqual(mbufferLines[1], "mbuffer -q -s 1M -I backup:\(port) | zfs receive -s backup/b")
        XCTAssertEqual(mbufferLines[2], "# after port \(port) listens:")
        XCTAssertTrue(mbufferLines[3].contains("zfs send -L -c -e -i tank/b@\(baseB) tank/b@zettabee.\(fingerprintB)."), mbufferLines[3])
        XCTAssertTrue(mbufferLines[3].hasSuffix("| mbuffer -q -s 1M -R 20M -O backup:\(port)'"), mbufferLines[3])

        XCTAssertEqual(try mutatingCalls(world).map(\.line), [], "only reads ran")
        XCTAssertTrue(try world.calls().allSatisfy { $0.tool != "mbuffer" }, "no transfer ran")
        let after = try (world.dump("src").datasets.mapValues(\.snapshotGUIDs), world.dump("backup").datasets.mapValues(\.snapshotGUIDs))
        XCTAssertEqual(after.0, before.0)
        XCTAssertEqual(after.1, before.1)
        XCTAssertEqual(world.log(fingerprintA), logBefore, "a dry run leaves the log alone")
    }

    func testDryRunInitializeChangesNothing() throws {
        let (world, fingerprint) = try makeWorld("compress=lz4")
        try world.clearCalls()
        let outcome = try world.zettabee("-n", "initialize", "backup/data")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, outcome.stdout)
        XCTAssertTrue(lines[0].hasPrefix("ssh -o BatchMode=yes -- root@src 'zfs snapshot tank/data@zettabee.\(fingerprint)."), lines[0])
        XCTAssertTrue(lines[1].hasSuffix("| lz4 -c -q' | lz4 -d -c -q | zfs receive -o readonly=on backup/data"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("zfs hold zettabee.\(fingerprint) backup/data@zettabee.\(fingerprint)."), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("zfs set zettabee:\(fingerprint):lastsnap="), lines[3])
        XCTAssertTrue(lines[3].contains("zettabee:fingerprint=\(fingerprint)"), lines[3])
        XCTAssertTrue(lines[0].contains("; zfs hold zettabee.\(fingerprint) tank/data@zettabee.\(fingerprint)."), lines[0])
        XCTAssertTrue(lines[4].hasPrefix("ssh -o BatchMode=yes -- root@src 'zfs set zettabee:\(fingerprint):lastsnap="), lines[4])
        XCTAssertFalse(lines[4].contains("zfs hold"), lines[4])
        XCTAssertEqual(try mutatingCalls(world).map(\.line), [])
        XCTAssertNil(try world.dump("backup").datasets["backup/data"])
        XCTAssertTrue(try world.dataset("src", "tank/data").snapshots.isEmpty)
    }

    // MARK: concurrency

    /// Two updates of one pair started together: the second finds the lock held, logs it and exits 0;
    /// exactly one transfer runs.
    func testConcurrentUpdatesRunOnce() throws {
        let (world, fingerprint) = try makeWorld(size: "1M")
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        try world.ctl("src", "write", "tank/data", "3M")
        // A slow sender keeps the first run inside its transfer (and holding the lock) for over a second.
        try world.addFault(["tool": "zfs", "sub": "send", "host": "src", "effect": "send-rate", "bytes_per_second": "2000000"])
        try world.clearCalls()

        let first = ResultBox()
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            first.set(Result { try world.zettabee("update", "backup/data", timeout: 60) })
        }
        let lockAppeared = FakeTierWorld.waitUntil(20) { FileManager.default.fileExists(atPath: world.lockPath(fingerprint)) }
        XCTAssertTrue(lockAppeared, "the first run takes the lock")
        let second = try world.zettabee("update", "backup/data")
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        let firstOutcome = try XCTUnwrap(first.value).get()

        try world.expectSuccess(second)
        try world.expectSuccess(firstOutcome)
        XCTAssertTrue(world.log(fingerprint).contains("update skipped: another run holds the lock"), world.log(fingerprint))
        XCTAssertEqual(try world.zfsCalls("receive", on: "backup").count, 1, "exactly one transfer")
        XCTAssertEqual(try world.zfsCalls("snapshot", on: "src").count, 1)
        try world.clearFaults()
        try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.lockPath(fingerprint)))
    }
}

/// A value handed from a background thread.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<ProcessOutcome, Error>?
    func set(_ value: Result<ProcessOutcome, Error>) { lock.withLock { stored = value } }
    var value: Result<ProcessOutcome, Error>? { lock.withLock { stored } }
}
