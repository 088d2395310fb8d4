import CommandGraph
import XCTest
@testable import Zettabee

final class ConfigParserTests: XCTestCase {
    func parse(_ text: String) throws -> [Pair] {
        try ConfigParser.parse(fileName: "zettabee.cfg", text: text)
    }

    /// The error lines for `text`, or a failure when it parses.
    func errors(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            let pairs = try ConfigParser.parse(fileName: "zettabee.cfg", text: text)
            XCTFail("parsed into \(pairs.count) pairs", file: file, line: line)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(errors(text, file: file, line: line), [expected], file: file, line: line)
    }

    func testFullLine() throws {
        let text = """
            # pairs replicated to backup1
            src1:tank/home   backup1:backup/home   port=9090,wlag=1h,clag=2h,wrun=30m,crun=1d,rate=50M,buffer=256M,keep=20,rollback=yes,sshport=2222,sshkey=/root/.ssh/id_ed25519,sshuser=zb

            """
        let pairs = try parse(text)
        XCTAssertEqual(pairs.count, 1)
        let pair = pairs[0]
        XCTAssertEqual(pair.line, 2)
        XCTAssertEqual(pair.source.host.rawValue, "src1")
        XCTAssertEqual(pair.source.dataset.rawValue, "tank/home")
        XCTAssertEqual(pair.destination.description, "backup1:backup/home")
        XCTAssertEqual(pair.options.transport, .mbuffer(MbufferOptions(
            port: TCPPort(9090)!, rateLimit: ByteSize(parsing: "50M"), bufferSize: ByteSize(parsing: "256M"))))
        XCTAssertEqual(pair.options.ssh, SSHOptions(user: "zb", port: TCPPort(2222), keyPath: "/root/.ssh/id_ed25519"))
        XCTAssertEqual(pair.options.thresholds, Thresholds(
            warningLag: TimeSpan(seconds: 3600), criticalLag: TimeSpan(seconds: 7200),
            warningRun: TimeSpan(seconds: 1800), criticalRun: TimeSpan(seconds: 86400)))
        XCTAssertEqual(pair.options.keep, 20)
        XCTAssertTrue(pair.options.rollback)
        XCTAssertEqual(pair.fingerprint.rawValue, MD5.hexDigest("src1:tank/home::backup1:backup/home"))
    }

    func testDefaults() throws {
        let pair = try XCTUnwrap(parse("src:tank/a dst:backup/a").first)
        XCTAssertEqual(pair.options, PairOptions())
        XCTAssertEqual(pair.options.transport, .ssh(compression: .none))
        XCTAssertEqual(pair.options.ssh.user, "root")
        XCTAssertEqual(pair.options.keep, 10)
        XCTAssertFalse(pair.options.rollback)
        XCTAssertEqual(pair.options.stallTimeout, TimeSpan(seconds: 600))
        XCTAssertEqual(try XCTUnwrap(parse("src:tank/a dst:backup/a stall=90s").first).options.stallTimeout, TimeSpan(seconds: 90))
    }

    func testPortAloneMeansMbufferAndSSHTransportTakesCompression() throws {
        let pairs = try parse("""
            src:tank/a dst:backup/a port=9090
            src:tank/b dst:backup/b transport=ssh,compress=zstd
            src:tank/c dst:backup/c transport=mbuffer,port=9091
            """)
        XCTAssertEqual(pairs.map(\.options.transport), [
            .mbuffer(MbufferOptions(port: TCPPort(9090)!)),
            .ssh(compression: .zstd),
            .mbuffer(MbufferOptions(port: TCPPort(9091)!)),
        ])
    }

    func testCommentsBlankLinesTabsAndSpreadOptions() throws {
        let pairs = try parse("# header\n\n   \t\nsrc:tank/a\tdst:backup/a\tport=1, wlag=30  # trailing\n# src:tank/x dst:backup/x\n")
        XCTAssertEqual(pairs.count, 1)
        XCTAssertEqual(pairs[0].line, 4)
        XCTAssertEqual(pairs[0].options.thresholds.warningLag, TimeSpan(seconds: 30))
    }

