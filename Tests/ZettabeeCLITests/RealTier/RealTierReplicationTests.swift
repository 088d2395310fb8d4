import Foundation
import XCTest

/// The built zettabee against real zfs-fuse pools, a real sshd on 127.0.0.1 and real mbuffer:
/// setup, initialize of a filesystem holding real files, three rounds of changes and updates,
/// and the pair's identity, properties, snapshots and log after each run.
final class RealTierReplicationTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    func testRealTierMbufferInitializeAndThreeUpdates() throws {
        try replicate(label: "mb", transport: .mbuffer(port: try TCP.freePort()), destinationHost: "127.0.0.1")
    }

    func testRealTierSSHInitializeAndThreeUpdates() throws {
        try replicate(label: "ssh", transport: .ssh(compress: "none"), destinationHost: "localhost")
    }

    func testRealTierSSHZstdInitializeAndThreeUpdates() throws {
        try replicate(label: "zstd", transport: .ssh(compress: "zstd"), destinationHost: "127.0.0.1")
    }

    func testRealTierSSHLz4InitializeAndUpdate() throws {
        try replicate(label: "lz4", transport: .ssh(compress: "lz4"), destinationHost: "localhost", rounds: 1)
    }

    /// `setup` makes the configuration, run and log directories, run and log private.
    func testRealTierSetupCreatesDirectories() throws {
        let pair = try RealTierPair(env, label: "setup", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try runSetup(pair)
    }

    /// `-n update` prints what it would do and changes nothing on either side; the real update
    /// afterwards still succeeds.
    func testRealTierDryRunUpdateChangesNothing() throws {
        let pair = try RealTierPair(env, label: "dry", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try runSetup(pair)
        try pair.writeConfig()
        try pair.createSource()
        try pair.writer.populate()
        let started = Date()
        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize")
        guard initialize.exitCode == 0 else { return }
        let base = try pair.assertReplicated(destinationSnapshots: 1, previous: nil, window: started...Date())
        try pair.writer.change(round: 1)
        let sourceSnapshots = try env.snapshots(of: pair.sourceFS)
        let destinationSnapshots = try env.snapshots(of: pair.destinationFS)
        let destinationBefore = try pair.destinationManifest()

        let dry = try pair.zettabee(["-n", "update", pair.destinationArgument])
        XCTAssertEqual(dry.exitCode, 0, "dry-run update: \(dry.stderr)")
        XCTAssertTrue(dry.stdout.contains("send") && dry.stdout.contains("receive"),
                      "the dry run shows the transfer: \(dry.stdout)")
        XCTAssertEqual(try env.snapshots(of: pair.sourceFS), sourceSnapshots, "the dry run changed the source's snapshots")
        XCTAssertEqual(try env.snapshots(of: pair.destinationFS), destinationSnapshots,
                       "the dry run changed the destination's snapshots")
        try pair.assertBaseIntact(base)
        XCTAssertEqual(try pair.destinationManifest().differences(from: destinationBefore), [],
                       "the dry run changed the destination")

        let updateStarted = Date()
        let update = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(update, "update after the dry run")
        try pair.assertReplicated(destinationSnapshots: 2, previous: base, window: updateStarted...Date())
    }

    /// A source with a child filesystem, on zfs-fuse: initialize and update carry the child (`-R`),
    /// hold its base and destroy its old snapshot like the parent's.
    func testRealTierFilesystemWithAChildIsReplicatedWithIt() throws {
        let pair = try RealTierPair(env, label: "kid", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try runSetup(pair)
        try pair.writeConfig()
        try pair.createSource()
        let sourceChild = pair.sourceFS + "/kid", destinationChild = pair.destinationFS + "/kid"
        try env.zfs("create", sourceChild)
        let childMount = try env.mountpoint(of: sourceChild)
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: childMount + "/first"))

        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize of a filesystem with a child")
        guard initialize.exitCode == 0 else { return }
        let base = try XCTUnwrap(try pair.pairSnapshots(of: pair.sourceFS).last)
        XCTAssertEqual(try pair.pairSnapshots(of: destinationChild), [base], "the child arrived with the base")
        XCTAssertEqual(try env.guid(of: "\(destinationChild)@\(base)"), try env.guid(of: "\(sourceChild)@\(base)"))

        try Data(repeating: 8, count: 1 << 20).write(to: URL(fileURLWithPath: childMount + "/second"))
        let update = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(update, "update of a filesystem with a child")
        guard update.exitCode == 0 else { return }
        let next = try XCTUnwrap(try pair.pairSnapshots(of: pair.sourceFS).last)
        XCTAssertNotEqual(next, base)
        XCTAssertEqual(try pair.pairSnapshots(of: sourceChild), [next], "the child's old base is destroyed with the parent's")
        XCTAssertEqual(try pair.pairSnapshots(of: destinationChild), [base, next])
        XCTAssertEqual(try env.guid(of: "\(destinationChild)@\(next)"), try env.guid(of: "\(sourceChild)@\(next)"))
        XCTAssertEqual(try env.property("userrefs", of: "\(sourceChild)@\(next)"), "1", "the child's base is held on the source")
        XCTAssertEqual(try env.property("userrefs", of: "\(destinationChild)@\(next)"), "1", "and on the destination")
        XCTAssertEqual(try env.property("userrefs", of: "\(destinationChild)@\(base)"), "0", "the old base is released")
    }

    // MARK: -

    private func runSetup(_ pair: RealTierPair, file: StaticString = #filePath, line: UInt = #line) throws {
        let setup = try pair.zettabee(["setup"], timeout: 30)
        XCTAssertEqual(setup.exitCode, 0, "setup: \(setup.stderr)", file: file, line: line)
        var isDirectory: ObjCBool = false
        let configDirectory = (pair.configPath as NSString).deletingLastPathComponent
        XCTAssertTrue(FileManager.default.fileExists(atPath: configDirectory, isDirectory: &isDirectory)
                      && isDirectory.boolValue, "setup made no \(configDirectory)", file: file, line: line)
        for directory in [pair.runDirectory, pair.logDirectory] {
            var info = stat()
            XCTAssertEqual(stat(directory, &info), 0, "setup made no \(directory)", file: file, line: line)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFDIR, "\(directory) is not a directory", file: file, line: line)
            XCTAssertEqual(info.st_mode & 0o777, 0o700, "mode of \(directory): \(String(info.st_mode & 0o777, radix: 8))",
                           file: file, line: line)
        }
    }

    private func replicate(
        label: String, transport: RealTierTransport, destinationHost: String, rounds: Int = 3
    ) throws {
        let pair = try RealTierPair(env, label: label, transport: transport, destinationHost: destinationHost)
        defer { pair.cleanup() }
        try runSetup(pair)
        try pair.writeConfig()
        try pair.createSource()
        try pair.writer.populate()
        let initial = try pair.sourceManifest()
        XCTAssertGreaterThan(initial.totalBytes, 3 << 20, "the source holds a few MiB")
        XCTAssertFalse(try env.exists(pair.destinationFS), "destination exists before initialize")

        let started = Date()
        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize (\(transport))")
        guard initialize.exitCode == 0 else { return }
        var base = try pair.assertReplicated(destinationSnapshots: 1, previous: nil, window: started...Date())
        try pair.assertDestinationReadOnly()
        var logLines = try pair.assertIdentityAndLog(minimumLogLines: 1)

        var previousDestination = try pair.destinationManifest()
        for round in 1...rounds {
            try pair.writer.change(round: round)
            XCTAssertNotEqual(try pair.sourceManifest(), previousDestination, "round \(round) changed nothing")
            let started = Date()
            let update = try pair.zettabee(["update", pair.destinationArgument])
            pair.assertSucceeded(update, "update \(round) (\(transport))")
            guard update.exitCode == 0 else { return }
            base = try pair.assertReplicated(
                destinationSnapshots: round + 1, previous: base, window: started...Date())
            let destination = try pair.destinationManifest()
            XCTAssertNotEqual(destination, previousDestination, "round \(round): the destination did not change")
            previousDestination = destination
            let lines = try pair.assertIdentityAndLog(minimumLogLines: logLines + 1)
            XCTAssertGreaterThan(lines, logLines, "update \(round) logged nothing")
            logLines = lines
        }
        try pair.assertDestinationReadOnly()

        let help = try pair.zettabee(["--help"], timeout: 30).stdout
        if let statusHelp = help.split(separator: "\n").first(where: { $0.hasPrefix("  status ") }),
           statusHelp.contains("not yet available") {
            return  // status is announced as not available yet
        }
        let status = try pair.zettabee(["status", pair.destinationArgument], timeout: 60)
        XCTAssertEqual(status.exitCode, 0, "status: \(status.stderr)")
        XCTAssertTrue(status.stdout.contains(pair.destinationFS), "status names the destination: \(status.stdout)")
    }
}
