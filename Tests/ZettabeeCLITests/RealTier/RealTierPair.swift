import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// How a test pair's stream travels.
enum RealTierTransport: CustomStringConvertible {
    case mbuffer(port: Int)
    case ssh(compress: String)

    var description: String {
        switch self {
        case .mbuffer(let port): "mbuffer:\(port)"
        case .ssh(let compress): "ssh/\(compress)"
        }
    }
}

/// One replication pair on the real stack: a source filesystem in the source pool (reached as
/// `src` over the harness's sshd), a destination filesystem name in the destination pool, and the
/// configuration, run and log directories zettabee is pointed at. `cleanup()` destroys all of it.
final class RealTierPair {
    let env: RealEnvironment
    let scratch: String
    let configPath: String
    let runDirectory: String
    let logDirectory: String
    let sourceHost: String
    let destinationHost: String
    let sourceFS: String
    let destinationFS: String
    var transport: RealTierTransport
    /// Extra `key=value` options for the configuration line (e.g. `rate=2M`).
    var extraOptions: [String] = []
    let fingerprint: String
    private(set) var sourceMount = ""

    init(_ env: RealEnvironment, label: String, transport: RealTierTransport, destinationHost: String = "127.0.0.1")
        throws
    {
        self.env = env
        self.transport = transport
        self.destinationHost = destinationHost
        scratch = try env.scratchDirectory(label)
        configPath = "\(scratch)/etc/zettabee.cfg"
        runDirectory = "\(scratch)/run"
        logDirectory = "\(scratch)/log"
        sourceHost = env.sshSourceHost
        let unique = "rt\(label)\(UInt32.random(in: 0...UInt32.max))"
        sourceFS = "\(env.sourcePool)/\(unique)"
        destinationFS = "\(env.destinationPool)/\(unique)"
        // identity as specified: MD5 of SRCHOST:SRCFS::DSTHOST:DSTFS, computed by the real md5sum
        let identity = "\(sourceHost):\(sourceFS)::\(destinationHost):\(destinationFS)"
        let digest = try env.check("md5sum", ["-"], stdin: identity, timeout: 10)
        fingerprint = String(digest.prefix(32))
        guard fingerprint.count == 32, fingerprint.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw RealTierError("md5sum printed \(digest)")
        }
    }

    /// Creates the source filesystem (destination is left to zettabee).
    func createSource() throws {
        try env.zfs("create", sourceFS)
        sourceMount = try env.mountpoint(of: sourceFS)
    }

    var writer: TreeWriter { TreeWriter(root: sourceMount) }

    /// The `<destination>` argument given to zettabee.
    var destinationArgument: String { destinationFS }
    var sourceName: String { "\(sourceHost):\(sourceFS)" }
    var destinationName: String { "\(destinationHost):\(destinationFS)" }
    var snapshotPrefix: String { "zettabee.\(fingerprint)." }

    func writeConfig() throws {
        var options: [String]
        switch transport {
        case .mbuffer(let port): options = ["transport=mbuffer", "port=\(port)"]
        case .ssh(let compress): options = ["transport=ssh", "compress=\(compress)"]
        }
        options += extraOptions
        let text = "# real-tier test pair\n\(sourceName)  \(destinationName)  \(options.joined(separator: ","))\n"
        try FileManager.default.createDirectory(
            atPath: (configPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Runs the built zettabee with this pair's configuration, directories and ssh config.
    func zettabee(_ arguments: [String], timeout: Double = 180, file: StaticString = #filePath, line: UInt = #line)
        throws -> ProcessOutcome
    {
        try TestProcess.run(
            PackagePaths.zettabee, commonArguments + arguments, environment: env.processEnvironment,
            timeout: timeout, file: file, line: line)
    }

    var commonArguments: [String] {
        ["-c", configPath, "--run-dir", runDirectory, "--log-dir", logDirectory, "--ssh-config", env.sshConfig]
    }

    var destinationMount: String { get throws { try env.mountpoint(of: destinationFS) } }

    func sourceManifest() throws -> TreeManifest { try TreeManifest.of(sourceMount, in: env) }

    /// The destination's tree as mounted. zfs-fuse does not refresh its cached lookups after a
    /// receive into a mounted filesystem (entries the receive replaced then fail with ENOENT,
    /// `readlink` included, until the next mount), so the destination must be mounted and is
    /// remounted first; an unmount and mount of a read-only filesystem changes nothing in it.
    func destinationManifest(file: StaticString = #filePath, line: UInt = #line) throws -> TreeManifest {
        XCTAssertEqual(try env.property("mounted", of: destinationFS), "yes", "the destination is not mounted",
                       file: file, line: line)
        try env.remount(destinationFS)
        return try TreeManifest.of(try destinationMount, in: env)
    }

    /// zettabee's snapshots of this pair on `dataset`, oldest first.
    func pairSnapshots(of dataset: String) throws -> [String] {
        try env.snapshots(of: dataset).filter { $0.hasPrefix(snapshotPrefix) }
    }

    /// `allowBusySnapshots`: a dataset zfs-fuse still calls busy is left to the pool's teardown.
    func cleanup(allowBusySnapshots: Bool = false) {
        // zettabee holds the base on both sides (tag zettabee.<fp>), on child filesystems too: release
        // before destroying
        let filesystems = [destinationFS, sourceFS].flatMap { dataset in
            (try? env.zfs("list", "-H", "-o", "name", "-r", dataset).split(separator: "\n").map(String.init)) ?? []
        }
        for dataset in filesystems {
            for snapshot in (try? env.snapshots(of: dataset)) ?? [] {
                let name = "\(dataset)@\(snapshot)"
                if let refs = try? env.property("userrefs", of: name), refs != "0" {
                    _ = try? env.run("zfs", ["release", "zettabee.\(fingerprint)", name], timeout: 30)
                }
            }
        }
        env.destroy(destinationFS, allowBusy: allowBusySnapshots)
        env.destroy(sourceFS, allowBusy: allowBusySnapshots)
        try? FileManager.default.removeItem(atPath: scratch)
    }

    // MARK: assertions

    /// A successful initialize/update: exit 0, nothing on stdout.
    func assertSucceeded(_ outcome: ProcessOutcome, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(outcome.signaled, "\(what) died of signal \(outcome.exitCode)", file: file, line: line)
        XCTAssertEqual(
            outcome.exitCode, 0, "\(what) failed; stderr: \(outcome.stderr) stdout: \(outcome.stdout)",
            file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", "\(what) printed on stdout", file: file, line: line)
    }

    /// A failed action: exit 1, nothing on stdout, exactly one line on stderr
    /// `zettabee: error: ACTION DEST: reason`, the reason mentioning one of `keywords` (any case).
    /// Returns the reason.
    @discardableResult
    func assertOneLineError(
        _ outcome: ProcessOutcome, action: String, mentioning keywords: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) -> String {
        XCTAssertFalse(outcome.signaled, "\(action) died of signal \(outcome.exitCode)", file: file, line: line)
        XCTAssertEqual(outcome.exitCode, 1, "\(action) exit status; stderr: \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", "\(action) printed on stdout", file: file, line: line)
        XCTAssertFalse(outcome.stderr.contains("\r"), "carriage return in stderr: \(outcome.stderr.debugDescription)",
                       file: file, line: line)
        XCTAssertTrue(outcome.stderr.hasSuffix("\n"), "stderr: \(outcome.stderr.debugDescription)", file: file, line: line)
        let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1, "stderr must be one line: \(outcome.stderr.debugDescription)", file: file, line: line)
        let first = String(lines.first ?? "")
        let prefixes = [destinationArgument, destinationName].map { "zettabee: error: \(action) \($0): " }
        guard let prefix = prefixes.first(where: { first.hasPrefix($0) }) else {
            XCTFail("stderr does not start with \(prefixes[0].debugDescription): \(first.debugDescription)",
                    file: file, line: line)
            return first
        }
        let reason = String(first.dropFirst(prefix.count))
        print("\(action) failed as expected: \(first)")
        XCTAssertFalse(reason.trimmingCharacters(in: .whitespaces).isEmpty, "empty reason", file: file, line: line)
        XCTAssertTrue(
            keywords.contains { reason.lowercased().contains($0.lowercased()) },
            "reason should mention one of \(keywords): \(reason.debugDescription)", file: file, line: line)
        return reason
    }

    /// The pair's user properties on both sides name the pair and `base`.
    func assertProperties(base: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for dataset in [sourceFS, destinationFS] {
            XCTAssertEqual(try env.property("zettabee:\(fingerprint):source", of: dataset), sourceName,
                           "source property on \(dataset)", file: file, line: line)
            XCTAssertEqual(try env.property("zettabee:\(fingerprint):destination", of: dataset), destinationName,
                           "destination property on \(dataset)", file: file, line: line)
            XCTAssertEqual(try env.property("zettabee:\(fingerprint):lastsnap", of: dataset), base,
                           "lastsnap property on \(dataset)", file: file, line: line)
        }
        XCTAssertEqual(try env.property("zettabee:fingerprint", of: destinationFS), fingerprint,
                       "fingerprint property on the destination", file: file, line: line)
    }

    /// After a failure: `base` is still the base on both sides, with the same GUID, the
    /// destination holds nothing newer, and the properties are unchanged.
    func assertBaseIntact(_ base: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(try pairSnapshots(of: sourceFS).contains(base), "base \(base) gone from the source",
                      file: file, line: line)
        XCTAssertEqual(try pairSnapshots(of: destinationFS).last, base, "newest destination snapshot",
                       file: file, line: line)
        XCTAssertEqual(try env.guid(of: "\(sourceFS)@\(base)"), try env.guid(of: "\(destinationFS)@\(base)"),
                       "base GUIDs differ", file: file, line: line)
        try assertProperties(base: base, file: file, line: line)
    }

    /// Everything a completed initialize/update promises. Returns the new base snapshot's name.
    /// - destinationSnapshots: how many of the pair's snapshots the destination must now hold.
    /// - previous: the base before this run (nil after initialize).
    /// - window: when the run happened (the snapshot's UTC time stamp must fall inside).
    @discardableResult
    func assertReplicated(
        destinationSnapshots: Int, previous: String?, window: ClosedRange<Date>,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let onSource = try pairSnapshots(of: sourceFS)
        XCTAssertEqual(onSource.count, 1, "the source must keep only the new base: \(onSource)", file: file, line: line)
        guard let base = onSource.last else { throw RealTierError("no zettabee snapshot on \(sourceFS)") }
        assertSnapshotName(base, window: window, file: file, line: line)
        let onDestination = try pairSnapshots(of: destinationFS)
        XCTAssertEqual(onDestination.count, destinationSnapshots, "destination snapshots: \(onDestination)",
                       file: file, line: line)
        XCTAssertEqual(onDestination.last, base, "newest destination snapshot", file: file, line: line)
        XCTAssertEqual(onDestination, onDestination.sorted(), "creation order and name order differ",
                       file: file, line: line)
        if let previous {
            XCTAssertNotEqual(base, previous, "no new base snapshot", file: file, line: line)
            XCTAssertFalse(onSource.contains(previous), "old base kept on the source", file: file, line: line)
            XCTAssertTrue(onDestination.contains(previous), "old base gone from the destination",
                          file: file, line: line)
        }
        XCTAssertEqual(try env.guid(of: "\(sourceFS)@\(base)"), try env.guid(of: "\(destinationFS)@\(base)"),
                       "GUID of the base differs between source and destination", file: file, line: line)
        try assertProperties(base: base, file: file, line: line)
        let differences = try sourceManifest().differences(from: try destinationManifest())
        XCTAssertEqual(differences, [], "source and destination trees differ", file: file, line: line)
        return base
    }

    /// `zettabee.<fp>.<YYYYmmddHHMMSS>UTC`, its time inside `window` (to the second).
    func assertSnapshotName(_ name: String, window: ClosedRange<Date>, file: StaticString = #filePath, line: UInt = #line) {
        guard name.hasPrefix(snapshotPrefix), name.hasSuffix("UTC") else {
            XCTFail("snapshot name \(name) is not \(snapshotPrefix)<YYYYmmddHHMMSS>UTC", file: file, line: line)
            return
        }
        let stamp = String(name.dropFirst(snapshotPrefix.count).dropLast(3))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        guard stamp.count == 14, stamp.allSatisfy(\.isNumber), let date = formatter.date(from: stamp) else {
            XCTFail("bad time stamp in snapshot name \(name)", file: file, line: line)
            return
        }
        let earliest = window.lowerBound.addingTimeInterval(-1), latest = window.upperBound.addingTimeInterval(1)
        XCTAssertTrue(earliest <= date && date <= latest,
                      "snapshot \(name) names \(date), outside the run \(window)", file: file, line: line)
    }

    /// The destination is read-only: zfs says readonly (zfs-fuse shows `off temporary` for a mounted
    /// fs whose own value is on) and creating a file fails with EROFS.
    func assertDestinationReadOnly(file: StaticString = #filePath, line: UInt = #line) throws {
        let fields = try env.zfs("get", "-H", "-o", "value,source", "readonly", destinationFS)
            .trimmingCharacters(in: .newlines).split(separator: "\t").map(String.init)
        XCTAssertTrue(fields == ["on", "local"] || fields == ["on", "received"] || fields == ["off", "temporary"],
                      "readonly of \(destinationFS): \(fields)", file: file, line: line)
        let probe = "\(try destinationMount)/.zettabee-real-tier-write-probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        let error = errno
        if fd >= 0 {
            close(fd)
            unlink(probe)
            XCTFail("a file could be created on the destination \(destinationFS)", file: file, line: line)
        } else {
            XCTAssertEqual(error, EROFS, "creating a file on the destination failed with errno \(error), not EROFS",
                           file: file, line: line)
        }
    }

    /// `fingerprint`, `logfile` and the log's line format.
    func assertIdentityAndLog(minimumLogLines: Int, file: StaticString = #filePath, line: UInt = #line) throws
        -> Int
    {
        let printed = try zettabee(["fingerprint", destinationArgument], timeout: 30)
        XCTAssertEqual(printed.exitCode, 0, "fingerprint: \(printed.stderr)", file: file, line: line)
        XCTAssertEqual(printed.stdout, "\(fingerprint)\n", "fingerprint DEST", file: file, line: line)
        let byFullName = try zettabee(["fingerprint", destinationName], timeout: 30)
        XCTAssertEqual(byFullName.stdout, "\(fingerprint)\n", "fingerprint HOST:POOL/FS: \(byFullName.stderr)",
                       file: file, line: line)
        let all = try zettabee(["fingerprint"], timeout: 30)
        XCTAssertEqual(all.exitCode, 0, "fingerprint: \(all.stderr)", file: file, line: line)
        XCTAssertTrue(all.stdout.contains(fingerprint), "fingerprint (all pairs): \(all.stdout)", file: file, line: line)

        let logfile = try zettabee(["logfile", destinationArgument], timeout: 30)
        XCTAssertEqual(logfile.exitCode, 0, "logfile: \(logfile.stderr)", file: file, line: line)
        let expectedPath = "\(logDirectory)/\(fingerprint).log"
        XCTAssertEqual(logfile.stdout, "\(expectedPath)\n", "logfile DEST", file: file, line: line)
        guard let text = try? String(contentsOfFile: expectedPath, encoding: .utf8) else {
            XCTFail("no log at \(expectedPath)", file: file, line: line)
            return 0
        }
        let lines = text.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, minimumLogLines, "log lines: \(text)", file: file, line: line)
        let pattern = try NSRegularExpression(
            pattern: "^\\[[^\\]]+\\] zettabee:\(fingerprint) \\[[0-9]+\\] (DEBUG|INFO|WARN|ERROR|FATAL) .*$")
        for logLine in lines {
            let text = String(logLine)
            let range = NSRange(text.startIndex..., in: text)
            XCTAssertNotNil(pattern.firstMatch(in: text, range: range), "log line format: \(text.debugDescription)",
                            file: file, line: line)
        }
        return lines.count
    }
}