    func testIPv6HostsInBrackets() throws {
        let pair = try XCTUnwrap(parse("[2001:db8::1]:tank/a dst:backup/a").first)
        XCTAssertEqual(pair.source.host.rawValue, "2001:db8::1")
        XCTAssertEqual(pair.source.description, "[2001:db8::1]:tank/a")
        XCTAssertEqual(pair.fingerprint.rawValue, MD5.hexDigest("2001:db8::1:tank/a::dst:backup/a"))
    }

    func testEmptyConfigurationHasNoPairs() throws {
        XCTAssertEqual(try parse(""), [])
        XCTAssertEqual(try parse("# nothing yet\n"), [])
    }

    // MARK: - One error per kind, each naming file, line and field

    func testBadValues() {
        let cases: [(String, String)] = [
            ("port=abc", "field 'port': invalid value 'abc' (expected a TCP port 1-65535)"),
            ("port=0", "field 'port': invalid value '0' (expected a TCP port 1-65535)"),
            ("port=65536", "field 'port': invalid value '65536' (expected a TCP port 1-65535)"),
            ("sshport=-22", "field 'sshport': invalid value '-22' (expected a TCP port 1-65535)"),
            ("transport=ftp", "field 'transport': invalid value 'ftp' (expected mbuffer or ssh)"),
            ("sshkey=id_rsa", "field 'sshkey': invalid value 'id_rsa' (expected an absolute path)"),
            ("sshkey=-i/x", "field 'sshkey': invalid value '-i/x' (must not begin with '-')"),
            ("sshkey=/root/$(id)", "field 'sshkey': invalid value '/root/$(id)' (invalid character '$' in path)"),
            ("sshkey=/root/`id`", "field 'sshkey': invalid value '/root/`id`' (invalid character '`' in path)"),
            ("sshkey=/root/'k'", "field 'sshkey': invalid value '/root/\\'k\\'' (invalid character ''' in path)"),
            ("sshuser=-oProxyCommand", "field 'sshuser': invalid value '-oProxyCommand' (must not begin with '-')"),
            ("sshuser=root;id", "field 'sshuser': invalid value 'root;id' (invalid character ';' in user name)"),
            ("sshuser=\"root\"", "field 'sshuser': invalid value '\"root\"' (invalid character '\"' in user name)"),
            ("sshuser=" + String(repeating: "u", count: 33),
             "field 'sshuser': invalid value '\(String(repeating: "u", count: 33))' (user name longer than 32 characters)"),
            ("wlag=1w", "field 'wlag': invalid value '1w' (expected seconds, or a number with s, m, h or d such as 30m)"),
            ("clag=soon", "field 'clag': invalid value 'soon' (expected seconds, or a number with s, m, h or d such as 30m)"),
            ("wrun=-1", "field 'wrun': invalid value '-1' (expected seconds, or a number with s, m, h or d such as 30m)"),
            ("crun=1.5h", "field 'crun': invalid value '1.5h' (expected seconds, or a number with s, m, h or d such as 30m)"),
            ("transport=ssh,compress=gzip", "field 'compress': invalid value 'gzip' (expected none, zstd or lz4)"),
            ("port=1,rate=fast", "field 'rate': invalid value 'fast' (expected a size such as 512k, 50M or 1G)"),
            ("port=1,buffer=0", "field 'buffer': invalid value '0' (expected a size such as 512k, 50M or 1G)"),
            ("keep=0", "field 'keep': invalid value '0' (expected a whole number 1-10000)"),
            ("keep=+3", "field 'keep': invalid value '+3' (expected a whole number 1-10000)"),
            ("rollback=true", "field 'rollback': invalid value 'true' (expected yes or no)"),
            ("stall=0", "field 'stall': invalid value '0' (expected at least 1 second)"),
            ("stall=soon", "field 'stall': invalid value 'soon' (expected seconds, or a number with s, m, h or d such as 30m)"),
            ("port=", "field 'port': empty value"),
            ("port=1,rate=" + String(repeating: "9", count: 1025), "field 'rate': value longer than 1024 characters"),
        ]
        for (options, message) in cases {
            assertError("src:tank/a dst:backup/a \(options)", "zettabee.cfg:1: \(message)")
        }
    }

