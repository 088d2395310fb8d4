import Foundation
import XCTest

/// Today's OpenZFS through the fake: encrypted sources sent raw, blocks sent as stored, and
/// mountpoints that never come from the source.
final class FakeTierOpenZFSTests: XCTestCase {
    /// An encrypted source: initialize and updates raw, the destination never holding the key; a cut
    /// stream resumed raw; status, check and runstatus on the keyless destination.
    func testAnEncryptedSourceIsReplicatedRawAndTheDestinationNeverHoldsTheKey() throws {
        let world = try encryptedSourceWorld("3M")
        let fingerprint = try world.fingerprint("backup/secret")
        try world.setupAndInitialize("backup/secret")
        var base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -w tank/secret@\(base)"])
        let copy = try world.dataset("backup", "backup/secret")
        XCTAssertEqual(copy.keystatus, "unavailable", "the destination never holds the key")
        XCTAssertEqual(copy.crypt?.root, "backup/secret", "a raw stream makes its own encryption root")
        XCTAssertEqual(copy.crypt?.suite, "aes-256-gcm")
        XCTAssertEqual(copy.mounted, false)
        let readonly = try world.zfs(on: "backup", ["get", "-H", "-o", "value,source", "readonly", "backup/secret"])
        XCTAssertEqual(readonly.stdout, "on\tlocal\n", "the keyless copy is read-only: \(readonly.stderr)")
        XCTAssertTrue(world.log(fingerprint).contains("(send -w)"), world.log(fingerprint))

        // An update, then one whose stream is cut after 1 MB: the next update resumes it raw.
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", "2M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/secret"))
        let previous = base
        base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -w -i tank/secret@\(previous) tank/secret@\(base)"])

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", "4M")
        try world.addFault(["tool": "zfs", "sub": "receive", "host": "backup", "effect": "recv-fail-after", "bytes": "1000000", "when": "once"])
        world.expectFailure(try world.zettabee("update", "backup/secret"), action: "update", destination: "backup/secret",
                            words: ["transfer failed"])
        let partial = try world.dataset("backup", "backup/secret")
        XCTAssertNotNil(partial.partial, "the cut stream was saved for resuming")
        let status = try world.zettabee("status", "-H", "backup/secret")
        XCTAssertEqual(status.exitCode, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("\tResumable\t"), status.stdout)
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/secret"))
        let sends = try world.zfsCalls("send", on: "src").map(\.argv)
        let resumed = try XCTUnwrap(sends.first { !$0.contains("-n") }, "\(sends)")
        XCTAssertEqual(resumed.prefix(2), ["send", "-t"], "the stream is resumed: \(sends)")
        let token = try XCTUnwrap(resumed.last)
        let contents = try world.zfs(on: "src", ["send", "-nvt", token])
        XCTAssertTrue(contents.stdout.contains("rawok"), contents.stdout)
        base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.dataset("backup", "backup/secret").keystatus, "unavailable")

        // Everyday actions on the keyless destination.
        let after = try world.zettabee("status", "-H", "backup/secret")
        XCTAssertTrue(after.stdout.contains("\tSynchronized\t"), after.stdout)
        let check = try world.zettabee("check", "backup/secret")
        XCTAssertEqual(check.exitCode, 0, check.stdout + check.stderr)
        let runstatus = try world.zettabee("runstatus", "backup/secret")
        XCTAssertTrue(runstatus.stderr.contains("last run: update succeeded"), runstatus.stderr)
        let purge = try world.zettabee("purge", "backup/secret")
        XCTAssertEqual(purge.exitCode, 0, purge.stderr)
        XCTAssertNotNil(try world.dataset("backup", "backup/secret").snapshot(base), "purge keeps the base")

