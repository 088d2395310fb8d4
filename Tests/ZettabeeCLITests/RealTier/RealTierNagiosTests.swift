import Foundation
import XCTest

/// Passive check results through the real send_nsca into the harness's real nsca daemon, whose
/// command file receives `[time] PROCESS_SERVICE_CHECK_RESULT;host;service;code;output` lines.
final class RealTierNagiosTests: XCTestCase {
    var env: RealEnvironment!

    override func setUpWithError() throws {
        env = try RealEnvironment.require()
        try env.ensureSSHD()
    }

    /// Lines the nsca daemon wrote to its command file after `offset` bytes.
    private func commandLines(after offset: Int) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: env.nscaCommandFile))
        guard data.count > offset else { return [] }
        return String(decoding: data.dropFirst(offset), as: UTF8.self).split(separator: "\n").map(String.init)
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
        try XCTSkipUnless(help.stdout.contains("--nagios"), "zettabee --help does not list --nagios")

        let pair = try RealTierPair(env, label: "nagios", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
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
        XCTAssertFalse(fields[1].isEmpty, "host: \(line)")
        XCTAssertEqual(String(fields[2]), "service/zettabee:\(pair.fingerprint)", line)
        XCTAssertEqual(fields[3], "0", "status after a successful update: \(line)")
        XCTAssertFalse(fields[4].trimmingCharacters(in: .whitespaces).isEmpty, "output: \(line)")
        try pair.assertReplicated(destinationSnapshots: 2, previous: nil, window: Date.distantPast...Date())
    }
}