    func testUnknownKeyMissingEqualsAndRepeatedKey() {
        assertError("src:tank/a dst:backup/a prot=9090",
                    "zettabee.cfg:1: field 'options': unknown key 'prot' (known keys: transport, port, sshport, sshkey, sshuser, wlag, clag, wrun, crun, compress, rate, buffer, listen, keep, rollback, stall, raw, compressed, mountpoints, exactsize)")
        assertError("src:tank/a dst:backup/a rollback",
                    "zettabee.cfg:1: field 'options': invalid option 'rollback' (expected key=value)")
        assertError("src:tank/a dst:backup/a port=9090,port=9091",
                    "zettabee.cfg:1: field 'port': given twice on this line")
        assertError("src:tank/a dst:backup/a port=9090 port=9090",
                    "zettabee.cfg:1: field 'port': given twice on this line")
    }

    func testMalformedEndpoints() {
        assertError("tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'tank/a' (expected HOST:POOL/FS, the host is missing)")
        assertError("src:tank/a backup/a",
                    "zettabee.cfg:1: field 'destination': invalid value 'backup/a' (expected HOST:POOL/FS, the host is missing)")
        assertError(":tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value ':tank/a' (expected HOST:POOL/FS, the host is empty)")
        assertError("src: dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:' (expected HOST:POOL/FS, the filesystem is empty)")
        assertError("[2001:db8::1]tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value '[2001:db8::1]tank/a' (expected [IPV6-ADDRESS]:POOL/FS)")
        assertError("src:tank/a",
                    "zettabee.cfg:1: field 'destination': missing destination (expected SOURCE DESTINATION [OPTIONS])")
    }

    func testInvalidZFSNamesCarryZFSsReason() {
        assertError("src:tank/a/ dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:tank/a/' (invalid ZFS name: trailing slash in name)")
        assertError("src:tank/a@snap dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:tank/a@snap' (invalid ZFS name: empty component or misplaced '@' or '#' delimiter in name)")
        assertError("src:tank/a dst:1backup/a",
                    "zettabee.cfg:1: field 'destination': invalid value 'dst:1backup/a' (invalid ZFS name: pool name must begin with a letter)")
        assertError("src:tank/a;reboot dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:tank/a;reboot' (invalid ZFS name: invalid character ';' in name)")
        assertError("src:tank/$(id) dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:tank/$(id)' (invalid ZFS name: invalid character '$' in name)")
        assertError("src:tank/`id` dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'src:tank/`id`' (invalid ZFS name: invalid character '`' in name)")
        assertError("src:tank/a dst:backup/../a",
                    "zettabee.cfg:1: field 'destination': invalid value 'dst:backup/../a' (invalid ZFS name: parent reference, '..' is found in name)")
    }

    func testHostileHosts() {
        assertError("-oProxyCommand=id:tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value '-oProxyCommand=id:tank/a' (host name must not begin with '-')")
        assertError("root@src:tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 'root@src:tank/a' ('@' in host name (give the user with sshuser=))")
        assertError("s\"rc:tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value 's\"rc:tank/a' (invalid character '\"' in host name)")
        assertError(String(repeating: "h", count: 254) + ":tank/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': invalid value '\(String(repeating: "h", count: 77))...' (host name longer than 253 characters)")
    }

    func testControlAndNonASCIICharacters() {
        assertError("src:tank/a dst:backup/a\r",
                    "zettabee.cfg:1: field 'destination': carriage return (\\r) in 'dst:backup/a\\r' (DOS line endings?)")
        assertError("src:tank/a dst:backup/a port=9090\r",
                    "zettabee.cfg:1: field 'port': carriage return (\\r) in '9090\\r' (DOS line endings?)")
        assertError("src:tänk/a dst:backup/a",
                    "zettabee.cfg:1: field 'source': non-ASCII character 'ä' in 'src:tänk/a'")
        assertError("src:tank/a dst:backup/a wlag=1h\u{1b}",
                    "zettabee.cfg:1: field 'wlag': control character \\x1b in '1h\\x1b'")
        assertError("src:tank/a dst:backup/a pört=1",
                    "zettabee.cfg:1: field 'options': non-ASCII character 'ö' in 'pört'")
        assertError("src:tank/a dst:backup/a " + String(repeating: "x", count: 4096),
                    "zettabee.cfg:1: field 'line': line longer than 4096 characters")
    }

