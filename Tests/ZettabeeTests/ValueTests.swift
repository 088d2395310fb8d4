import XCTest
@testable import Zettabee

final class ValueTests: XCTestCase {
    func testDurations() {
        let cases: [(String, Int)] = [("30", 30), ("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("0", 0)]
        for (text, seconds) in cases {
            XCTAssertEqual(TimeSpan(parsing: text)?.seconds, seconds, text)
        }
        for text in ["", "m", "-5", "+5", "1.5h", "30x", "2H", "1w", "h2", " 30", "30 ", "99999999999d", "１０"] {
            XCTAssertNil(TimeSpan(parsing: text), text)
        }
    }

    func testLagText() {
        XCTAssertEqual(TimeSpan(seconds: 0).lagText, "0:00:00")
        XCTAssertEqual(TimeSpan(seconds: 59).lagText, "0:00:59")
        XCTAssertEqual(TimeSpan(seconds: 3661).lagText, "1:01:01")
        XCTAssertEqual(TimeSpan(seconds: 49 * 3600).lagText, "49:00:00")
        XCTAssertEqual(TimeSpan(seconds: -61).lagText, "-0:01:01")
    }

    func testTimeSpanDescriptionIsTheShortestSpelling() {
        XCTAssertEqual(TimeSpan(seconds: 7200).description, "2h")
        XCTAssertEqual(TimeSpan(seconds: 5400).description, "90m")
        XCTAssertEqual(TimeSpan(seconds: 86400).description, "1d")
        XCTAssertEqual(TimeSpan(seconds: 45).description, "45s")
    }

    func testSizes() {
        let cases: [(String, UInt64)] = [("4096", 4096), ("128k", 131_072), ("128K", 131_072), ("50M", 52_428_800),
                                         ("1G", 1_073_741_824), ("2T", 2_199_023_255_552)]
        for (text, bytes) in cases {
            let size = ByteSize(parsing: text)
            XCTAssertEqual(size?.bytes, bytes, text)
            XCTAssertEqual(size?.text, text)
        }
        for text in ["", "0", "0M", "M", "1.5G", "50MB", "50X", "-1M", "9999999999999999T", "1 G"] {
            XCTAssertNil(ByteSize(parsing: text), text)
        }
    }

    func testPorts() {
        XCTAssertEqual(TCPPort(parsing: "1")?.number, 1)
        XCTAssertEqual(TCPPort(parsing: "65535")?.number, 65535)
        for text in ["0", "65536", "", "abc", "-1", "+22", "022222"] {
            XCTAssertNil(TCPPort(parsing: text), text)
        }
    }

    func testHostNames() {
        for host in ["backup1", "src.example.org", "10.0.0.1", "2001:db8::1", "my_host"] {
            XCTAssertNoThrow(try HostName(host), host)
        }
        let rejected: [(String, String)] = [
            ("", "empty host name"),
            ("-oProxyCommand=x", "host name must not begin with '-'"),
            ("root@src", "'@' in host name (give the user with sshuser=)"),
            ("src;reboot", "invalid character ';' in host name"),
            ("sr\rc", "carriage return (\\r) in host name"),
            ("hôte", "non-ASCII character 'ô' in host name"),
            ("2001:db8::zz", "invalid IPv6 address"),
            (String(repeating: "a", count: 254), "host name longer than 253 characters"),
        ]
        for (host, reason) in rejected {
            XCTAssertThrowsError(try HostName(host)) { error in
                XCTAssertEqual((error as? InvalidHostName)?.reason, reason)
            }
        }
    }
}
