import Foundation
import XCTest

/// Initialize and several updates over every transport and compression, through the built binary and
/// the fake tools; the fake receive verifies each stream's length and checksum.
final class FakeTierTransportTests: XCTestCase {
    func testSSHWithoutCompression() throws {
        try replicate(options: "", expectRemote: [])
    }

    func testSSHWithZstd() throws {
        try requireTool("zstd")
        try replicate(options: "compress=zstd", expectRemote: ["zstd -c"])
    }

    func testSSHWithLZ4() throws {
        try requireTool("lz4")
        try replicate(options: "compress=lz4", expectRemote: ["lz4 -c"])
    }

    func testMbuffer() throws {
        let port = try FakeTierWorld.freePort()
        try replicate(options: "port=\(port)", mbufferPort: port, mbufferArguments: [])
    }

    func testMbufferWithRateAndBuffer() throws {
        let port = try FakeTierWorld.freePort()
        try replicate(options: "transport=mbuffer,port=\(port),rate=50M,buffer=64M", mbufferPort: port,
                      mbufferArguments: ["-m", "64M"], senderArguments: ["-R", "50M"])
    }

    /// A source with a child filesystem is sent with its descendants (`snapshot -r`, `send -R`), both
    /// at initialize and at update; the child's data arrives, its base is held and its old snapshots go
    /// with the base's. A bookmark on the source is no obstacle.
    func testAFilesystemWithAChildIsReplicatedWithItsDescendants() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/data/child")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/child", "1M")
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data")
        var base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -R -L -c -e tank/data@\(base)"])
        XCTAssertNotNil(try world.dataset("backup", "backup/data/child").snapshot(base))

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/child", "1M")
        // An operator's bookmark: `zfs get -d 1` lists it among the rows zettabee reads.
        XCTAssertEqual(try world.zfs(on: "src", ["bookmark", "tank/data@\(base)", "tank/data#mine"]).exitCode, 0)
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let previous = base
        base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertEqual(try world.zfsCalls("snapshot", on: "src").map(\.line), ["snapshot -r tank/data@\(base)"])
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -R -L -c -e -i tank/data@\(previous) tank/data@\(base)"])
        let sourceChild = try world.dataset("src", "tank/data/child")
        let child = try world.dataset("backup", "backup/data/child")
        XCTAssertEqual(child.snapshot(base)?.guid, sourceChild.snapshot(base)?.guid)
        XCTAssertEqual(child.referenced, sourceChild.snapshot(base)?.referenced, "the child's new data arrived")
        XCTAssertEqual(sourceChild.snapshotNames, [base], "the child's old snapshot went with the old base")
        let tag = "zettabee.\(fingerprint)"
        XCTAssertEqual(sourceChild.snapshot(base)?.holds.keys.sorted(), [tag], "the child's base is held on the source")
        XCTAssertEqual(child.snapshot(base)?.holds.keys.sorted(), [tag], "and on the destination")
        XCTAssertEqual(child.snapshot(previous)?.holds ?? [:], [:], "the old base's holds are released")
    }

    /// Old zfs on both sides (zfs-fuse's command set): without `receive -o`, readonly is set after the
    /// receive, and each received filesystem is rolled back to the base. A rollback that fails is only
    /// logged (the data is replicated): initialize still succeeds, and so does the next update.
    func testOldZfsRollsTheReceivedFilesystemBackAndToleratesAFailedRollback() throws {
        let world = try FakeTierWorld(name)
        try world.ctl(FakeTierWorld.sourceHost, "create-pool", "tank", "--legacy")
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/data")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "2M")
        try world.ctl(FakeTierWorld.destinationHost, "create-pool", "backup", "--legacy")
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.addFault(["tool": "zfs", "sub": "rollback", "host": "backup", "effect": "fail"])
        try world.clearCalls()
        try world.setupAndInitialize("backup/data")
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertEqual(try world.zfsCalls("rollback", on: "backup").map(\.line), ["rollback backup/data@\(base)"])
        XCTAssertTrue(world.log(fingerprint).contains("could not roll backup/data back to \(base) after setting it read-only"),
                      world.log(fingerprint))

        try world.clearFaults()
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let next = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertNotEqual(next, base)
    }

    // MARK: the scenario

    /// initialize, then three updates with data written before each; after every run the pair is
    /// synchronized, the destination holds the source's data, and the source's old base is destroyed.
    func replicate(options: String, expectRemote: [String] = [], mbufferPort: Int? = nil,
                   mbufferArguments: [String] = [], senderArguments: [String] = [],
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "3M")
        try world.writeConfig("src:tank/data  backup:backup/data  \(options)")
        let fingerprint = try world.fingerprint("backup/data")

        try world.clearCalls()
        try world.setupAndInitialize("backup/data", file: file, line: line)
        var base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                file: file, line: line)
        let fullSends = try world.zfsCalls("send", on: "src")
        XCTAssertEqual(fullSends.map(\.line), ["send -L -c -e tank/data@\(base)"], file: file, line: line)
        XCTAssertEqual(try world.zfsCalls("receive", on: "backup").map(\.exit), [0], file: file, line: line)
        try checkTransport(world, remote: expectRemote, mbufferPort: mbufferPort,
                           mbufferArguments: mbufferArguments, senderArguments: senderArguments, file: file, line: line)
        XCTAssertTrue(world.log(fingerprint).contains("initialize done: base \(base)"), file: file, line: line)

        var received = [base]
        for (round, size) in ["1M", "5M", "300K"].enumerated() {
            try world.ctl("src", "write", "tank/data", size)
            try world.clearCalls()
            try world.expectSuccess(try world.zettabee("update", "backup/data", file: file, line: line), file: file, line: line)
            let previous = base
            base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                file: file, line: line)
            XCTAssertNotEqual(base, previous, "round \(round): the base moved", file: file, line: line)
            received.append(base)
            XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line),
                           ["send -L -c -e -i tank/data@\(previous) tank/data@\(base)"], file: file, line: line)
            XCTAssertEqual(try world.zfsCalls("receive", on: "backup").map(\.exit), [0], file: file, line: line)
            XCTAssertEqual(try world.zfsCalls("destroy", on: "src").map(\.line), ["destroy tank/data@\(previous)"],
                           "the old base is destroyed on the source", file: file, line: line)
            XCTAssertTrue(try world.zfsCalls("destroy", on: "backup").isEmpty, "nothing destroyed on the destination",
                          file: file, line: line)
            try checkTransport(world, remote: expectRemote, mbufferPort: mbufferPort,
                               mbufferArguments: mbufferArguments, senderArguments: senderArguments, file: file, line: line)
            // The increment carried exactly what was written: its size is what the fake received and verified.
            let destination = try world.dataset("backup", "backup/data")
            let sourceSnapshot = try XCTUnwrap(try world.dataset("src", "tank/data").snapshot(base))
            XCTAssertEqual(destination.snapshot(base)?.written, sourceSnapshot.written, file: file, line: line)
            XCTAssertEqual(sourceSnapshot.written, Int64(["1M": 1 << 20, "5M": 5 << 20, "300K": 300 << 10][size]!),
                           file: file, line: line)
        }
        // The destination keeps every base it received, in order.
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshotNames, received, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: world.lockPath(fingerprint)), "lock released", file: file, line: line)
    }

    /// The transfer of the last run went through the configured transport.
    func checkTransport(_ world: FakeTierWorld, remote: [String], mbufferPort: Int?,
                        mbufferArguments: [String], senderArguments: [String],
                        file: StaticString, line: UInt) throws {
        let calls = try world.calls()
        let sshSend = calls.filter { $0.tool == "ssh" && $0.line.contains("zfs send") }
        XCTAssertEqual(sshSend.count, 1, "one ssh carries the send", file: file, line: line)
        XCTAssertEqual(sshSend.first?.exit, 0, file: file, line: line)
        for word in remote {
            XCTAssertTrue(sshSend.first?.line.contains(word) ?? false, "remote side runs '\(word)': \(sshSend.first?.line ?? "")",
                          file: file, line: line)
        }
        if remote.isEmpty && mbufferPort == nil {
            XCTAssertFalse(sshSend.first?.line.contains("|") ?? true, "no compressor in \(sshSend.first?.line ?? "")",
                           file: file, line: line)
        }
        let mbuffers = calls.filter { $0.tool == "mbuffer" }
        let multiplexed = sshSend.first?.argv.contains("ControlMaster=no") ?? false
        // (A run directory whose path is too long for a socket shares no connection at all.)
        let shared = calls.contains { $0.tool == "ssh" && $0.argv.contains("ControlMaster=yes") }
        guard let port = mbufferPort else {
            XCTAssertTrue(mbuffers.isEmpty, "no mbuffer over ssh", file: file, line: line)
            XCTAssertEqual(multiplexed, shared, "the ssh that carries the stream goes through the pair's shared connection: "
                           + (sshSend.first?.line ?? ""), file: file, line: line)
            return
        }
        XCTAssertEqual(multiplexed, shared, "the sender's ssh carries no stream bytes: a client of the shared connection: "
                       + (sshSend.first?.line ?? ""), file: file, line: line)
        let listener = mbuffers.filter { $0.host == "backup" }
        let sender = mbuffers.filter { $0.host == "src" }
        XCTAssertEqual(listener.count, 1, file: file, line: line)
        XCTAssertEqual(sender.count, 1, file: file, line: line)
        XCTAssertTrue(listener.first?.line.hasSuffix("-I backup:\(port)") ?? false, listener.first?.line ?? "", file: file, line: line)
        XCTAssertTrue(sender.first?.line.hasSuffix("-O backup:\(port)") ?? false, sender.first?.line ?? "", file: file, line: line)
        XCTAssertEqual(listener.first?.exit, 0, file: file, line: line)
        XCTAssertEqual(sender.first?.exit, 0, file: file, line: line)
        for argument in mbufferArguments {
            XCTAssertTrue(listener.first?.argv.contains(argument) ?? false, "listener has \(argument)", file: file, line: line)
        }
        for argument in senderArguments + mbufferArguments {
            XCTAssertTrue(sender.first?.argv.contains(argument) ?? false, "sender has \(argument)", file: file, line: line)
        }
        XCTAssertTrue(sshSend.first?.line.contains("mbuffer") ?? false, file: file, line: line)
    }

    func requireTool(_ name: String) throws {
        let found = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
        if !found { throw XCTSkip("\(name) is not installed") }
    }
}