    func testTransportCombinations() {
        assertError("src:tank/a dst:backup/a transport=mbuffer",
                    "zettabee.cfg:1: field 'transport': transport=mbuffer needs the mbuffer port on the destination (add port=N)")
        assertError("src:tank/a dst:backup/a port=9090,compress=lz4",
                    "zettabee.cfg:1: field 'compress': compress applies only to transport=ssh (this pair uses mbuffer)")
        assertError("src:tank/a dst:backup/a transport=ssh,port=9090",
                    "zettabee.cfg:1: field 'port': port is the mbuffer port and is not used with transport=ssh")
        assertError("src:tank/a dst:backup/a rate=50M",
                    "zettabee.cfg:1: field 'rate': rate applies only to transport=mbuffer (this pair uses ssh)")
        assertError("src:tank/a dst:backup/a transport=ssh,buffer=1G",
                    "zettabee.cfg:1: field 'buffer': buffer applies only to transport=mbuffer (this pair uses ssh)")
        assertError("src:tank/a dst:backup/a port=9090,exactsize=no",
                    "zettabee.cfg:1: field 'exactsize': exactsize applies only to transport=ssh (this pair uses mbuffer)")
        assertError("src:tank/a dst:backup/a compress=zstd,exactsize=no",
                    "zettabee.cfg:1: field 'exactsize': exactsize applies only to compress=none "
                        + "(with compress=zstd the decompressor counts the stream exactly)")
        assertError("src:tank/a dst:backup/a exactsize=maybe",
                    "zettabee.cfg:1: field 'exactsize': invalid value 'maybe' (expected yes or no)")
    }

    func testWarningAboveCritical() {
        assertError("src:tank/a dst:backup/a wlag=2h,clag=1h",
                    "zettabee.cfg:1: field 'wlag': warning threshold 2h is greater than critical threshold clag=1h")
        assertError("src:tank/a dst:backup/a wrun=90m,crun=3600",
                    "zettabee.cfg:1: field 'wrun': warning threshold 90m is greater than critical threshold crun=1h")
        XCTAssertNoThrow(try parse("src:tank/a dst:backup/a wlag=1h,clag=60m"))
    }

    func testDuplicatesAcrossLines() {
        XCTAssertEqual(errors("""
            src:tank/a dst:backup/a port=9090
            src:tank/a dst:backup/a port=9091
            other:tank/a dst:backup/a port=9092
            src:tank/b dst:backup/b port=9090
            src:tank/c dst2:backup/c port=9090
            """), [
            "zettabee.cfg:2: field 'destination': duplicate pair: same source and destination as line 1 (fingerprint \(MD5.hexDigest("src:tank/a::dst:backup/a")))",
            "zettabee.cfg:3: field 'destination': destination 'dst:backup/a' already used on line 1",
            "zettabee.cfg:4: field 'port': port 9090 already used on line 1 for destination host 'dst'",
        ])
    }

    func testCollectsEveryErrorInLineOrder() {
        let found = errors("""
            src:tank/a dst:backup/a port=abc,wlag=x
            # fine
            src:tank/b dst:backup/b
            tank/c dst:backup/c bogus=1
            """)
        XCTAssertEqual(found, [
            "zettabee.cfg:1: field 'port': invalid value 'abc' (expected a TCP port 1-65535)",
            "zettabee.cfg:1: field 'wlag': invalid value 'x' (expected seconds, or a number with s, m, h or d such as 30m)",
            "zettabee.cfg:4: field 'source': invalid value 'tank/c' (expected HOST:POOL/FS, the host is missing)",
            "zettabee.cfg:4: field 'options': unknown key 'bogus' (known keys: transport, port, sshport, sshkey, sshuser, wlag, clag, wrun, crun, compress, rate, buffer, listen, keep, rollback, stall, raw, compressed, mountpoints, exactsize)",
        ])
    }

    func testErrorsAreOneLineEach() {
        do {
            _ = try ConfigParser.parse(fileName: "/etc/zb.cfg", text: "a b\nsrc:t/a dst:b/a port=1\n\n")
            XCTFail("expected errors")
        } catch {
            XCTAssertEqual(error.description.split(separator: "\n").count, error.errors.count)
            XCTAssertTrue(error.description.hasPrefix("/etc/zb.cfg:1: field 'source': "))
        }
    }
}
