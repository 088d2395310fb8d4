import Foundation
import XCTest

/// Pushes a 4 GiB `zfs send | zfs receive` through a pipe and prints the throughput.
final class FakeZFSThroughputTests: XCTestCase {
    func testFourGiBThroughPipe() throws {
        let h = try FakeWorldHarness()
        h.ok("zfake-ctl create-pool tank --size 100G && zfake-ctl create-pool backup --size 100G"
            + " && zfs create tank/big && zfake-ctl write tank/big 4G && zfs snapshot tank/big@s")
        let r = h.sh("zfs send tank/big@s | zfs receive backup/big", timeout: 120)
        XCTAssertEqual(r.code, 0, r.err)
        let gib = 4.0
        print(String(format: "FakeZFS throughput: 4 GiB send|receive in %.2f s = %.2f GiB/s", r.seconds, gib / r.seconds))
        XCTAssertEqual(h.sh("zfs get -Hp -o value referenced backup/big@s").out, "\(4 << 30)\n")
        // The scale variable gives the same volume from a small dataset.
        h.ok("zfs create tank/small && zfake-ctl write tank/small 1M && zfs snapshot tank/small@s")
        let scaled = h.sh("zfs send tank/small@s | wc -c", env: ["ZFAKE_SEND_SCALE": "1024"], timeout: 120)
        XCTAssertGreaterThan(Int(scaled.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 1 << 30)
    }
}
