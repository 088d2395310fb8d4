import Foundation
import XCTest

/// Compares the fake's legacy mode with the real zfs-fuse for the same commands (root only).
final class FakeZFSRealComparisonTests: XCTestCase {
    func testLegacyMatchesZfsFuse() throws {
        guard getuid() == 0 else { throw realTierSkip("needs root to run zfs-fuse") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/zfs-fuse") else { throw realTierSkip("zfs-fuse is not installed") }
        let h = try FakeWorldHarness()
        var real = h.environment
        real["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
        func runReal(_ script: String) -> Ran {
            let saved = h.environment
            h.environment = real
            defer { h.environment = saved }
            return h.sh(script, timeout: 60)
        }
        var startedDaemon: Int32?
        if runReal("zpool list").code != 0 {
            let pidfile = h.world + "/zfs-fuse.pid"
            // The daemon must not keep any descriptor of this test open (Foundation learns of the shell's
            // exit through an inherited socket): close everything above stderr, detach it from the output.
            let start = "exec </dev/null >/dev/null 2>&1; for fd in /proc/$$/fd/*; do n=${fd##*/}; "
                + "[ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done; exec zfs-fuse --pidfile \(pidfile)"
            XCTAssertEqual(runReal("exec bash -c '\(start)'").code, 0)
            startedDaemon = Int32((try? String(contentsOfFile: pidfile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            XCTAssertTrue(h.waitUntil(20) { runReal("zpool list").code == 0 }, "zfs-fuse did not come up")
        }
        let pool = "zfk" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let file = h.world + "/\(pool).img"
        defer {
            _ = runReal("zpool destroy -f \(pool)")
            if let pid = startedDaemon {
                kill(pid, SIGTERM)
                // zfs-fuse takes a few seconds to stop; the next user must not find it half gone.
                XCTAssertTrue(h.waitUntil(30) { kill(pid, 0) != 0 }, "zfs-fuse \(pid) did not stop")
            }
        }
        let setup = "zfs create \(pool)/fs && zfs snapshot \(pool)/fs@s && zfs snapshot \(pool)/fs@s2"
        let r = runReal("truncate -s 128M \(file) && zpool create -m none \(pool) \(file) && \(setup)")
        XCTAssertEqual(r.code, 0, r.err)
        h.ok("zfake-ctl create-pool \(pool) --legacy && \(setup)")
        let commands = [
            "zfs send -n \(pool)/fs@s", "zfs receive -s \(pool)/x", "zfs list -p", "zfs get -t snapshot all",
            "zfs version", "zfs destroy -n \(pool)/fs@s", "zfs holds \(pool)/fs@s", "zpool get -H version \(pool)",
            "zfs snapshot \(pool)/fs@s", "zfs hold zb \(pool)/fs@s", "zfs hold zb \(pool)/fs@s",
            "zfs release nope \(pool)/fs@s", "zfs destroy \(pool)/fs@s", "zfs release zb \(pool)/fs@s",
            "zfs set readonly=maybe \(pool)/fs", "zfs set Bad:Name=1 \(pool)/fs", "zfs list -H -o name,bogus \(pool)",
            "zfs send \(pool)/fs@nosnap", "zfs send -i @s2 \(pool)/fs@s", "zfs send -I @s2 \(pool)/fs@s",
            "zfs list -H -o name -t snapshot \(pool)/fs", "zfs list -H -o name -d 1 -t snapshot \(pool)/fs",
            "zfs get -H -o value userrefs \(pool)/fs@s", "zfs get -H -o name,property,value,source readonly,quota,userrefs \(pool)/fs@s",
            "zfs bookmark \(pool)/fs@s \(pool)/fs#b", "zfs snapshot \(pool)/nofs@x", "zfs destroy \(pool)/fs",
        ]
        for command in commands {
            let expected = runReal(command)
            let actual = h.sh(command)
            XCTAssertEqual(actual.code, expected.code, "exit code of `\(command)`")
            XCTAssertEqual(actual.out, expected.out, "stdout of `\(command)`")
            XCTAssertEqual(actual.err, expected.err, "stderr of `\(command)`")
        }
    }
}
