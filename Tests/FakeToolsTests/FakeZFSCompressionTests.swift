import Foundation
import XCTest

/// Compressed data in the fake (reference §A14): a per-filesystem ratio, physical and logical sizes,
/// `send -c`/`-w` streams of the physical bytes, estimates, what the receiver keeps, and the stream
/// flags that resume tokens carry.
final class FakeZFSCompressionTests: FakeWorldTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // tank/c: 6 MiB at @a, 3 MiB more at @b, compressing 3:1.
        h.ok("zfs create tank/c && zfake-ctl compress tank/c 3.00 && zfake-ctl write tank/c 6M && zfs snapshot tank/c@a"
            + " && zfake-ctl write tank/c 3M && zfs snapshot tank/c@b")
    }

    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    func bytes(_ command: String) -> Int {
        let r = h.sh(command + " | wc -c")
        XCTAssertEqual(r.code, 0, r.err)
        return Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testRatioAndSizes() {
        XCTAssertEqual(h.sh("zfs get -H -o value compressratio tank/c tank/c@a tank/src").out, "3.00x\n3.00x\n1.00x\n")
        XCTAssertEqual(h.sh("zfs get -Hp -o value compressratio tank/c").out, "3.00\n", "-p drops the x")
        let r = h.sh("zfs get -Hp -o property,value referenced,logicalreferenced,used,logicalused tank/c")
        XCTAssertEqual(lines(r.out), ["referenced\t3145728", "logicalreferenced\t9437184", "used\t3145728", "logicalused\t9437184"])
        XCTAssertEqual(h.sh("zfs get -Hp -o value referenced,logicalreferenced,written tank/c@b").out, "3145728\n9437184\n1048576\n")
        XCTAssertEqual(h.sh("zfs list -Hp -o name,refer,lrefer,ratio tank/src").out, "tank/src\t4194304\t4194304\t1.00\n",
                       "uncompressed data: physical and logical sizes agree")
        let bad = h.sh("zfake-ctl compress tank/c 0.5")
        XCTAssertEqual(bad.code, 2, "a ratio below 1.00 is refused")
    }

    func testCompressedStreamsCarryThePhysicalBytes() {
        let logical = 6 << 20
        let plain = bytes("zfs send tank/c@a")
        let compressed = bytes("zfs send -c tank/c@a")
        let raw = bytes("zfs send -w tank/c@a")
        XCTAssertTrue(plain >= logical && plain < logical + 2048, "plain ≈ logical: \(plain)")
        XCTAssertTrue(compressed >= logical / 3 && compressed < logical / 3 + 2048, "-c ≈ logical / ratio: \(compressed)")
        XCTAssertTrue(raw >= logical / 3 && raw < logical / 3 + 2048, "-w of unencrypted data equals -Lec: \(raw)")
        XCTAssertEqual(h.sh("zfs send -nvP tank/c@a").out, "full\ttank/c@a\t6291456\nsize\t6291456\n")
        XCTAssertEqual(h.sh("zfs send -nvPc tank/c@a").out, "full\ttank/c@a\t2097152\nsize\t2097152\n")
        XCTAssertEqual(h.sh("zfs send -nvPw -i @a tank/c@b").out, "incremental\ttank/c@a\ttank/c@b\t1048576\nsize\t1048576\n")
        XCTAssertEqual(h.sh("zfs send -nv -c tank/c@a").out, "full send of tank/c@a estimated size is 2M\ntotal estimated size is 2M\n")
        XCTAssertEqual(h.sh("zfs send -nvPLe tank/c@a").out, "full\ttank/c@a\t6291456\nsize\t6291456\n", "-L and -e change no estimate")
    }

    func testReceiverKeepsTheRatioAndTheLogicalSize() {
        var r = h.sh("zfs send -c tank/c@a | zfs receive backup/c && zfs send -c -i @a tank/c@b | zfs receive backup/c")
        XCTAssertEqual(r.code, 0, r.err)
        r = h.sh("zfs get -Hp -o value compressratio,referenced,logicalreferenced backup/c backup/c@a")
        XCTAssertEqual(lines(r.out), ["3.00", "3145728", "9437184", "3.00", "2097152", "6291456"])
        r = h.sh("zfs send tank/c@a | zfs receive backup/plain && zfs get -Hp -o value compressratio,logicalreferenced backup/plain")
        XCTAssertEqual(lines(r.out), ["3.00", "6291456"], "a plain stream is compressed the same way again on the receiver")
        // A compressed stream cut and verified like any other.
        let stream = h.world + "/c.zstream"
        h.ok("zfs send -c tank/c@a > \(stream)")
        r = h.sh("head -c 1000000 \(stream) | zfs receive backup/cut")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: incomplete stream\n")
        r = h.sh("zfs send -c tank/c@a | zfs receive backup/bad",
                 env: ["ZFAKE_FAULTS": #"{"tool":"zfs","sub":"send","effect":"send-corrupt-at","bytes":"500000"}"#])
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: checksum mismatch\n")
    }

    func testResumeTokensCarryTheStreamFlags() {
        func token(_ send: String, into target: String) -> String {
            _ = h.sh("\(send) | head -c 700000 | zfs receive -s \(target)")
            return h.sh("zfs get -H -o value receive_resume_token \(target)").out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func flags(_ token: String) -> [String] {
            lines(h.sh("zfs send -nv -t \(token)").out).filter { $0.hasSuffix("ok") }.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let plain = token("zfs send tank/c@a", into: "backup/p")
        XCTAssertEqual(flags(plain), [])
        let compressed = token("zfs send -c tank/c@a", into: "backup/c")
        XCTAssertEqual(flags(compressed), ["compressok"])
        let all = token("zfs send -Lce tank/c@a", into: "backup/lce")
        XCTAssertEqual(flags(all), ["largeblockok", "embedok", "compressok"])
        // The resumed stream is compressed again and the receive completes with the same data.
        var r = h.sh("zfs send -nvP -t \(compressed)")
        let size = lines(r.out).last.flatMap { $0.hasPrefix("size\t") ? Int($0.dropFirst(5)) : nil } ?? -1
        XCTAssertTrue(size > 2097152 - 700000 && size < 2097152 - 699000, "what is left of the compressed payload: \(r.out)")
        r = h.sh("zfs send -t \(compressed) | zfs receive -s backup/c && zfs get -Hp -o value logicalreferenced,compressratio backup/c")
        XCTAssertEqual(r.out, "6291456\n3.00\n", r.err)
    }
}
