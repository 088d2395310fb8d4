import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Switching over from the original Zettabee, and back: its locks, its 0.8.5 configuration layout, its
/// send_nsca files, the output its scripts parse, handing a pair back, and a listener the source can reach.
final class FakeTierSwitchOverTests: XCTestCase {
    /// An initialized pair `src:tank/data → backup:backup/data`; returns the world and the fingerprint.
    func initialized(_ label: String, options: String = "") throws -> (FakeTierWorld, String) {
        let world = try FakeTierWorld(label)
        try world.standardHosts(size: "2M")
        try world.writeConfig("src:tank/data  backup:backup/data  \(options)")
        let fingerprint = try world.fingerprint("backup/data")
        try world.setupAndInitialize("backup/data")
        return (world, fingerprint)
    }

    // MARK: 1. locks

    /// The original's lock is a directory; its run lives while its status socket exists: an update is
    /// then an overlap (exit 0, logged), status shows the pair locked and running, unlock refuses.
    func testALiveOriginalRunIsAnOverlap() throws {
        let (world, fingerprint) = try initialized(name)
        try FileManager.default.createDirectory(atPath: world.lockPath(fingerprint), withIntermediateDirectories: false)
        let socket = "\(world.runDirectory)/\(fingerprint).zmq"
        XCTAssertTrue(FileManager.default.createFile(atPath: socket, contents: Data()))
        let before = try world.pairState(source: "tank/data", destination: "backup/data")

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before, "nothing ran")
        XCTAssertTrue(world.log(fingerprint).contains("update skipped: another run holds the lock (original Zettabee, since "),
                      world.log(fingerprint))
        let status = try world.zettabee("status", "-H")
        let fields = status.stdout.split(separator: "\t").map(String.init)
        XCTAssertEqual(fields[4], "L", status.stdout)
        XCTAssertEqual(fields[5], "Running", status.stdout)
        let unlock = try world.zettabee("unlock", "backup/data")
        XCTAssertEqual(unlock.exitCode, 1)
        XCTAssertTrue(unlock.stderr.contains("refusing: the lock is held by a live run (original Zettabee"), unlock.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: world.lockPath(fingerprint)))
    }

    /// A dead original run (its lock directory left, its socket gone, or a socket nobody has bound):
    /// update refuses with the reason, in the log too; status shows the stale lock; unlock removes the
    /// directory and the socket, and the next update runs.
    func testADeadOriginalRunsLockIsStaleRefusedAndUnlocked() throws {
        let (world, fingerprint) = try initialized(name)
        let lock = world.lockPath(fingerprint)
        let socket = "\(world.runDirectory)/\(fingerprint).zmq"
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        let before = try world.pairState(source: "tank/data", destination: "backup/data")
        for leftSocket in [false, true] {
            try FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: false)
            if leftSocket { bindAndCloseUnixSocket(at: socket) }
            let failed = try world.zettabee("update", "backup/data")
            world.expectFailure(failed, action: "update", destination: "backup/data",
                                words: ["the original Zettabee left its lock", "zettabee unlock"])
            XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before, "nothing ran")
            XCTAssertTrue(world.log(fingerprint).contains("update refused: "), world.log(fingerprint))
            let status = try world.zettabee("status", "-H")
            let fields = status.stdout.split(separator: "\t").map(String.init)
            XCTAssertEqual(Array(fields[4...5]), ["L", "Idle"], status.stdout)
            let unlock = try world.zettabee("unlock", "backup/data")
            XCTAssertEqual(unlock.exitCode, 0, unlock.stderr)
            XCTAssertTrue(unlock.stdout.contains("removed the stale lock of a run that died (original Zettabee"), unlock.stdout)
            XCTAssertFalse(FileManager.default.fileExists(atPath: lock))
            XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
        }
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
    }

    /// `handback` refuses while a run holds the pair (here a live original run): exit 1, one line, the
    /// holds where they were.
    func testHandbackRefusesWhileARunHoldsThePair() throws {
        let (world, fingerprint) = try initialized(name)
        try FileManager.default.createDirectory(atPath: world.lockPath(fingerprint), withIntermediateDirectories: false)
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(world.runDirectory)/\(fingerprint).zmq", contents: Data()))
        let before = try world.pairState(source: "tank/data", destination: "backup/data")
        let base = try XCTUnwrap(try world.dataset("src", "tank/data").property(PairPropertyNames(fingerprint: fingerprint).lastsnap))
        world.expectFailure(try world.zettabee("handback", "backup/data"), action: "handback", destination: "backup/data",
                            words: ["refusing: a run holds the lock (original Zettabee"])
        XCTAssertEqual(try world.pairState(source: "tank/data", destination: "backup/data"), before)
        XCTAssertEqual(try world.dataset("src", "tank/data").snapshot(base)?.holds.keys.sorted(), ["zettabee.\(fingerprint)"])
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshot(base)?.holds.keys.sorted(), ["zettabee.\(fingerprint)"])
    }

    // MARK: 2. the 0.8.5 layout

    /// YAML settings in zettabee.cfg and the pairs in zettabee.zfg beside it: the settings' Nagios host,
    /// debug and full status are honoured, unknown keys named in a warning; -z names another pairs file.
    func testTheOriginals085LayoutIsRead() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        let directory = (world.configPath as NSString).deletingLastPathComponent
        try "src:tank/data  backup:backup/data\n".write(toFile: directory + "/zettabee.zfg", atomically: true, encoding: .utf8)
        try """
            ---
            :nagios: nagios.example
            :fullstatus: true
            :logdir: /somewhere
            """.write(toFile: world.configPath, atomically: true, encoding: .utf8)
        let nscaConfig = world.directory + "/send_nsca.cfg"
        try "password=x\n".write(toFile: nscaConfig, atomically: true, encoding: .utf8)
        try world.expectSuccess(try world.zettabee("setup"))
        let initialize = try world.zettabee("initialize", "backup/data", "--send-nsca-config", nscaConfig)
        XCTAssertEqual(initialize.exitCode, 0, initialize.stderr)
        let results = (try? String(contentsOfFile: world.world + "/nsca.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(results.contains("\"server\":\"nagios.example\"") && results.contains("INITIALIZE backup"),
                      "the settings' Nagios host got the result: \(results)")
        let fingerprint = try world.fingerprint("backup/data")
        XCTAssertTrue(world.log(fingerprint).contains("(send_nsca send_nsca (on PATH) with \(nscaConfig))"),
                      "the log names the send_nsca configuration: \(world.log(fingerprint))")

        let status = try world.zettabee("status")
        XCTAssertTrue(status.stdout.contains(":-  Idle (0:00:00)"), "full status from the settings: \(status.stdout)")
        let verbose = try world.zettabee("fingerprint", "-v")
        XCTAssertTrue(verbose.stderr.contains("ignoring settings zettabee has no use for: logdir"), verbose.stderr)

        let other = world.directory + "/other.zfg"
        try "src:tank/data  backup:backup/copy\n".write(toFile: other, atomically: true, encoding: .utf8)
        let fromOther = try world.zettabee("fingerprint", "-z", other)
        XCTAssertTrue(fromOther.stdout.contains("backup/copy"), fromOther.stdout)

        try ":debug: maybe\n".write(toFile: world.configPath, atomically: true, encoding: .utf8)
        let bad = try world.zettabee("status")
        XCTAssertEqual(bad.exitCode, 2)
        XCTAssertTrue(bad.stderr.contains("\(world.configPath):1: field 'debug': expected true or false, not 'maybe'"), bad.stderr)

        try "src:tank/data  backup:backup/data\n".write(toFile: world.configPath, atomically: true, encoding: .utf8)
        let both = try world.zettabee("status")
        XCTAssertEqual(both.exitCode, 2)
        XCTAssertTrue(both.stderr.contains("hold pairs: keep them in one file"), both.stderr)
    }

    // MARK: 4. output scripts parse

    /// `fingerprint` prints the original's line, fingerprint last; `status` lines end with
    /// `STATUS (H:MM:SS)`, with no heading unless on a terminal; `-F` adds BASE:PORT before the status.
    func testOutputKeepsTheOriginalsColumns() throws {
        let (world, fingerprint) = try initialized(name, options: "port=9123")
        let all = try world.zettabee("fingerprint")
        XCTAssertEqual(all.stdout, "src     :tank/data" + String(repeating: " ", count: 36) + "    backup:backup/data"
            + String(repeating: " ", count: 25) + "  \(fingerprint)\n")
        XCTAssertEqual(try world.zettabee("fingerprint", "backup/data").stdout, "\(fingerprint)\n")
        let status = try world.zettabee("status", "-F")
        let line = try XCTUnwrap(status.stdout.split(separator: "\n").first.map(String.init))
        XCTAssertEqual(status.stdout.split(separator: "\n").count, 1, "no heading: \(status.stdout)")
        let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        XCTAssertEqual(fields[0], "src:tank/data")
        XCTAssertEqual(fields[2], "Synchronized")
        XCTAssertTrue(fields[4].hasPrefix("zettabee.\(fingerprint).") && fields[4].hasSuffix(":9123"), line)
        XCTAssertEqual(Array(fields[5...]), ["Idle", "(0:00:00)"])
    }

    // MARK: 5. going back

    /// The original moved the base on (its own update) and could not destroy the old base, which
    /// zettabee holds: the next zettabee run releases that hold on both sides and destroys the old base on
    /// the source. `handback` releases the pair's holds so that the original's destroy works.
    func testGoingBackAndForthHeals() throws {
        let (world, fingerprint) = try initialized(name)
        let names = PairPropertyNames(fingerprint: fingerprint)
        let old = try XCTUnwrap(try world.dataset("src", "tank/data").property(names.lastsnap))
        // The original's update: a snapshot, the stream, the base recorded; its destroy of the old base fails.
        let next = "zettabee.\(fingerprint).20990101000000UTC"
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        XCTAssertEqual(try world.zfs(on: "src", ["snapshot", "tank/data@\(next)"]).exitCode, 0)
        let stream = try TestProcess.run("/bin/sh", ["-c", "ZFAKE_HOST=src zfs send -i tank/data@\(old) tank/data@\(next) | ZFAKE_HOST=backup zfs receive backup/data"],
                                         environment: world.environment, timeout: 60)
        XCTAssertEqual(stream.exitCode, 0, stream.stderr)
        for (host, dataset) in [("backup", "backup/data"), ("src", "tank/data")] {
            XCTAssertEqual(try world.zfs(on: host, ["set", "\(names.lastsnap)=\(next)", dataset]).exitCode, 0)
        }
        let refused = try world.zfs(on: "src", ["destroy", "tank/data@\(old)"])
        XCTAssertNotEqual(refused.exitCode, 0, "zettabee's hold keeps the original from destroying the old base")

        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let base = try world.expectSynchronized(fingerprint: fingerprint, source: "tank/data", destination: "backup/data")
        XCTAssertNil(try world.dataset("src", "tank/data").snapshot(old), "the old base is destroyed on the source")
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshot(old)?.holds ?? [:], [:], "and released on the destination")
        XCTAssertTrue(world.log(fingerprint).contains("releasing the hold an earlier run left on tank/data@\(old)"), world.log(fingerprint))

        let handback = try world.zettabee("handback", "backup/data")
        XCTAssertEqual(handback.exitCode, 0, handback.stderr)
        XCTAssertTrue(handback.stdout.contains("released this pair's hold on 2 snapshot(s)"), handback.stdout)
        XCTAssertEqual(try world.dataset("src", "tank/data").snapshot(base)?.holds ?? [:], [:])
        XCTAssertEqual(try world.dataset("backup", "backup/data").snapshot(base)?.holds ?? [:], [:])
        XCTAssertEqual(try world.dataset("src", "tank/data").property(names.lastsnap), base, "everything else stays")
        XCTAssertEqual(try world.zfs(on: "src", ["destroy", "tank/data@\(base)"]).exitCode, 0, "the original can destroy it now")
    }

    // MARK: 6. the listener

    /// A destination host name that resolves to loopback (here `localhost`): mbuffer listens on every
    /// interface and the log says why; `listen=` chooses the address.
    func testAListenerTheSourceCanReach() throws {
        let world = try FakeTierWorld(name)
        try world.standardHosts(size: "2M")
        let port = try FakeTierWorld.freePort()
        try world.writeConfig("src:tank/data  localhost:backup/data  port=\(port)")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("setup"))
        try world.expectSuccess(try world.zettabee("initialize", "backup/data"))
        let listener = try XCTUnwrap(try world.calls().first { $0.tool == "mbuffer" && $0.argv.contains("-I") })
        XCTAssertEqual(listener.argv.last, String(port), "every interface: \(listener.argv)")
        let fingerprint = try world.fingerprint("backup/data")
        XCTAssertTrue(world.log(fingerprint).contains("destination host localhost resolves to 127.0.0.1"), world.log(fingerprint))
        XCTAssertTrue(world.log(fingerprint).contains("mbuffer listens on every interface; set listen=ADDRESS to choose"))

        try world.writeConfig("src:tank/data  localhost:backup/data  port=\(port),listen=127.0.0.1")
        try world.ctl(FakeTierWorld.sourceHost, "write", "tank/data", "1M")
        try world.clearCalls()
        try world.expectSuccess(try world.zettabee("update", "backup/data"))
        let chosen = try XCTUnwrap(try world.calls().first { $0.tool == "mbuffer" && $0.argv.contains("-I") })
        XCTAssertEqual(chosen.argv.last, "127.0.0.1:\(port)")
    }
}

/// Leaves a Unix socket file at `path` that no process has bound any more (a killed run's leftover).
func bindAndCloseUnixSocket(at path: String) {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
    }
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    close(fd)
}