        // The key the source has opens the copy: the same data, encrypted with the same key.
        let load = try world.zfs(on: "backup", ["load-key", "backup/secret"], stdin: "correct horse battery\n")
        XCTAssertEqual(load.exitCode, 0, load.stderr)
    }

    /// `raw=no` sends plaintext only where OpenZFS can: with the source's key loaded, one filesystem.
    /// Without the key it fails before any change, with OpenZFS's reason; a copy replicated in the
    /// clear is then Inconsistent for a raw stream.
    func testRawNoNeedsTheKeyAndAPlainCopyIsNotUpdatedRaw() throws {
        let world = try encryptedSourceWorld("2M", options: "raw=no")
        let fingerprint = try world.fingerprint("backup/secret")
        XCTAssertEqual(try world.zfs(on: "src", ["unmount", "tank/secret"]).exitCode, 0)
        XCTAssertEqual(try world.zfs(on: "src", ["unload-key", "tank/secret"]).exitCode, 0)
        try world.expectSuccess(try world.zettabee("setup"))
        let before = try world.dataset("src", "tank/secret")
        let propertiesBefore = try world.allProperties("src", "tank/secret")
        try world.clearCalls()
        world.expectFailure(try world.zettabee("initialize", "backup/secret"), action: "initialize", destination: "backup/secret",
                            words: ["raw=no", "dataset key must be loaded", "tank/secret"])
        XCTAssertEqual(try world.zfsCalls("snapshot", on: "src").map(\.line), [], "nothing changed")
        XCTAssertEqual(try world.dataset("src", "tank/secret").snapshotGUIDs, before.snapshotGUIDs)
        XCTAssertEqual(try world.dataset("src", "tank/secret").local, before.local)
        XCTAssertEqual(try world.allProperties("src", "tank/secret"), propertiesBefore)
        XCTAssertNil(try world.dump("backup").datasets["backup/secret"])

        // With the key loaded: a plain stream (no -e from encrypted data), an unencrypted copy.
        let load = try world.zfs(on: "src", ["load-key", "tank/secret"], stdin: "correct horse battery\n")
        XCTAssertEqual(load.exitCode, 0, load.stderr)
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("initialize", "backup/secret"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -L -c tank/secret@\(base)"])
        XCTAssertNil(try world.dataset("backup", "backup/secret").crypt, "stored in the clear")

        // Switching to raw now would put a raw stream on a plain copy: Inconsistent, nothing changed.
        try world.writeConfig("src:tank/secret  backup:backup/secret")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", "1M")
        let state = try world.pairState(source: "tank/secret", destination: "backup/secret")
        world.expectFailure(try world.zettabee("update", "backup/secret"), action: "update", destination: "backup/secret",
                            words: ["Inconsistent", "tank/secret is encrypted but its copy backup/secret is not"])
        XCTAssertEqual(try world.pairState(source: "tank/secret", destination: "backup/secret"), state)
    }

    /// A copy received raw cannot take a decrypted stream: `raw=no` on such a pair is Inconsistent before
    /// any change (no snapshot taken on the source), and `raw=auto` goes on raw.
    func testRawNoOnACopyReceivedRawIsInconsistentBeforeAnyChange() throws {
        let world = try encryptedSourceWorld("2M")
        let fingerprint = try world.fingerprint("backup/secret")
        try world.setupAndInitialize("backup/secret")
        try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.dataset("src", "tank/secret").keystatus, "available", "raw=no could send it decrypted")

        try world.writeConfig("src:tank/secret  backup:backup/secret  raw=no")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", "1M")
        try world.expectRefusalChangesNothing(
            try world.zettabee("update", "backup/secret"), action: "update", source: "tank/secret", destination: "backup/secret",
            words: ["pair is Inconsistent: backup/secret was received raw (encrypted) but raw=no would send tank/secret "
                + "decrypted; a plain stream cannot go on top of it: set raw=auto, or re-initialize the pair"])
        XCTAssertFalse(world.log(fingerprint).contains("update: incremental send"), world.log(fingerprint))

        try world.writeConfig("src:tank/secret  backup:backup/secret")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/secret"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").last?.argv.first { $0.hasPrefix("-") }, "-w", "\(base) went raw")
    }

    /// The source stops being encrypted while its copy was received raw (its encryption root dropped by
    /// replacing it with a decrypted copy of itself, which keeps the snapshots' GUIDs): Inconsistent, and
    /// nothing changes.
    func testASourceNoLongerEncryptedWhileItsCopyWasReceivedRawIsInconsistent() throws {
        let world = try encryptedSourceWorld("2M")
        let fingerprint = try world.fingerprint("backup/secret")
        try world.setupAndInitialize("backup/secret")
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")

        // The source replaced by its own decrypted stream, with the pair's properties and hold put back.
        let encrypted = try world.dataset("src", "tank/secret")
        let stream = world.directory + "/decrypted.zfs"
        let environment = world.environment.merging(["ZFAKE_HOST": "src"]) { $1 }
        let sent = try TestProcess.run("/bin/sh", ["-c", "zfs send tank/secret@\(base) > \(stream)"], environment: environment, timeout: 30)
        XCTAssertEqual(sent.exitCode, 0, sent.stderr)
        for tag in try XCTUnwrap(encrypted.snapshot(base)).holds.keys {
            XCTAssertEqual(try world.zfs(on: "src", ["release", tag, "tank/secret@\(base)"]).exitCode, 0)
        }
        XCTAssertEqual(try world.zfs(on: "src", ["destroy", "-r", "tank/secret"]).exitCode, 0)
        let received = try TestProcess.run("/bin/sh", ["-c", "zfs receive tank/secret < \(stream)"], environment: environment, timeout: 30)
        XCTAssertEqual(received.exitCode, 0, received.stderr)
        for (name, value) in encrypted.local where name.hasPrefix("zettabee:") {
            XCTAssertEqual(try world.zfs(on: "src", ["set", "\(name)=\(value)", "tank/secret"]).exitCode, 0)
        }
        for tag in try XCTUnwrap(encrypted.snapshot(base)).holds.keys {
            XCTAssertEqual(try world.zfs(on: "src", ["hold", tag, "tank/secret@\(base)"]).exitCode, 0)
        }
        let clear = try world.dataset("src", "tank/secret")
        XCTAssertNil(clear.crypt, "the source is not encrypted any more")
        XCTAssertEqual(clear.snapshotGUIDs, encrypted.snapshotGUIDs, "with the same snapshots")
        XCTAssertEqual(try world.dataset("backup", "backup/secret").crypt?.root, "backup/secret")

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", "1M")
        try world.expectRefusalChangesNothing(
            try world.zettabee("update", "backup/secret"), action: "update", source: "tank/secret", destination: "backup/secret",
            words: ["pair is Inconsistent: backup/secret is encrypted (it was received raw) but tank/secret is not any more; "
                + "re-initialize the pair"])
    }

    /// A failed initialize's leftovers on the destination are destroyed only once nothing refuses the run:
    /// a `raw=no` refusal leaves them (and the source) as they were; the next initialize clears them.
    func testARefusedInitializeLeavesAFailedInitializesLeftoversAlone() throws {
        let world = try encryptedSourceWorld("2M", options: "raw=no")
        let fingerprint = try world.fingerprint("backup/secret")
        try world.expectSuccess(try world.zettabee("setup"))
        // What an initialize with raw=no that died before recording the base leaves: the pair's snapshot
        // on both sides, received in the clear, and no pair properties.
        let leftover = "zettabee.\(fingerprint).20260101000000UTC"
        XCTAssertEqual(try world.zfs(on: "src", ["snapshot", "tank/secret@\(leftover)"]).exitCode, 0)
        let copied = try TestProcess.run(
            "/bin/sh", ["-c", "ZFAKE_HOST=src zfs send tank/secret@\(leftover) | ZFAKE_HOST=backup zfs receive backup/secret"],
            environment: world.environment, timeout: 30)
        XCTAssertEqual(copied.exitCode, 0, copied.stderr)
        XCTAssertEqual(try world.zfs(on: "src", ["unmount", "tank/secret"]).exitCode, 0)
        XCTAssertEqual(try world.zfs(on: "src", ["unload-key", "tank/secret"]).exitCode, 0)

        try world.expectRefusalChangesNothing(
            try world.zettabee("initialize", "backup/secret"), action: "initialize", source: "tank/secret", destination: "backup/secret",
            words: ["raw=no, but the key of tank/secret is not loaded on the source"])
        XCTAssertFalse(world.log(fingerprint).contains("destroying it to start again"), world.log(fingerprint))

        let load = try world.zfs(on: "src", ["load-key", "tank/secret"], stdin: "correct horse battery\n")
        XCTAssertEqual(load.exitCode, 0, load.stderr)
        try world.expectSuccess(try world.zettabee("initialize", "backup/secret"))
        XCTAssertTrue(world.log(fingerprint).contains("destroying it to start again"), world.log(fingerprint))
        XCTAssertNil(try world.dataset("backup", "backup/secret").snapshot(leftover), "the leftover copy was replaced")
        // The source's leftover snapshot goes with the first update, as any earlier run's.
        try world.expectSuccess(try world.zettabee("update", "backup/secret"))
        try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
    }

    /// Blocks cross as stored: `-L -c -e` by default, the copy as compressed as the source; none of them
    /// with `compressed=no`.
    func testBlocksAreSentAsStoredUnlessTurnedOff() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(sources: ["a", "b"], size: "9M")
        try world.ctl(FakeTierWorld.sourceHost, "compress", "tank/a", "3.00")
        try world.ctl(FakeTierWorld.sourceHost, "compress", "tank/b", "3.00")
        try world.writeConfig("src:tank/a  backup:backup/a", "src:tank/b  backup:backup/b  compressed=no")
        try world.expectSuccess(try world.zettabee("setup"))
        for pair in ["a", "b"] {
            try world.clearCalls()
            try world.expectSuccess(try world.zettabee("initialize", "backup/\(pair)"))
            let send = try XCTUnwrap(try world.zfsCalls("send", on: "src").first)
            XCTAssertEqual(Array(send.argv.dropLast()), pair == "a" ? ["send", "-L", "-c", "-e"] : ["send"])
            let estimate = try world.zfs(on: "src", ["send", "-nvP"] + send.argv.dropFirst())
            XCTAssertEqual(estimate.exitCode, 0, estimate.stderr)
            let size = estimate.stdout.split(separator: "\n").last.map { String($0) } ?? ""
            XCTAssertEqual(size, pair == "a" ? "size\t3145728" : "size\t9437184", "the stream \(send.line) carries")
        }
    }

    /// A child whose mountpoint is set on the source: OpenZFS's receive excludes it, so the copy
    /// inherits the destination's and nothing mounts at the source's path; `mountpoints=source` keeps it.
    func testAChildsMountpointFromTheSourceIsNeverTaken() throws {
        let world = try FakeTierWorld(name)
        try world.treeHosts()
        XCTAssertEqual(try world.zfs(on: "src", ["set", "mountpoint=/srv/kid", "tank/data/kid"]).exitCode, 0)
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data")
        _ = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        func expectDestinationsMountpoints(_ when: String) throws {
            let kid = try world.dataset("backup", "backup/data/kid")
            XCTAssertEqual(kid.mountpoint, "/backup/data/kid", when)
            XCTAssertEqual(kid.mountpointSource, "default", "\(when): inherited (OpenZFS says default while no ancestor sets it)")
            XCTAssertEqual(kid.received["mountpoint"], "/srv/kid", "\(when): the source's value is kept as the received one")
            let mountedAtTheSourcesPath = try world.dump("backup").datasets.values.filter { $0.mountpoint == "/srv/kid" }
            XCTAssertEqual(mountedAtTheSourcesPath.map(\.name), [], when)
        }
        try expectDestinationsMountpoints("after initialize")
        XCTAssertEqual(try world.zfsCalls("receive", on: "backup").last?.argv.suffix(3), ["-x", "mountpoint", "backup/data"])
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "1M")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        _ = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        try expectDestinationsMountpoints("after an update")

        let mirror = try FakeTierWorld(name + "Mirror")
        try mirror.treeHosts()
        XCTAssertEqual(try mirror.zfs(on: "src", ["set", "mountpoint=/srv/kid", "tank/data/kid"]).exitCode, 0)
        try mirror.writeConfig("src:tank/data  backup:backup/data  mountpoints=source")
        try mirror.setupAndInitialize("backup/data")
        let kid = try mirror.dataset("backup", "backup/data/kid")
        XCTAssertEqual(kid.mountpoint, "/srv/kid")
        XCTAssertEqual(kid.mountpointSource, "received")
    }
}