/// Round trips to the source: what an update needs of the source is read in one remote line, the snapshot
/// is taken, held and read back in one, and the source's part of the base's move is one more.
final class FakeTierRoundTripTests: XCTestCase {
    func testAnUpdateTakesFourRemoteCommands() throws {
        let world = try FakeTierWorld("rt")
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data  port=\(try FakeTierWorld.freePort())")
        try world.setupAndInitialize("backup/data")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let remote = try world.calls().filter { $0.tool == "ssh" && $0.argv.contains("ControlMaster=no") }.map { $0.argv.last ?? "" }
        let first = try XCTUnwrap(remote.first)
        for command in ["zfs version", "zpool get version tank", "zpool get -H -o value feature@", "zfs get -H -p -r"] {
            XCTAssertTrue(first.contains(command), "the first remote line reads '\(command)' too: \(first)")
        }
        // read; snapshot (take, hold, read back); stream; the base's move (record, release, destroy)
        XCTAssertEqual(remote.count, 4, remote.joined(separator: "\n"))
        let snapshot = try XCTUnwrap(remote.dropFirst().first)
        for command in ["zfs snapshot", "zfs hold", "zfs get -H -p -r"] {
            XCTAssertTrue(snapshot.contains(command), "the snapshot's line runs '\(command)': \(snapshot)")
        }
        XCTAssertTrue(remote[2].contains("zfs send"), remote[2])
        let finish = try XCTUnwrap(remote.last)
        for command in ["zfs set", "zfs release", "zfs destroy"] {
            XCTAssertTrue(finish.contains(command), "the last remote line runs '\(command)': \(finish)")
        }
        XCTAssertFalse(finish.contains("zfs hold"), "the new base was held when it was taken: \(finish)")
        // The fake ran each command of that line on its own, and the probe answered as before.
        XCTAssertEqual(try world.zfsCalls("version", on: "src").count, 1)
    }
}
