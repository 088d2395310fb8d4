import Foundation
import XCTest

/// Nagios results through the real send_nsca into the real nsca daemon: checked in its command file.
final class RealTierNagiosTests: XCTestCase {
    func testUpdateResultsReachTheNSCADaemon() throws {
        let env = try RealEnvironment.require()
        let pair = try RealTierPair(env, label: "nagios", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.createSource()
        try pair.writeConfig()
        pair.assertSucceeded(try pair.zettabee(["setup"]), "setup")
        let nagios = ["-N", env.nscaHost, "--nsca-port", String(env.nscaPort), "--send-nsca-config", env.nscaConfig]
        pair.assertSucceeded(try pair.zettabee(nagios + ["initialize", pair.destinationArgument]), "initialize")
        pair.assertSucceeded(try pair.zettabee(nagios + ["update", pair.destinationArgument]), "update")
        let service = "service/zettabee:\(pair.fingerprint)"
        var lines: [Substring] = []
        XCTAssertTrue(poll(timeout: 10) {
            let text = (try? String(contentsOfFile: env.nscaCommandFile, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").filter { $0.contains(";\(service);") }
            return lines.count >= 2
        }, "the daemon wrote both results")
        XCTAssertTrue(lines[0].contains("PROCESS_SERVICE_CHECK_RESULT;\(pair.destinationHost);\(service);0;INITIALIZE \(pair.destinationFS): OK, base zettabee."), "\(lines)")
        XCTAssertTrue(lines[1].contains(";0;UPDATE \(pair.destinationFS): OK, base zettabee."), "\(lines)")

        // The active check agrees.
        let check = try pair.zettabee(["check", pair.destinationArgument])
        XCTAssertEqual(check.exitCode, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("ZETTABEE OK - \(pair.destinationFS) Synchronized"), check.stdout)
    }
}