/// Old zfs (zfs-fuse) cannot exclude a mountpoint on receive: a tree in which the source sets one is
/// sent dataset by dataset, so no stream carries it (the real tier shows the mounts themselves).
final class FakeTierOldZfsMountpointTests: XCTestCase {
    func testATreeThatSetsAMountpointIsSentDatasetByDataset() throws {
        let world = try FakeTierWorld(name)
        try world.treeHosts(legacy: true)
        XCTAssertEqual(try world.zfs(on: "src", ["set", "mountpoint=/srv/kid", "tank/data/kid"]).exitCode, 0)
        try world.writeConfig("src:tank/data  backup:backup/data")
        let fingerprint = try world.fingerprint("backup/data")
        try world.clearCalls()
        try world.setupAndInitialize("backup/data")
        var base = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid"])
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send tank/data@\(base)", "send tank/data/kid@\(base)"])
        XCTAssertEqual(try world.zfsCalls("receive", on: "backup").map(\.line), ["receive backup/data", "receive backup/data/kid"])
        XCTAssertNil(try world.dataset("backup", "backup/data/kid").property("mountpoint"), "no mountpoint arrived")

        // An update, with a child new on the source: increments for the old datasets, the new one whole.
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/data/new")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "1M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let previous = base
        base = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid", "/new"])
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), [
            "send -i tank/data@\(previous) tank/data@\(base)", "send -i tank/data/kid@\(previous) tank/data/kid@\(base)",
            "send tank/data/new@\(base)",
        ])
        XCTAssertTrue(world.log(fingerprint).contains("one by one"), world.log(fingerprint))

        // The child's stream fails after the parent's arrived: the next update sends the child's alone.
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data/kid", "2M")
        try world.addFault(["tool": "zfs", "sub": "receive", "host": "backup", "match": "*kid*", "effect": "recv-fail-after",
                            "bytes": "100000", "when": "once"])
        world.expectFailure(try world.zettabee("update", "backup/data"), action: "update", destination: "backup/data",
                            words: ["transfer failed"])
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let completed = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid", "/new"])
        let sends = try world.zfsCalls("send", on: "src").map(\.line)
        XCTAssertTrue(sends.first?.hasPrefix("send -i tank/data/kid@\(base) tank/data/kid@zettabee.") == true,
                      "first the child's part of the interrupted update, alone: \(sends)")
        XCTAssertTrue(world.log(fingerprint).contains("completing the interrupted transfer"), world.log(fingerprint))
        XCTAssertFalse(sends.contains { $0.contains("-R") }, "\(sends)")
        base = completed

        // Without a mountpoint set on the source, the tree goes as one recursive stream again.
        XCTAssertEqual(try world.zfs(on: "src", ["inherit", "mountpoint", "tank/data/kid"]).exitCode, 0)
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let last = try world.expectTreeSynchronized(fingerprint: fingerprint, children: ["/kid", "/new"])
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send -R -i tank/data@\(base) tank/data@\(last)"])
    }
}

