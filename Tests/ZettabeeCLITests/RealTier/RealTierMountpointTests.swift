import Foundation
import XCTest

/// zfs-fuse (old zfs: no `receive -x`, no `-u`) mounts a received dataset at once at the mountpoint its
/// recursive stream carried: a backup host would mount its copies over the source's paths. A pair
/// whose source tree sets its own mountpoints must never do that.
final class RealTierMountpointTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    /// The filesystem and its child each mount at a "live path" set on the source. Those directories
    /// are empty at first (zfs-fuse mounts over an empty directory, mounted or not, but not over a
    /// non-empty one), so a copy that took the source's mountpoint would land on them. After initialize
    /// and after each of two updates, each live path carries exactly its own mount, and the copies
    /// inherit their mountpoints from the destination's parent, with the data.
    func testRealTierTheSourcesMountpointsNeverLandOnTheDestination() throws {
        let pair = try RealTierPair(env, label: "mnt", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        XCTAssertEqual(try pair.zettabee(["setup"], timeout: 30).exitCode, 0)
        try pair.writeConfig()
        try pair.createSource()
        let sourceChild = pair.sourceFS + "/kid", destinationChild = pair.destinationFS + "/kid"
        try env.zfs("create", sourceChild)
        let liveTop = pair.scratch + "/live/top", liveKid = pair.scratch + "/live/kid"
        try env.zfs("set", "mountpoint=\(liveTop)", pair.sourceFS)
        try env.zfs("set", "mountpoint=\(liveKid)", sourceChild)
        XCTAssertEqual(try mounts(at: liveTop), [pair.sourceFS])
        XCTAssertEqual(try mounts(at: liveKid), [sourceChild])
        let parentMount = try env.mountpoint(of: env.destinationPool)
        let logPath = pair.logDirectory + "/" + pair.fingerprint + ".log"
        func expectReplicated(_ when: String, runs: Int) throws {
            try expectOnlyTheSourcesMounts(pair: pair, liveTop: liveTop, liveKid: liveKid, parentMount: parentMount, when: when)
            let base = try XCTUnwrap(try pair.pairSnapshots(of: pair.sourceFS).last, when)
            for (source, copy) in [(pair.sourceFS, pair.destinationFS), (sourceChild, destinationChild)] {
                XCTAssertEqual(try env.guid(of: "\(copy)@\(base)"), try env.guid(of: "\(source)@\(base)"), "\(when): \(copy)@\(base)")
            }
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            XCTAssertEqual(log.components(separatedBy: "sending the 2 datasets one by one").count - 1, runs, "\(when): \(log)")
        }

        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize")
        guard initialize.exitCode == 0 else { return }
        try expectReplicated("after initialize", runs: 1)

        // New data in both (the live paths are no longer empty), then two updates.
        for run in 1...2 {
            try TreeWriter(root: liveTop).random("top\(run).bin", bytes: 256 << 10)
            try TreeWriter(root: liveKid).random("kid\(run).bin", bytes: 512 << 10)
            let update = try pair.zettabee(["update", pair.destinationArgument])
            pair.assertSucceeded(update, "update \(run)")
            guard update.exitCode == 0 else { return }
            try expectReplicated("after update \(run)", runs: 1 + run)
        }
        try env.remount(pair.destinationFS)
        let received = try TreeManifest.of(try env.mountpoint(of: pair.destinationFS), in: env)
        XCTAssertEqual(received.differences(from: try TreeManifest.of(liveTop, in: env)).filter { !$0.hasPrefix("kid") }, [],
                       "the top's data arrived (its child's copy may be mounted inside it)")
        XCTAssertEqual(try mounts(at: liveTop), [pair.sourceFS], "after the remount too")
        XCTAssertEqual(try mounts(at: liveKid), [sourceChild], "after the remount too")
    }

    private func expectOnlyTheSourcesMounts(
        pair: RealTierPair, liveTop: String, liveKid: String, parentMount: String, when: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(try mounts(at: liveTop), [pair.sourceFS], "\(when): the source's live path", file: file, line: line)
        XCTAssertEqual(try mounts(at: liveKid), [pair.sourceFS + "/kid"], "\(when): the source child's live path", file: file, line: line)
        let name = String(pair.destinationFS.split(separator: "/").last ?? "")
        for (copy, expected) in [(pair.destinationFS, "\(parentMount)/\(name)"), (pair.destinationFS + "/kid", "\(parentMount)/\(name)/kid")] {
            XCTAssertEqual(try env.zfs("get", "-H", "-o", "value,source", "mountpoint", copy), "\(expected)\tinherited from \(env.destinationPool)\n",
                           "\(when): \(copy) keeps the destination's mountpoint", file: file, line: line)
        }
    }

    /// The datasets mounted at `path`, from /proc/self/mounts, in mount order.
    private func mounts(at path: String) throws -> [String] {
        try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[1] == Substring(path) else { return nil }
            return String(fields[0])
        }
    }
}
