import XCTest
@testable import Zettabee

final class MD5Tests: XCTestCase {
    /// RFC 1321 appendix A.5.
    func testRFC1321Vectors() {
        let vectors: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
             "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (input, expected) in vectors {
            XCTAssertEqual(MD5.hexDigest(input), expected, "MD5(\"\(input)\")")
        }
    }

    /// Lengths around the 55/56/64-byte padding boundaries and random contents agree with md5sum.
    func testAgreesWithMd5sum() throws {
        var generator = SeededGenerator(seed: 1321)
        let lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097]
        for length in lengths {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(MD5.hexDigest(bytes), try md5sum(bytes), "random input of \(length) bytes")
        }
    }

    func testDigestIsSixteenBytes() {
        XCTAssertEqual(MD5.digest([UInt8]()).count, 16)
    }
}
