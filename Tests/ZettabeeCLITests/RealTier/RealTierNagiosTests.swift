import Foundation
import XCTest

/// Passive check results through the real send_nsca into the harness's real nsca daemon, which writes
/// them into the real Nagios core's command file; Nagios logs each as it takes it:
/// `[time] EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;host;service;code;output` (`env.nscaCommandFile`
/// is that log).
final class RealTierNagiosTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    /// The commands Nagios took from the nsca daemon after `offset` bytes of its log, without the
    /// `EXTERNAL COMMAND: ` label: `[time] PROCESS_SERVICE_CHECK_RESULT;…`.
    private func commandLines(after offset: Int) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: env.nscaCommandFile))
        guard data.count > offset else { return [] }
        return String(decoding: data.dropFirst(offset), as: UTF8.self).split(separator: "\n")
            .filter { $0.contains("] EXTERNAL COMMAND: ") }
            .map { $0.replacingOccurrences(of: "] EXTERNAL COMMAND: ", with: "] ") }
    }

    private func commandFileSize() throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: env.nscaCommandFile)[.size] as? NSNumber)?.intValue ?? 0
    }

    /// The harness path itself: one result sent with the real send_nsca arrives in the command file.
    func testRealTierSendNSCADeliversToCommandFile() throws {
        let offset = try commandFileSize()
        let host = "rt-host-\(UInt32.random(in: 0...UInt32.max))"
        let output = "WARNING - real tier probe \(UInt32.random(in: 0...UInt32.max))"
        let sent = try env.run(
            "send_nsca", ["-H", env.nscaHost, "-p", String(env.nscaPort), "-c", env.nscaConfig],
            stdin: "\(host)\tzettabee-probe\t1\t\(output)\n", timeout: 30)
        XCTAssertEqual(sent.exitCode, 0, "send_nsca: \(sent.stderr)")
        XCTAssertTrue(sent.stdout.contains("1 data packet(s) sent"), "send_nsca: \(sent.stdout)")
        let expected = "PROCESS_SERVICE_CHECK_RESULT;\(host);zettabee-probe;1;\(output)"
        var lines: [String] = []
        XCTAssertTrue(poll(timeout: 10) {
            lines = try commandLines(after: offset).filter { $0.contains(host) }
            return !lines.isEmpty
        }, "nothing for \(host) in \(env.nscaCommandFile)")
        XCTAssertEqual(lines.count, 1, "\(lines)")
        let pattern = try NSRegularExpression(pattern: "^\\[[0-9]+\\] (.*)$")
        if let line = lines.first,
           let match = pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)),
           let body = Range(match.range(at: 1), in: line) {
            XCTAssertEqual(String(line[body]), expected)
        } else {
            XCTFail("command file line format: \(lines)")
        }
    }

    /// `update -N HOST --nsca-port P --send-nsca-config CFG` reports one result for the pair, under
    /// the service `service/zettabee:<fp>`, with status OK after a successful update.
    func testRealTierUpdateReportsToNagios() throws {
        let help = try TestProcess.run(PackagePaths.zettabee, ["--help"], environment: env.processEnvironment,
                                       timeout: 30)
        let nagiosHelp = help.stdout.split(separator: "\n").first { $0.contains("--nagios") }
        try XCTSkipUnless(nagiosHelp != nil, "zettabee --help does not list --nagios")
        try XCTSkipIf(nagiosHelp!.contains("not yet available"), "zettabee --help: \(nagiosHelp!)")

        let pair = try RealTierPair(env, label: "nagios", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        _ = try pair.zettabee(["setup"], timeout: 30)
        try pair.writeConfig()
        try pair.createSource()
        try pair.writer.populate()
        let initialize = try pair.zettabee(["initialize", pair.destinationArgument])
        pair.assertSucceeded(initialize, "initialize")
        guard initialize.exitCode == 0 else { return }
        try pair.writer.change(round: 1)

        let offset = try commandFileSize()
        let update = try pair.zettabee([
            "-N", env.nscaHost, "--nsca-port", String(env.nscaPort), "--send-nsca-config", env.nscaConfig,
            "update", pair.destinationArgument,
        ])
        pair.assertSucceeded(update, "update -N")
        var lines: [String] = []
        XCTAssertTrue(poll(timeout: 10) {
            lines = try commandLines(after: offset).filter { $0.contains("zettabee:\(pair.fingerprint)") }
            return !lines.isEmpty
        }, "no result for zettabee:\(pair.fingerprint) in the command file: \((try? commandLines(after: offset)) ?? [])")
        XCTAssertEqual(lines.count, 1, "one result per update: \(lines)")
        guard let line = lines.first, let semicolon = line.firstIndex(of: " ") else { return }
        let fields = line[line.index(after: semicolon)...].split(separator: ";", maxSplits: 4,
                                                                 omittingEmptySubsequences: false)
        XCTAssertEqual(fields.count, 5, line)
        guard fields.count == 5 else { return }
        XCTAssertEqual(fields[0], "PROCESS_SERVICE_CHECK_RESULT", line)
        XCTAssertEqual(String(fields[1]), pair.destinationHost, "host: \(line)")
        XCTAssertEqual(String(fields[2]), "service/zettabee:\(pair.fingerprint)", line)
        XCTAssertEqual(fields[3], "0", "status after a successful update: \(line)")
        XCTAssertTrue(fields[4].hasPrefix("UPDATE \(pair.destinationFS): "), "output: \(line)")
        try pair.assertReplicated(destinationSnapshots: 2, previous: nil, window: Date.distantPast...Date())
    }

    /// Initialize and update both report; the active check agrees.
    func testUpdateResultsReachTheNSCADaemon() throws {
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
            lines = text.split(separator: "\n").filter { $0.contains("EXTERNAL COMMAND: ") && $0.contains(";\(service);") }
            return lines.count >= 2
        }, "the daemon wrote both results")
        guard lines.count >= 2 else { return }
        XCTAssertTrue(lines[0].contains("PROCESS_SERVICE_CHECK_RESULT;\(pair.destinationHost);\(service);0;INITIALIZE \(pair.destinationFS): OK, base zettabee."), "\(lines)")
        XCTAssertTrue(lines[1].contains(";0;UPDATE \(pair.destinationFS): OK, base zettabee."), "\(lines)")

        // The active check agrees.
        let check = try pair.zettabee(["check", pair.destinationArgument])
        XCTAssertEqual(check.exitCode, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("ZETTABEE OK - \(pair.destinationFS) Synchronized"), check.stdout)
    }
}
