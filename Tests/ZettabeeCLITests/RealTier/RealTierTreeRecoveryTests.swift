import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A pair with a child filesystem on zfs-fuse, its update broken while the child's part of the
/// recursive stream flows: by killing the local `zfs receive`, or the `zfs send` on the source. The
/// base survives on every dataset of both trees, status does not say Synchronized, and the next update
/// recovers the tree by itself.
final class RealTierTreeRecoveryTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    func testRealTierReceiveKilledInTheChildsPartRecovers() throws {
        try breakInTheChildsPart(label: "rcvkid") { arguments, _ in
            arguments.first.map { $0.hasSuffix("zfs") } == true && arguments.contains("receive")
        }
    }

    /// The source's side of the stream: `zfs send` and the mbuffer that sends it on. (zfs-fuse runs a
    /// send in its daemon, which goes on writing after its `zfs` client is killed; the mbuffer is what
    /// cuts the stream there.)
    func testRealTierSenderKilledInTheChildsPartRecovers() throws {
        try breakInTheChildsPart(label: "sndkid") { arguments, port in
            (arguments.first.map { $0.hasSuffix("zfs") } == true && arguments.contains("send"))
                || (arguments.first.map { $0.hasSuffix("mbuffer") } == true && arguments.contains("-O")
                    && arguments.contains { $0.hasSuffix(":\(port)") })
        }
    }

    /// An initialized pair `…/kid` child; 1 MiB new in the parent and 24 MiB in the child, sent over
    /// mbuffer at 4 MB/s through 8 MiB buffers. Once the destination's parent holds the new snapshot (its part is done) and
    /// the child does not, the processes `victim` picks (given their arguments and the port) are killed.
    private func breakInTheChildsPart(label: String, victim: ([String], Int) -> Bool,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let port = try TCP.freePort()
        let pair = try RealTierPair(env, label: label, transport: .mbuffer(port: port))
        // zfs-fuse can keep the snapshots of a broken send busy for long after: left to the pool's teardown.
        defer { pair.cleanup(allowBusySnapshots: true) }
        XCTAssertEqual(try pair.zettabee(["setup"], timeout: 30).exitCode, 0, file: file, line: line)
        try pair.writeConfig()
        try pair.createSource()
        let sourceChild = pair.sourceFS + "/kid", destinationChild = pair.destinationFS + "/kid"
        try env.zfs("create", sourceChild)
        let childMount = try env.mountpoint(of: sourceChild)
        try pair.writer.random("first.bin", bytes: 1 << 20)
        try TreeWriter(root: childMount).random("first.bin", bytes: 1 << 20)
        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize", file: file, line: line)
        guard initialize.exitCode == 0 else { return }
        let base = try XCTUnwrap(try pair.pairSnapshots(of: pair.sourceFS).last, file: file, line: line)

        try pair.writer.random("second.bin", bytes: 1 << 20)
        try TreeWriter(root: childMount).random("large.bin", bytes: 24 << 20)
        // A small buffer keeps `zfs send` itself running until the stream's end has left mbuffer.
        pair.extraOptions = ["rate=4M", "buffer=8M"]
        try pair.writeConfig()
        let update = try BackgroundProcess(
            PackagePaths.zettabee, pair.commonArguments + ["update", pair.destinationArgument],
            environment: env.processEnvironment)
        var killed: [String] = []
        let broke = poll(timeout: 90, interval: 0.1) {
            // Handshake: the parent's part has been received, the child's has not.
            guard try pair.pairSnapshots(of: pair.destinationFS).count == 2,
                  try pair.pairSnapshots(of: destinationChild).count == 1
            else { return false }
            let targets = ProcTable.all().filter { victim($0.arguments, port) }
            guard !targets.isEmpty else { return false }
            killed = targets.map { $0.arguments.joined(separator: " ") }
            return targets.allSatisfy { kill($0.pid, SIGKILL) == 0 }
        }
        let outcome = update.wait(timeout: 180)
        XCTAssertTrue(broke, "never caught the child's part in flight; update said: \(outcome.stderr)", file: file, line: line)
        guard broke else { return }
        pair.assertOneLineError(outcome, action: "update", mentioning: ["transfer failed"], file: file, line: line)

        // The base is on both sides of both datasets, with equal GUIDs.
        for (source, destination) in [(pair.sourceFS, pair.destinationFS), (sourceChild, destinationChild)] {
            XCTAssertEqual(try env.guid(of: "\(destination)@\(base)"), try env.guid(of: "\(source)@\(base)"),
                           "\(destination)@\(base) after killing \(killed)", file: file, line: line)
        }
        let status = try pair.zettabee(["status", "-H", pair.destinationArgument], timeout: 60)
        XCTAssertFalse(status.stdout.contains("\tSynchronized\t"), "status after a half-received tree: \(status.stdout)",
                       file: file, line: line)

        pair.extraOptions = []
        try pair.writeConfig()
        let retry = try pair.zettabee(["update", pair.destinationArgument])
        pair.assertSucceeded(retry, "update after the broken transfer", file: file, line: line)
        let log = (try? String(contentsOfFile: pair.logDirectory + "/" + pair.fingerprint + ".log", encoding: .utf8)) ?? ""
        print("log of \(label):\n" + log.split(separator: "\n").suffix(40).joined(separator: "\n"))
        guard retry.exitCode == 0 else { return }
        let next = try XCTUnwrap(try pair.pairSnapshots(of: pair.sourceFS).last, file: file, line: line)
        XCTAssertNotEqual(next, base, file: file, line: line)
        for (source, destination) in [(pair.sourceFS, pair.destinationFS), (sourceChild, destinationChild)] {
            XCTAssertEqual(try env.guid(of: "\(destination)@\(next)"), try env.guid(of: "\(source)@\(next)"),
                           "\(destination)@\(next)", file: file, line: line)
            // Older snapshots of the pair are gone from the source, or (zfs-fuse) still busy from the broken
            // send: then the log says so, and a later update destroys them.
            for older in try pair.pairSnapshots(of: source) where older != next {
                XCTAssertTrue(log.contains("could not destroy") && log.contains("@\(older)") && log.contains("dataset is busy"),
                              "\(source)@\(older) is left without a word", file: file, line: line)
            }
        }
        try env.remount(destinationChild)
        let received = try TreeManifest.of(try env.mountpoint(of: destinationChild), in: env)
        XCTAssertEqual(received.differences(from: try TreeManifest.of(childMount, in: env)), [],
                       "the child's data arrived", file: file, line: line)
        let after = try pair.zettabee(["status", "-H", pair.destinationArgument], timeout: 60)
        XCTAssertTrue(after.stdout.contains("\tSynchronized\t"), after.stdout, file: file, line: line)
    }
}
