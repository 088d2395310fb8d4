import CommandGraph
import XCTest

final class ValidationTests: XCTestCase {
    func testSSHHost() throws {
        for good in ["src1", "src1.example.org", "10.0.0.1", "::1", "fe80::1%eth0", "back_up-2"] {
            XCTAssertEqual(try SSHDestination(host: good).host, good)
        }
        for bad in ["", "-oProxyCommand=x", "root@src1", "src 1", "src\t1", "src\n1", "a;b", "a|b", "$(id)", "`id`",
                    "a'b", "a\"b", "a/b", "a*b", "[::1]", "hé"] {
            assertInvalid("ssh host") { () throws(InvalidValue) in try SSHDestination(host: bad) }
        }
    }

    func testSSHUser() throws {
        XCTAssertEqual(try SSHDestination(host: "h", user: "zb_backup.1-x").user, "zb_backup.1-x")
        for bad in ["", "-l", "a b", "a@b", "a;b", "ü", "a:b"] {
            assertInvalid("ssh user") { () throws(InvalidValue) in try SSHDestination(host: "h", user: bad) }
        }
    }

    func testSSHPort() throws {
        XCTAssertEqual(try SSHDestination(host: "h", port: 1).port, 1)
        XCTAssertEqual(try SSHDestination(host: "h", port: 65535).port, 65535)
        for bad in [0, -1, 65536] {
            assertInvalid("ssh port") { () throws(InvalidValue) in try SSHDestination(host: "h", port: bad) }
        }
    }

    func testSSHFiles() throws {
        XCTAssertEqual(try SSHDestination(host: "h", identityFile: "/root/.ssh/id ed25519").identityFile, "/root/.ssh/id ed25519")
        for bad in ["", "-oX", "a\nb", "a\0b"] {
            assertInvalid("ssh identity file") { () throws(InvalidValue) in try SSHDestination(host: "h", identityFile: bad) }
            assertInvalid("ssh config file") { () throws(InvalidValue) in try SSHDestination(host: "h", configFile: bad) }
        }
    }

    func testSSHOptions() throws {
        XCTAssertEqual(try SSHDestination.Option("ConnectTimeout", "10").word, "ConnectTimeout=10")
        XCTAssertEqual(try SSHDestination.Option("ProxyJump", "a b").word, "ProxyJump=a b")
        for bad in ["", "Connect-Timeout", "Key=", "K1", "a b"] {
            assertInvalid("ssh option name") { () throws(InvalidValue) in try SSHDestination.Option(bad, "x") }
        }
        assertInvalid("ssh option ConnectTimeout") { () throws(InvalidValue) in try SSHDestination.Option("ConnectTimeout", "1\n2") }
    }

    func testMbufferValues() throws {
        assertInvalid("mbuffer port") { () throws(InvalidValue) in try Mbuffer.listen(port: 0) }
        assertInvalid("mbuffer port") { () throws(InvalidValue) in try Mbuffer.send(toHost: "h", port: 70000) }
        assertInvalid("mbuffer host") { () throws(InvalidValue) in try Mbuffer.send(toHost: "h;x", port: 9090) }
        assertInvalid("mbuffer host") { () throws(InvalidValue) in try Mbuffer.send(toHost: "", port: 9090) }
        assertInvalid("mbuffer listen address") { () throws(InvalidValue) in try Mbuffer.listen(port: 9090, address: "a b") }
        assertInvalid("mbuffer log file") { () throws(InvalidValue) in try Mbuffer.Options(logFile: "") }
        assertInvalid("mbuffer log file") { () throws(InvalidValue) in try Mbuffer.Options(logFile: "log\nfile") }
        assertInvalid("mbuffer timeout") { () throws(InvalidValue) in try Mbuffer.Options(timeoutSeconds: 0) }
        assertInvalid("size") { () throws(InvalidValue) in try ByteQuantity("1x") }
    }

    func testNagiosValues() throws {
        let ok = try NagiosCheckResult(host: "h", service: "zettabee tank/fs", status: .ok, output: "ok\tfine")
        XCTAssertEqual(ok.status.rawValue, 0)
        for bad in ["", "a\tb", "a\nb", "a\rb"] {
            assertInvalid("nagios host") { () throws(InvalidValue) in
                try NagiosCheckResult(host: bad, service: "s", status: .ok, output: "")
            }
            assertInvalid("nagios service") { () throws(InvalidValue) in
                try NagiosCheckResult(host: "h", service: bad, status: .ok, output: "")
            }
        }
        assertInvalid("nagios output") { () throws(InvalidValue) in
            try NagiosCheckResult(host: "h", service: "s", status: .ok, output: "two\nlines")
        }
        assertInvalid("nsca server") { () throws(InvalidValue) in try SendNSCA.command(server: "-x") }
        assertInvalid("nsca port") { () throws(InvalidValue) in try SendNSCA.command(server: "n", port: 0) }
        assertInvalid("nsca config file") { () throws(InvalidValue) in try SendNSCA.command(server: "n", configFile: "") }
        assertInvalid("nsca delimiter") { () throws(InvalidValue) in try SendNSCA.command(server: "n", delimiter: "\n") }
        assertInvalid("nsca delimiter") { () throws(InvalidValue) in try SendNSCA.command(server: "n", delimiter: "é") }
    }

    func testZFSValues() throws {
        XCTAssertEqual(try PropertyName("zettabee:last-sent.snap_1").rawValue, "zettabee:last-sent.snap_1")
        for bad in ["", "Readonly", "a b", "a=b", "-o", "a,b", String(repeating: "a", count: 256)] {
            assertInvalid("property") { () throws(InvalidValue) in try PropertyName(bad) }
        }
        assertInvalid("value of property zettabee:x") { () throws(InvalidValue) in try PropertyAssignment("zettabee:x", "a\0b") }
        assertInvalid("value of property zettabee:x") { () throws(InvalidValue) in
            try PropertyAssignment("zettabee:x", String(repeating: "v", count: 8192))
        }
        assertInvalid("property") { () throws(InvalidValue) in try PropertyAssignment("A", "1") }
        XCTAssertEqual(try HoldTag("zettabee keep").rawValue, "zettabee keep")
        for bad in ["", ".send-1-1", "-r", "a\nb", "a\tb", String(repeating: "t", count: 256)] {
            assertInvalid("hold tag") { () throws(InvalidValue) in try HoldTag(bad) }
        }
        for bad in ["", "tank/fs", "1tank", "mirror", "ta%nk"] {
            assertInvalid("pool") { () throws(InvalidValue) in try PoolName(bad) }
        }
    }

    /// The existing name types keep rejecting what zfs rejects, naming the field given.
    func testDatasetAndSnapshotNamesNameTheirField() {
        assertInvalid("destination dataset") { () throws(InvalidValue) in try DatasetName("tank/a$b", field: "destination dataset") }
        assertInvalid("base snapshot") { () throws(InvalidValue) in try SnapshotName(parsing: "tank/fs", field: "base snapshot") }
    }

    func testErrorDescriptionShowsTheValueOnOneLine() {
        do {
            _ = try SSHDestination(host: "a\nb")
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.description, "invalid ssh host 'a\\nb': invalid character newline in host")
        }
    }
}
