import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The third-party client tier: syncoid (Debian package `sanoid`), unmodified, against the fake zfs,
/// zpool, ssh and mbuffer (pv and lzop are Debian's own). Each case runs syncoid in a fresh world and
/// then reads both sides' state with `zfake-ctl --host H dump`: snapshots, their GUIDs equal on both
/// sides, properties. The cases run as a tier of their own, one at a time: syncoid refuses to receive
/// into a dataset while any process on the machine receives into one of that name, so they cannot share
/// the machine with the fake tier's parallel tests. They run with `ZB_SYNCOID_REQUIRED=1`
/// (scripts/test-syncoid.sh sets it; then a missing syncoid fails them: the tier never passes without
/// running) or `ZB_SYNCOID=1`, and skip otherwise, saying so.
final class SyncoidTierTests: XCTestCase {
    var harness: FakeNetHarness!
    var syncoid = ""

    static let searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    override func setUpWithError() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["ZB_SYNCOID_REQUIRED"] == "1" || environment["ZB_SYNCOID"] == "1" else {
            throw XCTSkip("the syncoid tier runs by itself, one case at a time: scripts/test-syncoid.sh "
                + "(or ZB_SYNCOID=1 swift test --filter SyncoidTier)")
        }
        let path = (environment["PATH"] ?? "") + ":" + Self.searchPath
        guard let found = path.split(separator: ":").map({ "\($0)/syncoid" })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            let message = "syncoid is not on PATH (Debian package sanoid): the syncoid tier did not run; "
                + "scripts/test-syncoid.sh installs it"
            if ProcessInfo.processInfo.environment["ZB_SYNCOID_REQUIRED"] == "1" { throw TierMissing(message) }
            throw XCTSkip(message)
        }
        syncoid = found
        harness = try FakeNetHarness()
        try ctl("create-pool", "tank")
        try ctl("create-pool", "vault")
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    // MARK: - Helpers

    var environment: [String: String] {
        harness.environment(["PATH": "\(harness.fakebin):\(Self.searchPath)"])
    }

    @discardableResult
    func ctl(_ arguments: String..., host: String = "localhost", file: StaticString = #filePath, line: UInt = #line) throws -> FakeNetResult {
        let words = ["zfake-ctl", "--host", host] + arguments
        let result = try FakeNetProcess.run(shell: words.map(FakeNetHarness.shellQuote).joined(separator: " "),
                                            environment: environment, timeout: 30, file: file, line: line)
        XCTAssertEqual(result.status, 0, "zfake-ctl \(arguments): \(result.err)", file: file, line: line)
        return result
    }

    @discardableResult
    func sh(_ script: String, host: String = "localhost", file: StaticString = #filePath, line: UInt = #line) throws -> FakeNetResult {
        var env = environment
        env["ZFAKE_HOST"] = host
        return try FakeNetProcess.run(shell: script, environment: env, timeout: 60, file: file, line: line)
    }

    /// Runs syncoid with `arguments` (each one word); returns its result.
    func runSyncoid(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> FakeNetResult {
        let words = [syncoid] + arguments
        return try FakeNetProcess.run(shell: words.map(FakeNetHarness.shellQuote).joined(separator: " "),
                                      environment: environment, timeout: 180, file: file, line: line)
    }

    func syncoidSucceeds(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runSyncoid(arguments, file: file, line: line)
        XCTAssertEqual(result.status, 0, "syncoid \(arguments):\n\(result.out)\n\(result.err)", file: file, line: line)
    }

    /// A host's datasets from `zfake-ctl --host H dump`.
    func datasets(_ host: String = "localhost", file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: Any]] {
        let dump = try ctl("dump", host: host, file: file, line: line)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any], file: file, line: line)
        return try XCTUnwrap(json["datasets"] as? [String: [String: Any]], file: file, line: line)
    }

    /// A dataset's snapshots, oldest first: name and GUID (exact, as decimal text).
    func snapshots(_ fs: String, host: String = "localhost", file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let dataset = try XCTUnwrap(try datasets(host, file: file, line: line)[fs], "\(host): no \(fs)", file: file, line: line)
        let list = dataset["snapshots"] as? [[String: Any]] ?? []
        var result: [String: String] = [:]
        for snapshot in list {
            result[snapshot["name"] as? String ?? "?"] = (snapshot["guid"] as? NSNumber).map { "\($0.uint64Value)" } ?? "?"
        }
        return result
    }

    func bookmarks(_ fs: String, host: String = "localhost") throws -> [String: String] {
        let dataset = try XCTUnwrap(try datasets(host)[fs])
        var result: [String: String] = [:]
        for bookmark in dataset["bookmarks"] as? [[String: Any]] ?? [] {
            result[bookmark["name"] as? String ?? "?"] = (bookmark["guid"] as? NSNumber).map { "\($0.uint64Value)" } ?? "?"
        }
        return result
    }

    /// Both sides hold the same snapshots with the same GUIDs (the target may lack pruned ones: only
    /// `names` are compared when given).
    func assertReplicated(_ source: String, _ target: String, sourceHost: String = "localhost", targetHost: String = "localhost",
                          names: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let from = try snapshots(source, host: sourceHost, file: file, line: line)
        let to = try snapshots(target, host: targetHost, file: file, line: line)
        XCTAssertFalse(to.isEmpty, "\(target) has no snapshots", file: file, line: line)
        if let names {
            for name in names {
                XCTAssertNotNil(from[name], "\(source)@\(name) missing", file: file, line: line)
                XCTAssertEqual(to[name], from[name], "\(target)@\(name): GUID", file: file, line: line)
            }
        } else {
            XCTAssertEqual(to, from, "\(source) -> \(target)", file: file, line: line)
        }
        // The dump's GUIDs agree with what zfs prints.
        if let (name, guid) = to.first {
            let printed = try sh("zfs get -Hp -o value guid \(FakeNetHarness.shellQuote("\(target)@\(name)"))", host: targetHost)
            XCTAssertEqual(printed.out, guid + "\n", file: file, line: line)
        }
    }

    func syncSnapshots(_ names: [String: String]) -> [String] { names.keys.filter { $0.hasPrefix("syncoid_") }.sorted() }

    /// syncoid names its snapshots to the second: the next run must not fall in the same second.
    func nextSecond() {
        let start = Int(Date().timeIntervalSince1970)
        let deadline = Date().addingTimeInterval(2)
        while Int(Date().timeIntervalSince1970) == start && Date() < deadline { usleep(10_000) }
    }

    // MARK: - Cases

    func testSyncoidFullReplication() throws {
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "5M")
        try sh("zfs snapshot tank/data@first")
        try syncoidSucceeds("tank/data", "vault/data")
        try assertReplicated("tank/data", "vault/data")
        let target = try XCTUnwrap(try datasets()["vault/data"])
        XCTAssertEqual(target["referenced"] as? Int, 5 << 20)
        XCTAssertEqual(target["inconsistent"] as? Bool, false)
        XCTAssertEqual(syncSnapshots(try snapshots("vault/data")).count, 1, "syncoid's own sync snapshot")
        XCTAssertEqual(try sh("zfs get -H -o value receive_resume_token vault/data").out, "-\n")
    }

    func testSyncoidIncrementalWithIntermediateSnapshotsAndSyncSnapshotPruning() throws {
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "2M")
        try sh("zfs snapshot tank/data@a")
        try syncoidSucceeds("tank/data", "vault/data")
        let firstSync = syncSnapshots(try snapshots("tank/data"))
        try ctl("write", "tank/data", "1M")
        try sh("zfs snapshot tank/data@b && zfs snapshot tank/data@c")
        try ctl("write", "tank/data", "1M")
        nextSecond()
        try syncoidSucceeds("tank/data", "vault/data")
        // The intermediates arrive (-I), syncoid's older sync snapshot is pruned on both sides.
        try assertReplicated("tank/data", "vault/data")
        let sync = syncSnapshots(try snapshots("vault/data"))
        XCTAssertEqual(sync.count, 1)
        XCTAssertNotEqual(sync, firstSync)
        XCTAssertEqual(Set(try snapshots("vault/data").keys), Set(["a", "b", "c"] + sync))
        XCTAssertEqual(try datasets()["vault/data"]?["referenced"] as? Int, 4 << 20)
    }

    func testSyncoidRecursiveWithChildren() throws {
        for fs in ["tank/tree", "tank/tree/c1", "tank/tree/c1/g", "tank/tree/c2"] { try ctl("create", fs) }
        try ctl("write", "tank/tree/c1", "3M")
        try ctl("write", "tank/tree/c2", "1M")
        try syncoidSucceeds("-r", "tank/tree", "vault/tree")
        for child in ["", "/c1", "/c1/g", "/c2"] {
            try assertReplicated("tank/tree" + child, "vault/tree" + child)
        }
        XCTAssertEqual(try datasets()["vault/tree/c1"]?["referenced"] as? Int, 3 << 20)
        // And again, incrementally, with a new child.
        try ctl("create", "tank/tree/c3")
        try ctl("write", "tank/tree/c1/g", "1M")
        nextSecond()
        try syncoidSucceeds("-r", "tank/tree", "vault/tree")
        for child in ["", "/c1", "/c1/g", "/c2", "/c3"] {
            try assertReplicated("tank/tree" + child, "vault/tree" + child)
        }
    }

    func testSyncoidNoSyncSnap() throws {
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "1M")
        try sh("zfs snapshot tank/data@s1")
        try syncoidSucceeds("--no-sync-snap", "tank/data", "vault/data")
        try sh("zfs snapshot tank/data@s2 && zfs snapshot tank/data@s3")
        try syncoidSucceeds("--no-sync-snap", "tank/data", "vault/data")
        try assertReplicated("tank/data", "vault/data")
        XCTAssertEqual(Set(try snapshots("vault/data").keys), ["s1", "s2", "s3"])
        XCTAssertTrue(syncSnapshots(try snapshots("tank/data")).isEmpty)
    }

    func testSyncoidCreateBookmarkThenSendFromIt() throws {
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "1M")
        try sh("zfs snapshot tank/data@s1")
        try syncoidSucceeds("--no-sync-snap", "--create-bookmark", "tank/data", "vault/data")
        let source = try snapshots("tank/data")
        XCTAssertEqual(try bookmarks("tank/data"), ["s1": try XCTUnwrap(source["s1"])], "bookmark with the snapshot's GUID")
        // The source snapshot goes: the next run sends from the bookmark.
        try sh("zfs destroy tank/data@s1")
        try ctl("write", "tank/data", "1M")
        try sh("zfs snapshot tank/data@s2")
        try syncoidSucceeds("--no-sync-snap", "--create-bookmark", "tank/data", "vault/data")
        let target = try snapshots("vault/data")
        XCTAssertEqual(target["s1"], source["s1"])
        XCTAssertEqual(target["s2"], try snapshots("tank/data")["s2"])
        let log = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
        let argvs = log.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["argv"] as? [String]
        }
        XCTAssertTrue(argvs.contains(["send", "-i", "tank/data#s1", "tank/data@s2"]), "sent from the bookmark: \(argvs)")
        // syncoid 2.1.0 returns before bookmarking when the bookmark send reached the newest snapshot;
        // later versions bookmark it: either way every bookmark has its snapshot's GUID.
        let marks = try bookmarks("tank/data")
        XCTAssertEqual(marks["s1"], source["s1"])
        if let s2 = marks["s2"] { XCTAssertEqual(s2, target["s2"]) }
    }

    func testSyncoidRawSendOfEncryptedSource() throws {
        try ctl("create", "tank/secret", "--passphrase", "correct horse battery")
        try ctl("write", "tank/secret", "3M")
        try syncoidSucceeds("--sendoptions=w", "tank/secret", "vault/secret")
        try assertReplicated("tank/secret", "vault/secret")
        let rows = try sh("zfs get -H -o property,value,source encryption,encryptionroot,keystatus,keyformat vault/secret")
        XCTAssertEqual(rows.out, """
            encryption\taes-256-gcm\t-
            encryptionroot\tvault/secret\t-
            keystatus\tunavailable\t-
            keyformat\tpassphrase\t-

            """)
        XCTAssertEqual(try datasets()["vault/secret"]?["mounted"] as? Bool, false)
        // Incrementally, raw again, with no key loaded on the target.
        try ctl("write", "tank/secret", "1M")
        nextSecond()
        try syncoidSucceeds("--sendoptions=w", "tank/secret", "vault/secret")
        try assertReplicated("tank/secret", "vault/secret")
        // The sender's passphrase opens the copy.
        let load = try sh("echo 'correct horse battery' | zfs load-key vault/secret")
        XCTAssertEqual(load.status, 0, load.err)
        XCTAssertEqual(try sh("zfs get -H -o value keystatus vault/secret").out, "available\n")
    }

    func testSyncoidResumesCutStream() throws {
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "8M")
        try sh("zfs snapshot tank/data@s1")
        try ctl("fault-add", #"{"tool":"zfs","sub":"receive","effect":"recv-fail-after","bytes":"3000000","when":"once"}"#)
        let cut = try runSyncoid(["--no-sync-snap", "tank/data", "vault/data"])
        XCTAssertNotEqual(cut.status, 0, "the cut stream fails the run")
        XCTAssertTrue(cut.err.contains("Partially received snapshot is saved."), cut.err)
        let token = try sh("zfs get -H -o value receive_resume_token vault/data").out
        XCTAssertTrue(token.hasPrefix("1-"), token)
        try syncoidSucceeds("--no-sync-snap", "tank/data", "vault/data")
        try assertReplicated("tank/data", "vault/data")
        XCTAssertEqual(try sh("zfs get -H -o value receive_resume_token vault/data").out, "-\n")
        let log = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
        XCTAssertTrue(log.contains(#""argv":["send","-t","\#(token.dropLast())"]"#), "resumed with send -t")
        XCTAssertEqual(try datasets()["vault/data"]?["referenced"] as? Int, 8 << 20)
    }

    func testSyncoidRemoteSourceAndTargetThroughSSH() throws {
        try ctl("create-pool", "rpool", host: "src")
        try ctl("create", "rpool/data", host: "src")
        try ctl("write", "rpool/data", "2M", host: "src")
        try sh("zfs snapshot rpool/data@s1", host: "src")
        try syncoidSucceeds("root@src:rpool/data", "vault/remote")
        try assertReplicated("rpool/data", "vault/remote", sourceHost: "src")
        try ctl("write", "rpool/data", "1M", host: "src")
        nextSecond()
        try syncoidSucceeds("root@src:rpool/data", "vault/remote")
        try assertReplicated("rpool/data", "vault/remote", sourceHost: "src")
        // Push to a remote target too.
        try ctl("create-pool", "backup", host: "dst")
        try ctl("create", "tank/push")
        try ctl("write", "tank/push", "1M")
        try sh("zfs snapshot tank/push@p1")
        try syncoidSucceeds("--no-sync-snap", "tank/push", "root@dst:backup/push")
        try assertReplicated("tank/push", "backup/push", targetHost: "dst")

        // Connection sharing: a ControlPersist master per run, its clients, and -O exit at the end.
        let log = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
        let entries = log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["tool"] as? String == "ssh" }
        let masters = entries.filter { $0["ssh"] as? String == "master" }
        XCTAssertGreaterThanOrEqual(masters.count, 2)
        for master in masters {
            XCTAssertEqual(master["exit"] as? Int, 0)
            XCTAssertTrue((master["argv"] as? [String] ?? []).contains("ControlPersist=1m"))
            XCTAssertGreaterThan(master["clients"] as? Int ?? 0, 3)
        }
        XCTAssertGreaterThanOrEqual(entries.filter { ($0["argv"] as? [String] ?? []).suffix(2) == ["-O", "exit"] && $0["exit"] as? Int == 0 }.count, 2)
        XCTAssertTrue(entries.filter { $0["ssh"] as? String == "direct" }.isEmpty, "every ssh went through the master")
        for master in masters {
            let argv = master["argv"] as? [String] ?? []
            let socket = try XCTUnwrap(argv.firstIndex(of: "-S").map { argv[$0 + 1] })
            XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "no control socket left: \(socket)")
        }
    }

    // MARK: - sanoid's monitors

    /// sanoid (same package) reads `zpool list -o name,size,cap,health,free POOL`, `zpool status POOL`
    /// and `zpool list -H -o cap POOL` for its Nagios checks; on the fake's healthy pools all are OK.
    func testSanoidMonitorsHealthAndCapacity() throws {
        let sanoid = (syncoid as NSString).deletingLastPathComponent + "/sanoid"
        guard FileManager.default.isExecutableFile(atPath: sanoid) else { throw XCTSkip("sanoid is not next to syncoid") }
        let defaults = "/usr/share/sanoid/sanoid.defaults.conf"
        guard FileManager.default.fileExists(atPath: defaults) else { throw XCTSkip("no \(defaults)") }
        let config = harness.world.appendingPathComponent("sanoid")
        for sub in ["", "/cache", "/run"] {
            try FileManager.default.createDirectory(atPath: config.path + sub, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: defaults, toPath: config.path + "/sanoid.defaults.conf")
        try "[tank/data]\n\tuse_template = t\n\n[template_t]\n\thourly = 1\n"
            .write(toFile: config.path + "/sanoid.conf", atomically: true, encoding: .utf8)
        try ctl("create", "tank/data")
        try ctl("write", "tank/data", "1G")
        let dirs = "--configdir=\(config.path) --cache-dir=\(config.path)/cache --run-dir=\(config.path)/run"
        var r = try sh("\(sanoid) \(dirs) --monitor-health")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("OK ZPOOL tank : ONLINE {Size:1T Free:1023G Cap:0%}"), r.out)
        r = try sh("\(sanoid) \(dirs) --monitor-capacity")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "OK ZPOOL tank : 0%\n")
    }
}
