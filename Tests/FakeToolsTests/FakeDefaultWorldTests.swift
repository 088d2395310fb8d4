import Foundation
import XCTest

/// The fakes for newcomers: help without a world, and a default world when ZFAKE_WORLD is unset
/// (`$XDG_RUNTIME_DIR/zfake`, else `/tmp/zfake-UID`).
final class FakeDefaultWorldTests: XCTestCase {
    var harness: FakeNetHarness!

    override func setUpWithError() throws { harness = try FakeNetHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// No ZFAKE_WORLD; XDG_RUNTIME_DIR is the harness's (empty) world directory.
    var environment: [String: String] {
        var environment = harness.environment(["XDG_RUNTIME_DIR": harness.world.path])
        environment.removeValue(forKey: "ZFAKE_WORLD")
        return environment
    }

    func testHelpNeedsNoWorld() throws {
        let zfs = try FakeNetProcess.run(shell: "zfs --help", environment: environment)
        XCTAssertEqual(zfs.status, 0)
        XCTAssertTrue(zfs.out.hasPrefix("usage: zfs command args ...\nwhere 'command' is one of the following:\n"), zfs.out)
        XCTAssertTrue(zfs.out.contains("\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]"), zfs.out)
        XCTAssertEqual(zfs.err, "")
        let question = try FakeNetProcess.run(shell: "zfs '-?'", environment: environment)
        XCTAssertEqual(question.out, zfs.out)
        let zpool = try FakeNetProcess.run(shell: "zpool --help", environment: environment)
        XCTAssertEqual(zpool.status, 0)
        XCTAssertTrue(zpool.out.hasPrefix("usage: zpool command args ...\n"))
        let ctl = try FakeNetProcess.run(shell: "zfake-ctl --help", environment: environment)
        XCTAssertEqual(ctl.status, 0)
        XCTAssertTrue(ctl.out.hasPrefix("usage: zfake ctl [--host H] create-pool NAME"), ctl.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.world.appendingPathComponent("zfake").path),
                       "help touches no world")
    }

    func testDefaultWorldUnderXDGRuntimeDir() throws {
        let missing = try FakeNetProcess.run(shell: "zfs", environment: environment)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.hasPrefix("missing command\nusage: zfs command args ...\n"), missing.err)
        let unknown = try FakeNetProcess.run(shell: "zfs frobnicate", environment: environment)
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.hasPrefix("unrecognized command 'frobnicate'\nusage: zfs command args ...\n"), unknown.err)
        let empty = try FakeNetProcess.run(shell: "zfs list", environment: environment)
        XCTAssertEqual(empty.status, 0)
        XCTAssertEqual(empty.err, "no datasets available\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.world.appendingPathComponent("zfake").path),
                       "usage, an unknown command and a question about an empty world make no world")
        let made = try FakeNetProcess.run(
            shell: "zfake-ctl create-pool demo && zfs create demo/fs && ssh backup zfs list -H -o name", environment: environment)
        XCTAssertEqual(made.status, 0, made.err)
        XCTAssertEqual(made.out, "", "another host, empty")
        let listed = try FakeNetProcess.run(shell: "zfs list -H -o name", environment: environment)
        XCTAssertEqual(listed.out, "demo\ndemo/fs\n")
        let world = harness.world.appendingPathComponent("zfake")
        XCTAssertTrue(FileManager.default.fileExists(atPath: world.appendingPathComponent("hosts/localhost.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: world.appendingPathComponent("calls.log").path))
    }
}
