import Foundation
import XCTest

/// `zfs receive`'s destination checks (every row of the reference's §A9), send flavours, resume,
/// stream verification and concurrency.
final class FakeZFSReceiveTests: FakeWorldTestCase {
    func testEmptyAndShortStdin() {
        var r = h.sh("zfs receive backup/dst < /dev/null")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive: failed to read from stream\n")
        r = h.sh("zfs receive backup/dst", stdin: "hello\n")
        XCTAssertEqual(r.err, "cannot receive: failed to read from stream\n")
    }

    func testGarbage() {
        let r = h.sh("head -c 100000 /dev/urandom | zfs receive backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive: invalid stream (bad magic number)\n")
    }

    func testFullIntoExistingWithoutF() {
        h.ok("zfs create backup/dst")
        let r = h.sh("zfs send tank/src@a | zfs receive backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: destination 'backup/dst' exists\nmust specify -F to overwrite it\n")
    }

    func testFullWithFIntoDestinationWithSnapshots() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst")
        let r = h.sh("zfs send tank/src@b | zfs receive -F backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: destination has snapshots (eg. backup/dst@a)\nmust destroy them to overwrite it\n")
    }

    func testFullWithFIntoEmptyDestinationReplacesIt() {
        h.ok("zfs create backup/dst")
        let r = h.sh("zfs send tank/src@a | zfs receive -F backup/dst && zfs list -H -o name -t snapshot backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/dst@a\n")
    }

    func testIncrementalIntoMissingDestination() {
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive backup/none")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: destination 'backup/none' does not exist\n")
    }

    func testFullWithMissingParent() {
        let r = h.sh("zfs send tank/src@a | zfs receive backup/missing/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'backup/missing': dataset does not exist\ncannot receive new filesystem stream: unable to restore to destination\n")
    }

    func testBaseMismatch() {
        h.ok("zfs create backup/dst && zfs snapshot backup/dst@other")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: most recent snapshot of backup/dst does not\nmatch incremental source\n")
    }

    func testModifiedSinceBaseNeedsF() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfake-ctl dirty backup/dst")
        var r = h.sh("zfs send -i @a tank/src@b | zfs receive backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: destination backup/dst has been modified\nsince most recent snapshot\n")
        r = h.sh("zfs send -i @a tank/src@b | zfs receive -F backup/dst && zfs list -H -o name -t snapshot backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/dst@a\nbackup/dst@b\n")
    }

    func testTargetSnapshotExistsWithOtherGUID() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfs snapshot backup/dst@b")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive -F backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot restore to backup/dst@b: destination already exists\n")
    }

    func testTargetSnapshotWithSameGUIDIsSkipped() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfs send -i @a tank/src@b | zfs receive backup/dst")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.err, "")
    }

    func testPartialStateBlocksNewStreams() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst")
        _ = h.sh("zfs send -i @a tank/src@b | head -c 300000 | zfs receive -s backup/dst")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: destination backup/dst contains partially-complete state from \"zfs receive -s\".\n")
    }

    func testFRollbackHittingHeldSnapshotIsBusy() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfs snapshot backup/dst@local && zfs hold keep backup/dst@local")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive -F backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: dataset is busy\n")
    }

    func testFRollbackDestroysNewerDestinationSnapshots() throws {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfs snapshot backup/dst@x && zfs snapshot backup/dst@y")
        let r = h.sh("zfs send -i @a tank/src@b | zfs receive -F backup/dst && zfs list -H -o name,guid -t snapshot backup/dst && zfs get -H -o value guid tank/src@b")
        XCTAssertEqual(r.code, 0, r.err)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("backup/dst@a\t"))
        XCTAssertEqual(lines[1], "backup/dst@b\t\(lines[2])", "received snapshot keeps the source GUID")
    }

    func testTruncatedAndCorruptStreamsFromFile() throws {
        let stream = h.world + "/full.zstream"
        h.ok("zfs send tank/src@a > \(stream)")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: stream)[.size] as? Int)
        XCTAssertGreaterThan(size, 3 << 20)
        var r = h.sh("head -c 200000 \(stream) | zfs receive backup/t")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: incomplete stream\n")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: stream))
        bytes[1_000_000] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: h.world + "/corrupt.zstream"))
        r = h.sh("zfs receive backup/t < \(h.world)/corrupt.zstream")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: checksum mismatch\n")
        r = h.sh("zfs list backup/t")
        XCTAssertEqual(r.code, 1, "nothing is left behind")
        r = h.sh("zfs receive backup/t < \(stream)")
        XCTAssertEqual(r.code, 0, "the intact stream is accepted: \(r.err)")
    }

    func testOldVersionCombinedMessage() {
        let r = h.sh("zfs send tank/src@a | head -c 1000 | zfs receive backup/t", env: ["ZFAKE_ZFS_VERSION": "0.8.6"])
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: checksum mismatch or incomplete stream\n")
    }

    func testOutOfSpace() {
        h.ok("zfake-ctl create-pool small --size 2M")
        let r = h.sh("zfs send tank/src@a | zfs receive small/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: out of space\n")
    }

    func testResumeCycle() throws {
        var r = h.sh("zfs send tank/src@a | head -c 1500000 | zfs receive -s backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.hasPrefix("cannot receive new filesystem stream: checksum mismatch or incomplete stream.\nPartially received snapshot is saved.\nA resuming stream can be generated on the sending system by running:\n    zfs send -t 1-"), r.err)
        let token = h.sh("zfs get -H -o value receive_resume_token backup/dst").out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(r.err.hasSuffix(token + "\n"))
        r = h.sh("zfs send -nv -t \(token)")
        XCTAssertEqual(r.code, 0)
        XCTAssertTrue(r.out.hasPrefix("resume token contents:\nnvlist version: 0\n"), r.out)
        XCTAssertTrue(r.out.contains("\ttoname = tank/src@a\n"))
        r = h.sh("zfs send -t \(token) | zfs receive -s backup/dst && zfs list -H -o name -t snapshot backup/dst && zfs get -H -o value receive_resume_token backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/dst@a\n-\n")
        r = h.sh("zfs get -Hp -o value guid tank/src@a backup/dst@a")
        let guids = r.out.split(separator: "\n")
        XCTAssertEqual(guids.count, 2)
        XCTAssertEqual(guids[0], guids[1])
    }

    func testResumeTokenFailures() {
        _ = h.sh("zfs send tank/src@a | head -c 1500000 | zfs receive -s backup/dst")
        let token = h.sh("zfs get -H -o value receive_resume_token backup/dst").out.trimmingCharacters(in: .whitespacesAndNewlines)
        var r = h.sh("zfs send -t 1-deadbeef-10-0011")
        XCTAssertEqual(r.code, 255)
        XCTAssertTrue(r.err.hasPrefix("cannot resume send: resume token is corrupt ("), r.err)
        h.ok("zfs destroy tank/src@b && zfs destroy tank/src@a && zfs snapshot tank/src@a")
        r = h.sh("zfs send -t \(token) > /dev/null")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "cannot resume send: 'tank/src@a' is no longer the same snapshot used in the initial send\n")
        h.ok("zfs destroy tank/src@a")
        r = h.sh("zfs send -t \(token) > /dev/null")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "cannot resume send: 'tank/src@a' used in the initial send no longer exists\n")
        // -A clears the state.
        h.ok("zfs snapshot tank/src@c")
        r = h.sh("zfs receive -A backup/dst && zfs list backup/dst")
        XCTAssertEqual(r.code, 1, "the partially received new filesystem is gone")
        r = h.sh("zfs receive -A backup")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "'backup' does not have any resumable receive state to abort\n")
        r = h.sh("zfs receive -A backup/nothere")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("cannot open 'backup/nothere': dataset does not exist\nusage:\n"))
    }

    func testResumeStreamMustMatchPartialState() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst")
        _ = h.sh("zfs send -i @a tank/src@b | head -c 300000 | zfs receive -s backup/dst")
        _ = h.sh("zfs send tank/src@a | head -c 300000 | zfs receive -s backup/other")
        let other = h.sh("zfs get -H -o value receive_resume_token backup/other").out.trimmingCharacters(in: .whitespacesAndNewlines)
        let r = h.sh("zfs send -t \(other) | zfs receive -s backup/dst")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive resume stream: kernel modules must be upgraded to receive this stream.\n")
    }

    func testReceiveOAndX() {
        h.ok("zfs set com.example:keep=yes tank/src && zfs set com.example:drop=no tank/src")
        let r = h.sh("zfs send -p tank/src@a | zfs receive -o com.example:mine=1 -x com.example:drop backup/dst"
            + " && zfs get -H -o property,value,source com.example:keep,com.example:drop,com.example:mine backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "com.example:keep\tyes\treceived\ncom.example:drop\t-\t-\ncom.example:mine\t1\tlocal\n")
    }

    func testIncrementalFlavours() {
        h.ok("zfake-ctl write tank/src 2M && zfs snapshot tank/src@c && zfs send tank/src@a | zfs receive backup/i")
        var r = h.sh("zfs send -I @a tank/src@c | zfs receive -v backup/i && zfs list -H -o name -t snapshot backup/i")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").filter { $0.hasPrefix("backup/i@") }, ["backup/i@a", "backup/i@b", "backup/i@c"])
        XCTAssertTrue(r.out.contains("receiving incremental stream of tank/src@b into backup/i@b\n"))
        h.ok("zfs send tank/src@a | zfs receive backup/j")
        r = h.sh("zfs send -i tank/src@a tank/src@c | zfs receive backup/j && zfs list -H -o name -t snapshot backup/j")
        XCTAssertEqual(r.out, "backup/j@a\nbackup/j@c\n")
        r = h.sh("zfs send -i @c tank/src@a")
        XCTAssertEqual(r.err, "warning: cannot send 'tank/src@a': not an earlier snapshot from the same fs\n")
        r = h.sh("zfs send -I @c tank/src@a")
        XCTAssertEqual(r.err, "WARNING: could not send tank/src@a:\nincremental source (tank/src@c) is not earlier than it\n")
        r = h.sh("zfs send -I @nosnap tank/src@a")
        XCTAssertEqual(r.err, "WARNING: could not send tank/src@a:\nincremental source (tank/src@nosnap) does not exist\n")
        r = h.sh("zfs send tank/src@nosnap")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'tank/src@nosnap': dataset does not exist\n")
    }

    func testReplicationStreams() {
        h.ok("zfs create tank/src/child && zfake-ctl write tank/src/child 1M && zfs snapshot -r tank/src@r1"
            + " && zfs set com.example:p=v tank/src/child")
        h.ok("zfs snapshot -r tank/src@r2")
        var r = h.sh("zfs send -R tank/src@r1 | zfs receive backup/rep && zfs list -H -o name -t all -r backup/rep")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/rep\nbackup/rep@a\nbackup/rep@b\nbackup/rep@r1\nbackup/rep/child\nbackup/rep/child@r1\n")
        h.ok("zfs snapshot backup/rep@extra")
        r = h.sh("zfs send -R -I @r1 tank/src@r2 | zfs receive -F backup/rep && zfs list -H -o name -t snapshot -r backup/rep"
            + " && zfs get -H -o value,source com.example:p backup/rep/child")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/rep@a\nbackup/rep@b\nbackup/rep@r1\nbackup/rep@r2\nbackup/rep/child@r1\nbackup/rep/child@r2\nv\treceived\n")
    }

    /// A send and a receive stream at the same time while other zfs commands still get the lock.
    func testConcurrentSendAndReceiveDoNotHoldTheLock() throws {
        h.ok("zfake-ctl fault-add '{\"tool\":\"zfs\",\"sub\":\"send\",\"effect\":\"send-stall-after\",\"bytes\":\"2000000\"}'")
        let pipeline = Process()
        pipeline.executableURL = URL(fileURLWithPath: "/bin/sh")
        pipeline.arguments = ["-c", "zfs send tank/src@a | zfs receive backup/conc"]
        pipeline.environment = h.environment
        pipeline.standardOutput = FileHandle.nullDevice
        pipeline.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        pipeline.terminationHandler = { _ in done.signal() }
        try pipeline.run()
        var senderPid: Int32 = 0
        let bothAlive = h.waitUntil(20) {
            guard let state = try? h.dump(), let pending = state["pendingCreates"] as? [String: Any],
                  pending["backup/conc"] != nil,
                  let datasets = state["datasets"] as? [String: Any], let src = datasets["tank/src"] as? [String: Any],
                  let snaps = src["snapshots"] as? [[String: Any]],
                  let senders = snaps.first(where: { $0["name"] as? String == "a" })?["senders"] as? [Int],
                  let pid = senders.first else { return false }
            senderPid = Int32(pid)
            return true
        }
        XCTAssertTrue(bothAlive, "sender registered and receive in flight at the same time")
        // While both stream, the lock is free: other commands run and finish quickly.
        let r = h.sh("zfs list -H -o name tank/src && zfs snapshot tank/src@during", timeout: 10)
        XCTAssertEqual(r.code, 0, r.err)
        let destroy = h.sh("zfs destroy tank/src@a")
        XCTAssertEqual(destroy.err, "cannot destroy snapshot tank/src@a: dataset is busy\n", "a snapshot being sent cannot be destroyed")
        XCTAssertGreaterThan(senderPid, 0)
        kill(senderPid, SIGKILL)
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success)
        XCTAssertNotEqual(pipeline.terminationStatus, 0)
        XCTAssertEqual(h.sh("zfs list backup/conc").code, 1, "the interrupted receive left nothing")
    }

    /// A receive killed outright, whose parent has not reaped it yet, holds the destination no longer:
    /// the next receive into it succeeds (a killed real `zfs` releases the dataset as it dies).
    func testAKilledReceiveNotYetReapedDoesNotKeepTheDatasetBusy() throws {
        h.ok("zfs send tank/src@a | zfs receive backup/dst && zfs send -i @a tank/src@b > \(h.world)/inc.zstream")
        let stream = try Data(contentsOf: URL(fileURLWithPath: h.world + "/inc.zstream"))
        // posix_spawn, not Process: Foundation would reap the child; the zombie must stay.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/bin/sh", "-c", "exec zfs receive backup/dst"] as [String]).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = h.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        XCTAssertEqual(posix_spawn(&pid, "/bin/sh", &actions, nil, argv, envp), 0)
        close(fds[0])
        var reaped = false
        defer {
            close(fds[1])
            if !reaped { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        }
        let head = stream.prefix(100_000)
        XCTAssertEqual(head.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }, head.count)
        let receiving = h.waitUntil(20) {
            guard let state = try? h.dump(), let datasets = state["datasets"] as? [String: Any],
                  let dst = datasets["backup/dst"] as? [String: Any] else { return false }
            return (dst["receiver"] as? Int).map { Int32($0) } == pid
        }
        XCTAssertTrue(receiving, "the receive did not register itself on backup/dst")
        XCTAssertEqual(h.sh("zfs receive backup/dst < \(h.world)/inc.zstream").err,
                       "cannot receive incremental stream: dataset is busy\n", "a live receive keeps the dataset busy")
        kill(pid, SIGKILL)
        let zombie = h.waitUntil(10) {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
        }
        XCTAssertTrue(zombie, "the killed receive is not a zombie: the test proves nothing")
        let r = h.sh("zfs receive backup/dst < \(h.world)/inc.zstream && zfs list -H -o name -t snapshot backup/dst")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/dst@a\nbackup/dst@b\n")
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        reaped = true
    }
}
