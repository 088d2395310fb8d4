import Foundation
import XCTest

/// A pair the original (Ruby) Zettabee initialized: a common snapshot named in its local zone, its
/// `lastsnap` property on both sides and no `zettabee:fingerprint`. zettabee updates it in place.
final class FakeTierRubyCompatibilityTests: XCTestCase {
    func testRubyPairWithShortLastsnapIsUpdatedWithoutReinitializing() throws {
        try updateRubyPair(lastsnapValue: { _, snapshot in snapshot })
    }

    func testRubyPairWithFullLastsnapIsUpdatedWithoutReinitializing() throws {
        try updateRubyPair(lastsnapValue: { dataset, snapshot in "\(dataset)@\(snapshot)" })
    }

    func updateRubyPair(lastsnapValue: (String, String) -> String, file: StaticString = #filePath, line: UInt = #line) throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data  compress=none")
        let fingerprint = try world.fingerprint("backup/data")
        let names = PairPropertyNames(fingerprint: fingerprint)
        let rubySnapshot = "zettabee.\(fingerprint).20250115103000CET"

        // What the Ruby tool left: the snapshot on the source, received (same GUID) into the destination.
        XCTAssertEqual(try world.zfs(on: "src", ["snapshot", "tank/data@\(rubySnapshot)"]).exitCode, 0, file: file, line: line)
        var environment = world.environment
        environment["ZFAKE_HOST"] = "src"
        let transfer = try TestProcess.run(
            "/bin/sh", ["-c", "zfs send tank/data@\(rubySnapshot) | ZFAKE_HOST=backup zfs receive backup/data"],
            environment: environment, timeout: 30)
        XCTAssertEqual(transfer.exitCode, 0, transfer.stderr, file: file, line: line)
        XCTAssertEqual(try world.zfs(on: "src", ["set", "\(names.lastsnap)=\(lastsnapValue("tank/data", rubySnapshot))", "tank/data"]).exitCode, 0)
        XCTAssertEqual(try world.zfs(on: "backup", ["set", "\(names.lastsnap)=\(lastsnapValue("backup/data", rubySnapshot))", "backup/data"]).exitCode, 0)
        XCTAssertEqual(try world.zfs(on: "backup", ["set", "readonly=on", "backup/data"]).exitCode, 0)
        let rubyGUID = try XCTUnwrap(try world.dataset("src", "tank/data").snapshot(rubySnapshot)?.guid)
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshot(rubySnapshot)?.guid, rubyGUID, file: file, line: line)
        XCTAssertNil(try world.dataset("backup", "backup/data").property(PairPropertyNames.owner))

        try world.ctl("src", "write", "tank/data", "1M")
        try world.expectSuccess(try world.zettabee("setup"), file: file, line: line)
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"), file: file, line: line)

        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                ownerRecorded: false, file: file, line: line)
        XCTAssertNotEqual(base, rubySnapshot, file: file, line: line)
        XCTAssertTrue(base.hasSuffix("UTC"), base, file: file, line: line)
        XCTAssertEqual(try world.zfsCalls("send", on: "src").map(\.line),
                       ["send -L -c -e -i tank/data@\(rubySnapshot) tank/data@\(base)"], "incremental from the Ruby base", file: file, line: line)
        XCTAssertEqual(try world.zfsCalls("destroy", on: "src").map(\.line), ["destroy tank/data@\(rubySnapshot)"],
                       file: file, line: line)
        XCTAssertTrue(try world.zfsCalls("destroy", on: "backup").isEmpty, "the destination is not re-created", file: file, line: line)
        let destination = try world.dataset("backup", "backup/data")
        XCTAssertEqual(destination.snapshotNames, [rubySnapshot, base], file: file, line: line)
        XCTAssertEqual(destination.snapshot(rubySnapshot)?.guid, rubyGUID, file: file, line: line)

        // And it keeps going.
        try world.ctl("src", "write", "tank/data", "512K")
        try world.expectSuccess(try world.zettabee("update", "backup/data"), file: file, line: line)
        let next = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data",
                                                ownerRecorded: false, file: file, line: line)
        XCTAssertNotEqual(next, base, file: file, line: line)
    }
}
