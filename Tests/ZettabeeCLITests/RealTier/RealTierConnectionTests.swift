import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// No connection outlives its run: zettabee killed with SIGKILL mid-transfer (it can clean nothing up)
/// leaves no OpenSSH master connection to the source behind, with no next run to reap it.
final class RealTierConnectionTests: XCTestCase {
    func testRealTierTheSSHMasterEndsWhenZettabeeIsKilled() throws {
        let env = try RealEnvironment.require()
        try env.ensureSSHD()
        let port = try TCP.freePort()
        let pair = try RealTierPair(env, label: "kill9", transport: .mbuffer(port: port))
        defer { pair.cleanup(allowBusySnapshots: true) }
        XCTAssertEqual(try pair.zettabee(["setup"], timeout: 30).exitCode, 0)
        try pair.writeConfig()
        try pair.createSource()
        try pair.writer.random("first.bin", bytes: 1 << 20)
        pair.assertSucceeded(try pair.zettabee(["initialize", pair.destinationArgument]), "initialize")

        try pair.writer.random("large.bin", bytes: 32 << 20)
        pair.extraOptions = ["rate=2M", "buffer=8M"]
        try pair.writeConfig()
        let controlPath = "ControlPath=" + pair.runDirectory
        let masters = {
            ProcTable.all().filter { entry in
                entry.arguments.contains("ControlMaster=yes") && entry.arguments.contains { $0.hasPrefix(controlPath) }
                    && entry.arguments.contains { $0.hasSuffix("ssh") }
            }
        }
        let update = try BackgroundProcess(
            PackagePaths.zettabee, pair.commonArguments + ["update", pair.destinationArgument],
            environment: env.processEnvironment)
        // Handshake: the rate-limited stream flows (the local mbuffer listener runs) and the master is up.
        let flowing = poll(timeout: 60, interval: 0.05) {
            !masters().isEmpty && ProcTable.all().contains { entry in
                entry.arguments.first.map { $0.hasSuffix("mbuffer") } == true && entry.arguments.contains { $0.hasSuffix(":\(port)") }
            }
        }
        XCTAssertTrue(flowing, "the transfer never ran with a master up")
        let master = masters().first
        XCTAssertEqual(kill(update.pid, SIGKILL), 0)
        let outcome = update.wait(timeout: 30)
        XCTAssertTrue(outcome.signaled, "zettabee: \(outcome.exitCode) \(outcome.stderr)")
        guard let master else { return }
        XCTAssertTrue(poll(timeout: 5, interval: 0.05) { kill(master.pid, 0) != 0 },
                      "the ssh master \(master.pid) outlived its run: \(master.arguments.joined(separator: " "))")

        // The killed run's own processes are the next run's to stop; it then recovers the pair.
        pair.extraOptions = []
        try pair.writeConfig()
        pair.assertSucceeded(try pair.zettabee(["update", pair.destinationArgument]), "update after the kill")
    }
}
