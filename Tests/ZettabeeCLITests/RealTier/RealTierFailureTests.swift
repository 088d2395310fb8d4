import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Failures on the real stack. Each time: exit 1, one clear line on stderr, the base snapshot and
/// the pair's properties intact on both sides, and once the cause is gone the next update succeeds.
final class RealTierFailureTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    override func tearDownWithError() throws {
        // a test that stopped sshd must not leave the next one without it
        try env?.ensureSSHD()
    }

    /// An initialized pair with real files, its base snapshot.
    private func initializedPair(label: String, transport: RealTierTransport) throws -> (RealTierPair, String) {
        let pair = try RealTierPair(env, label: label, transport: transport)
        let setup = try pair.zettabee(["setup"], timeout: 30)
        XCTAssertEqual(setup.exitCode, 0, "setup: \(setup.stderr)")
        try pair.writeConfig()
        try pair.createSource()
        try pair.writer.populate()
        let started = Date()
        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize (\(transport))")
        guard initialize.exitCode == 0 else {
            pair.cleanup()
            throw RealTierError("initialize failed: \(initialize.stderr)")
        }
        let base = try pair.assertReplicated(destinationSnapshots: 1, previous: nil, window: started...Date())
        return (pair, base)
    }

    /// sshd is down: update fails naming the source host, nothing changes; with sshd back the
    /// next update succeeds.
    func testRealTierUpdateWithSSHDStopped() throws {
        let (pair, base) = try initializedPair(label: "nossh", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.writer.change(round: 1)
        let destinationBefore = try pair.destinationManifest()

        try env.stopSSHD()
        let failed = try pair.zettabee(["update", pair.destinationArgument], timeout: 120)
        let reason = pair.assertOneLineError(failed, action: "update", mentioning: [pair.sourceHost])
        XCTAssertTrue(["ssh", "connect", "refused"].contains { reason.lowercased().contains($0) },
                      "the reason should say the ssh connection failed: \(reason)")
        try env.ensureSSHD()

        try pair.assertBaseIntact(base)
        XCTAssertEqual(try pair.destinationManifest().differences(from: destinationBefore), [],
                       "the destination changed although the update failed")

        let started = Date()
        let retry = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(retry, "update after sshd came back")
        try pair.assertReplicated(destinationSnapshots: 2, previous: base, window: started...Date())
    }

    /// sshd stops in the middle of an ssh-transport update: the listening sshd and the session
    /// carrying the stream are killed once the local ssh has passed a few MiB of the stream on. update fails,
    /// nothing of the transfer is left running, the destination is as before; with sshd back the
    /// next update succeeds.
    func testRealTierSSHDKilledMidTransfer() throws {
        let (pair, base) = try initializedPair(label: "sshkill", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.writer.change(round: 1)
        try pair.writer.random("bulk/large.bin", bytes: 48 << 20)
        let destinationBefore = try pair.destinationManifest()
        guard let master = RealEnvironment.currentSSHDPid else { throw RealTierError("the sshd pid is unknown") }

        let update = try BackgroundProcess(
            PackagePaths.zettabee, pair.commonArguments + ["update", pair.destinationArgument],
            environment: env.processEnvironment)
        var sessions: [Int32] = []
        let caught = poll(timeout: 60, interval: 0.02) {
            let processes = ProcTable.all()
            // zfs-fuse's zfs hands its stdin to the daemon, so progress is what the local ssh has
            // written into the pipe towards zfs receive: the stream's ssh is a client of the pair's
            // master, which writes the stream into the pipe the client handed it.
            guard let client = processes.first(where: {
                ($0.arguments.first.map { ($0 as NSString).lastPathComponent } == "ssh")
                    && $0.arguments.contains(where: { $0.contains("send") && $0.contains("\(pair.sourceFS)@") })
            }) else { return false }
            let controlPath = client.arguments.first { $0.hasPrefix("ControlPath=") }
            let connection = controlPath.flatMap { path in
                processes.first { $0.arguments.contains("ControlMaster=yes") && $0.arguments.contains(path) }
            }
            let written = ([client.pid] + (connection.map { [$0.pid] } ?? [])).compactMap(ProcTable.bytesWritten).reduce(0, +)
            guard written >= 4 << 20 else { return false }
            sessions = processes.filter { $0.arguments.first?.hasPrefix("sshd:") == true
                && ProcTable.descends($0.pid, from: master) }.map(\.pid)
            guard !sessions.isEmpty else { return false }
            kill(master, SIGTERM)
            for session in sessions { kill(session, SIGKILL) }
            return true
        }
        let outcome = update.wait(timeout: 180)
        XCTAssertTrue(caught, "never saw the local ssh pass 4 MiB of the stream on; update said: \(outcome.stderr)")
        guard caught else { return }
        pair.assertOneLineError(outcome, action: "update",
                                mentioning: ["ssh", pair.sourceHost, "transfer", "stream", "connection"])
        XCTAssertTrue(poll(timeout: 15) { !TCP.isListening(port: env.sshPort) }, "sshd still listens")

        let leftovers = {
            ProcTable.all().filter { $0.arguments.contains(pair.destinationFS) || $0.arguments.contains { $0.contains("\(pair.sourceFS)@") } }
        }
        XCTAssertTrue(poll(timeout: 15) { leftovers().isEmpty },
                      "processes of the transfer left behind: \(leftovers().map { "\($0.pid) \($0.arguments)" })")

        try env.ensureSSHD()
        try pair.assertBaseIntact(base)
        XCTAssertEqual(try pair.destinationManifest().differences(from: destinationBefore), [],
                       "the destination changed although the update failed")

        let started = Date()
        let retry = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(retry, "update after sshd came back")
        try pair.assertReplicated(destinationSnapshots: 2, previous: base, window: started...Date())
    }

    /// The local `mbuffer -I` receiver is killed in the middle of an incremental transfer (the
    /// sender is rate-limited so that the transfer lasts): update fails, the destination is as
    /// before, no transfer process is left behind; the next update succeeds.
    func testRealTierMbufferReceiverKilledMidTransfer() throws {
        let port = try TCP.freePort()
        let (pair, base) = try initializedPair(label: "mbkill", transport: .mbuffer(port: port))
        defer { pair.cleanup() }
        try pair.writer.change(round: 1)
        try pair.writer.random("bulk/large.bin", bytes: 24 << 20)
        pair.extraOptions = ["rate=2M"]
        try pair.writeConfig()
        let destinationBefore = try pair.destinationManifest()

        let update = try BackgroundProcess(
            PackagePaths.zettabee, pair.commonArguments + ["update", pair.destinationArgument],
            environment: env.processEnvironment)
        var receiver: Int32?
        let found = poll(timeout: 60) {
            guard let listener = ProcTable.all().first(where: { isMbufferListener($0.arguments, port: port) })
            else { return false }
            // kill once data flows: a couple of MiB of the ~25 MiB have passed through it
            guard let passed = ProcTable.bytesWritten(pid: listener.pid), passed >= 2 << 20 else { return false }
            receiver = listener.pid
            return kill(listener.pid, SIGKILL) == 0
        }
        let outcome = update.wait(timeout: 180)
        XCTAssertTrue(found, "never saw a local mbuffer -I …:\(port) pass 2 MiB on; update said: \(outcome.stderr)")
        guard found else { return }
        XCTAssertNotNil(receiver)
        pair.assertOneLineError(outcome, action: "update",
                                mentioning: ["mbuffer", "receive", "stream", "signal", "killed", "transfer"])

        // nothing of the transfer is left running
        let leftovers = { ProcTable.all().filter { $0.arguments.contains { $0.hasSuffix(":\(port)") } } }
        XCTAssertTrue(poll(timeout: 15) { leftovers().isEmpty },
                      "processes of the transfer left behind: \(leftovers().map { "\($0.pid) \($0.arguments)" })")

        try pair.assertBaseIntact(base)
        XCTAssertEqual(try pair.destinationManifest().differences(from: destinationBefore), [],
                       "the destination changed although the update failed")

        pair.extraOptions = []
        try pair.writeConfig()
        let started = Date()
        let retry = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(retry, "update after the killed transfer")
        try pair.assertReplicated(destinationSnapshots: 2, previous: base, window: started...Date())
    }

    /// A file is written on the destination between updates: update refuses, naming the
    /// modification, and leaves the file and the base alone; `update --force-rollback` then rolls the
    /// destination back and succeeds.
    func testRealTierDestinationModifiedBetweenUpdates() throws {
        let (pair, base) = try initializedPair(label: "dstmod", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.writer.change(round: 1)

        let intruder = "\(try pair.destinationMount)/written-on-the-destination.txt"
        try env.zfs("set", "readonly=off", pair.destinationFS)
        XCTAssertTrue(poll(timeout: 10) { FileManager.default.createFile(atPath: intruder, contents: Data("x\n".utf8)) },
                      "could not write \(intruder) with readonly=off")
        try env.zfs("set", "readonly=on", pair.destinationFS)

        let failed = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertOneLineError(failed, action: "update", mentioning: ["modified"])
        try env.remount(pair.destinationFS)  // zfs-fuse: fresh lookups (see destinationManifest)
        XCTAssertTrue(FileManager.default.fileExists(atPath: intruder),
                      "the update removed the destination's change without --force-rollback")
        try pair.assertBaseIntact(base)

        let started = Date()
        let forced = try pair.zettabee(["--force-rollback", "update", pair.destinationArgument])
        pair.assertSucceeded(forced, "update --force-rollback")
        // also remounts the destination, then compares it with the source
        try pair.assertReplicated(destinationSnapshots: 2, previous: base, window: started...Date())
        XCTAssertFalse(FileManager.default.fileExists(atPath: intruder), "the destination was not rolled back")
        try pair.assertDestinationReadOnly()
    }

    /// An operator releases zettabee's hold and destroys the base on the source: the pair is
    /// Inconsistent, the error names the command to start over, and nothing on the destination is
    /// destroyed or rolled back.
    func testRealTierBaseDestroyedOnSource() throws {
        let (pair, base) = try initializedPair(label: "basegone", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        let sourceBase = "\(pair.sourceFS)@\(base)"
        XCTAssertEqual(try env.property("userrefs", of: sourceBase), "1", "the base is held on the source")
        let refused = try env.run("zfs", ["destroy", sourceBase])
        XCTAssertEqual(refused.exitCode, 1, "a held base cannot be destroyed")
        XCTAssertTrue(refused.stderr.contains("dataset is busy"), refused.stderr)
        _ = try env.zfs("release", "zettabee.\(pair.fingerprint)", sourceBase)
        _ = try env.zfs("destroy", sourceBase)
        try pair.writer.change(round: 1)
        let destinationSnapshotsBefore = try env.snapshots(of: pair.destinationFS)
        let destinationGUIDBefore = try env.guid(of: "\(pair.destinationFS)@\(base)")
        let destinationBefore = try pair.destinationManifest()

        let failed = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertOneLineError(failed, action: "update", mentioning: ["Inconsistent", "missing on the source", "zettabee initialize"])
        XCTAssertEqual(try env.snapshots(of: pair.destinationFS), destinationSnapshotsBefore, "destination snapshots changed")
        XCTAssertEqual(try env.guid(of: "\(pair.destinationFS)@\(base)"), destinationGUIDBefore)
        XCTAssertEqual(try env.property("userrefs", of: "\(pair.destinationFS)@\(base)"), "1", "the destination keeps its hold")
        XCTAssertEqual(try pair.destinationManifest().differences(from: destinationBefore), [],
                       "the destination's files changed")
        XCTAssertEqual(try env.snapshots(of: pair.sourceFS).filter { $0.contains("zettabee.") }, [],
                       "the failed update left a snapshot on the source")

        let status = try pair.zettabee(["status", "-H", pair.destinationArgument])
        XCTAssertTrue(status.stdout.contains("Inconsistent!"), status.stdout)
    }
}

/// `mbuffer … -I HOST:PORT …` (the listener), not the `-O` sender.
func isMbufferListener(_ arguments: [String], port: Int) -> Bool {
    guard let program = arguments.first, (program as NSString).lastPathComponent == "mbuffer",
          let flag = arguments.firstIndex(of: "-I"), flag + 1 < arguments.count
    else { return false }
    return arguments[flag + 1].hasSuffix(":\(port)") || arguments[flag + 1] == "\(port)"
}
