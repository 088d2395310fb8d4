import CommandGraph
import XCTest

final class SSHSharingTests: XCTestCase {
    let source = try! SSHDestination(host: "src1", user: "root", port: 2222, configFile: "/etc/zb/ssh_config")

    func testClientAddsControlOptionsAfterTheDestinationsOwn() throws {
        let sharing = try SSHSharing(controlPath: "/run/zettabee/0123456789abcdef.ssh")
        let command = try ZFS.get([.guid], of: [try dataset("tank/fs")])
        let stages = Lowering.lower(Pipeline([.remote(command, on: sharing.client(of: source))])).stages
        XCTAssertEqual(
            stages[0].arguments,
            ["-o", "BatchMode=yes", "-p", "2222", "-F", "/etc/zb/ssh_config", "-o", "ControlMaster=no",
             "-o", "ControlPath=/run/zettabee/0123456789abcdef.ssh", "--", "root@src1", "zfs get -H guid tank/fs"])
    }

    func testMasterRunsNoCommandAndExitTalksToTheSocket() throws {
        let sharing = try SSHSharing(controlPath: "/run/zb/a.ssh")
        let master = sharing.master(of: source)
        XCTAssertEqual(master.executable, "ssh")
        XCTAssertEqual(
            master.arguments,
            ["-o", "BatchMode=yes", "-p", "2222", "-F", "/etc/zb/ssh_config", "-o", "ControlMaster=yes",
             "-o", "ControlPath=/run/zb/a.ssh", "-o", "ControlPersist=no", "-N", "--", "root@src1"])
        XCTAssertEqual(
            sharing.exit(source).arguments,
            ["-o", "BatchMode=yes", "-p", "2222", "-F", "/etc/zb/ssh_config", "-o", "ControlPath=/run/zb/a.ssh",
             "-O", "exit", "--", "root@src1"])
    }

    func testAMasterEndingWithItsParentRunsThroughSetpriv() throws {
        let sharing = try SSHSharing(controlPath: "/run/zb/a.ssh")
        let master = sharing.master(of: source, endingWithParent: true)
        XCTAssertEqual(master.executable, "setpriv")
        XCTAssertEqual(Array(master.arguments.prefix(4)), ["--pdeathsig", "TERM", "--", "ssh"])
        XCTAssertEqual(Array(master.arguments.dropFirst(4)), sharing.master(of: source).arguments)
        XCTAssertEqual(master.label, "ssh src1: master")
    }

    func testControlPathMustBeAbsoluteShortAndLiteral() {
        XCTAssertThrowsError(try SSHSharing(controlPath: "run/a.ssh"))
        XCTAssertThrowsError(try SSHSharing(controlPath: "/" + String(repeating: "d", count: 90)))
        XCTAssertThrowsError(try SSHSharing(controlPath: "/run/%h.ssh"))
        XCTAssertThrowsError(try SSHSharing(controlPath: "/run dir/a.ssh"))
        XCTAssertNoThrow(try SSHSharing(controlPath: "/" + String(repeating: "d", count: 89)))
    }
}