/// Old zfs (zfs-fuse) has no raw streams: an encrypted source is refused with the reason that holds for
/// its `raw` option, before any change; `raw=no` sends it decrypted.
final class FakeTierOldZfsEncryptionTests: XCTestCase {
    func testAnEncryptedSourceForAZfsFuseDestinationIsRefusedWithRawAutosReason() throws {
        let world = try encryptedSourceWorld("2M", legacyDestination: true)
        let fingerprint = try world.fingerprint("backup/secret")
        try world.expectSuccess(try world.zettabee("setup"))
        let before = try world.dataset("src", "tank/secret")
        let propertiesBefore = try world.allProperties("src", "tank/secret")
        try world.clearCalls()
        world.expectFailure(
            try world.zettabee("initialize", "backup/secret"), action: "initialize", destination: "backup/secret",
            words: ["tank/secret is encrypted, so raw=auto sends it raw (zfs send -w), which needs OpenZFS on both hosts; "
                + "raw=no sends it decrypted, where its key is loaded on the source"])
        XCTAssertEqual(try world.calls().filter { $0.tool == "zfs" && ["snapshot", "send", "receive", "destroy", "set", "hold"]
            .contains($0.argv.first ?? "") }.map(\.line), [], "nothing changed")
        XCTAssertEqual(try world.dataset("src", "tank/secret").snapshotGUIDs, before.snapshotGUIDs)
        XCTAssertEqual(try world.allProperties("src", "tank/secret"), propertiesBefore)
        XCTAssertNil(try world.dump("backup").datasets["backup/secret"])

        try world.writeConfig("src:tank/secret  backup:backup/secret  raw=no")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("initialize", "backup/secret"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/secret", destination: "backup/secret")
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line), ["send tank/secret@\(base)"])
    }
}

