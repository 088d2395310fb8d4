import Foundation
import XCTest

/// `initialize --all` and `update --all --jobs N`: every pair, each under its own lock; one failing pair
/// neither stops the others nor changes its own base.
final class FakeTierAllPairsTests: XCTestCase {
    let names = ["a", "b", "c", "d"]

    func makeWorld() throws -> FakeTierWorld {
        let world = try FakeTierWorld()
        try world.standardHosts(sources: names, size: "1M")
        let lines = names.map { "src:tank/\($0)  backup:backup/\($0)" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: world.configPath, atomically: true, encoding: .utf8)
        try world.expectSuccess(try world.zettabee("setup"))
        return world
    }

    func testEveryPairInitializedAndUpdatedWithAtMostTwoJobs() throws {
        let world = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "--all", "--jobs", "2"))
        var bases: [String: String] = [:]
        for name in names {
            let fingerprint = try world.fingerprint("backup/\(name)")
            bases[name] = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/\(name)", destination: "backup/\(name)")
            try world.ctl(FakeTierWorld.sourceHost, "write", "tank/\(name)", "200K")
        }
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "--all", "--jobs", "2"))
        // Each host's zfs is probed once per run, not once per pair (two workers may both ask first).
        for host in [FakeTierWorld.sourceHost, FakeTierWorld.destinationHost] {
            let probes = try world.zfsCalls("version", on: host).count
            XCTAssertTrue((1...2).contains(probes), "\(probes) zfs version calls on \(host) for \(names.count) pairs")
        }
        for name in names {
            let fingerprint = try world.fingerprint("backup/\(name)")
            let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/\(name)", destination: "backup/\(name)")
            XCTAssertNotEqual(base, bases[name], "the base of \(name) did not move")
            XCTAssertFalse(FileManager.default.fileExists(atPath: world.lockPath(fingerprint)), "lock of \(name) left behind")
        }
        XCTAssertEqual(try world.zfsCalls("receive", on: FakeTierWorld.destinationHost).count, names.count)
    }

    /// The pairs of one source host share one ssh master and one capability probe for the whole run,
    /// whichever worker runs them; the master ends with the run. A dry run prints the same sharing.
    func testThePairsOfOneHostShareOneConnectionAndOneProbe() throws {
        let world = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "--all", "--jobs", "2"))
        for name in names { try world.ctl(FakeTierWorld.sourceHost, "write", "tank/\(name)", "100K") }
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "--all", "--jobs", "2"))
        let ssh = try world.calls().filter { $0.tool == "ssh" }
        let masters = ssh.filter { $0.argv.contains("ControlMaster=yes") }
        XCTAssertEqual(masters.count, 1, ssh.map(\.line).joined(separator: "\n"))
        let socket = try XCTUnwrap(masters.first?.argv.first { $0.hasPrefix("ControlPath=") })
        XCTAssertTrue(socket.contains("/host-"), socket)
        let clients = ssh.filter { $0.argv.contains("ControlMaster=no") }
        // Per pair, the read, the snapshot and the base's move go through the one master; over the ssh
        // transport the stream has a connection of its own.
        XCTAssertEqual(clients.count, 3 * names.count, clients.map(\.line).joined(separator: "\n"))
        XCTAssertEqual(ssh.filter { $0.line.contains("zfs send") && !$0.argv.contains("ControlMaster=no") }.count, names.count)
        XCTAssertTrue(clients.allSatisfy { $0.argv.contains(socket) }, clients.map(\.line).joined(separator: "\n"))
        XCTAssertEqual(ssh.filter { $0.argv.contains("-O") && $0.argv.contains("exit") }.count, 1, "the run ends its master")
        XCTAssertEqual(try world.zfsCalls("version", on: FakeTierWorld.sourceHost).count, 1, "one probe of the source")
        XCTAssertEqual(try world.zfsCalls("version", on: FakeTierWorld.destinationHost).count, 1, "one probe of the destination")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: world.runDirectory).filter { $0.hasSuffix(".ssh") }
        XCTAssertEqual(leftovers, [], "no control socket is left")

        let dry = try world.zettabee("--dry-run", "update", "--all")
        XCTAssertEqual(dry.exitCode, 0, dry.stderr)
        let notes = dry.stdout.split(separator: "\n").filter { $0.hasPrefix("# control commands share the run's ssh connection to src: ") }
        XCTAssertEqual(notes.count, names.count, dry.stdout)
        let printed = dry.stdout.split(separator: "\n").filter { $0.hasPrefix("ssh ") && $0.contains("ControlPath=") }
        XCTAssertFalse(printed.isEmpty, dry.stdout)
        XCTAssertTrue(printed.allSatisfy { $0.contains("/host-") }, dry.stdout)
    }

    /// The source host refuses connections: the run's master cannot start, every pair then connects on
    /// its own and fails with one line naming the refusal; no pair changes, nothing is left behind.
    func testASourceHostThatRefusesConnectionsFailsEachOfItsPairsAndChangesNothing() throws {
        let world = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "--all"))
        for name in names { try world.ctl(FakeTierWorld.sourceHost, "write", "tank/\(name)", "100K") }
        let before = try names.map { try world.pairState(source: "tank/\($0)", destination: "backup/\($0)") }
        try world.addFault(["tool": "ssh", "host": "src", "effect": "refused"])

        let outcome = try world.zettabee("update", "--all", "--jobs", "2")
        XCTAssertEqual(outcome.exitCode, 1, outcome.stderr)
        XCTAssertEqual(outcome.stdout, "")
        let errors = outcome.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors.count, names.count, outcome.stderr)
        for name in names {
            XCTAssertTrue(errors.contains { $0.hasPrefix("zettabee: error: update backup/\(name): ") && $0.contains("Connection refused") },
                          outcome.stderr)
        }
        XCTAssertEqual(try names.map { try world.pairState(source: "tank/\($0)", destination: "backup/\($0)") }, before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: world.runDirectory)
            .filter { $0.hasSuffix(".ssh") || $0.hasSuffix(".lck") }
        XCTAssertEqual(leftovers, [], "no control socket or lock is left")
    }

    func testOneFailingPairLeavesTheOthersUpdatedAndItsOwnBaseIntact() throws {
        let world = try makeWorld()
        try world.expectSuccess(try world.zettabee("initialize", "--all"))
        for name in names { try world.ctl(FakeTierWorld.sourceHost, "write", "tank/\(name)", "100K") }
        let failingBefore = try world.pairState(source: "tank/b", destination: "backup/b")
        try world.addFault(["tool": "zfs", "sub": "snapshot", "host": "src", "match": "*tank/b@*",
                            "effect": "fail", "message": "cannot create snapshot: out of space", "exit": "1"])

        let outcome = try world.zettabee("update", "--all", "--jobs", "2")
        XCTAssertEqual(outcome.exitCode, 1, outcome.stderr)
        XCTAssertEqual(outcome.stdout, "")
        let errors = outcome.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 1, outcome.stderr)
        XCTAssertTrue(errors.first?.hasPrefix("zettabee: error: update backup/b: ") == true, outcome.stderr)
        XCTAssertEqual(try world.pairState(source: "tank/b", destination: "backup/b"), failingBefore)
        for name in names where name != "b" {
            let fingerprint = try world.fingerprint("backup/\(name)")
            try world.expectSynchronized(fingerprint: fingerprint, source: "tank/\(name)", destination: "backup/\(name)")
            XCTAssertEqual(try world.dataset(FakeTierWorld.destinationHost, "backup/\(name)").snapshotNames.count, 2,
                           "\(name) was updated")
        }
    }
}