extension FakeTierWorld {
    /// `zfs get -Hp -r -o name,property,value,source all` of `dataset` on `host`: every property of the
    /// tree and of its snapshots.
    func allProperties(_ host: String, _ dataset: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let outcome = try zfs(on: host, ["get", "-Hp", "-r", "-o", "name,property,value,source", "all", dataset], file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr, file: file, line: line)
        XCTAssertFalse(outcome.stdout.isEmpty, file: file, line: line)
        return outcome.stdout
    }

    /// `outcome` is a refusal (`expectFailure`), and the pair is as it was before it: no snapshot taken
    /// and no other change made on either host, every property and snapshot GUID of both trees unchanged.
    /// Reads both sides first, so `outcome` must be an autoclosure run after that.
    func expectRefusalChangesNothing(
        _ outcome: @autoclosure () throws -> ProcessOutcome, code: Int32 = 1, action: String, source: String,
        destination: String, words: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let state = try pairState(source: source, destination: destination)
        let sourceProperties = try allProperties(Self.sourceHost, source, file: file, line: line)
        let destinationProperties = try allProperties(Self.destinationHost, destination, file: file, line: line)
        try clearCalls()
        expectFailure(try outcome(), code: code, action: action, destination: destination, words: words, file: file, line: line)
        let changes = try calls().filter {
            $0.tool == "zfs" && ["snapshot", "send", "receive", "destroy", "set", "inherit", "hold", "release", "rollback"]
                .contains($0.argv.first ?? "")
        }
        XCTAssertEqual(changes.map { "\($0.host): \($0.line)" }, [], "nothing changed", file: file, line: line)
        XCTAssertEqual(try pairState(source: source, destination: destination), state, file: file, line: line)
        XCTAssertEqual(try allProperties(Self.sourceHost, source, file: file, line: line), sourceProperties, file: file, line: line)
        XCTAssertEqual(try allProperties(Self.destinationHost, destination, file: file, line: line), destinationProperties,
                       file: file, line: line)
    }
}

fileprivate extension XCTestCase {
    /// A world whose source `tank/secret` is encrypted (passphrase `correct horse battery`) and holds
    /// `data`, a destination pool `backup`, and the pair `src:tank/secret backup:backup/secret OPTIONS`.
    func encryptedSourceWorld(_ data: String, options: String = "", legacyDestination: Bool = false) throws -> FakeTierWorld {
        let world = try FakeTierWorld(name)
        try world.ctl(FakeTierWorld.sourceHost, "create-pool", "tank")
        try world.ctl(FakeTierWorld.sourceHost, "create", "tank/secret", "--passphrase", "correct horse battery")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/secret", data)
        try world.ctl(arguments: [FakeTierWorld.destinationHost, "create-pool", "backup"] + (legacyDestination ? ["--legacy"] : []))
        try world.writeConfig("src:tank/secret  backup:backup/secret" + (options.isEmpty ? "" : "  " + options))
        return world
    }
}
