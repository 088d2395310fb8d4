import Foundation
import XCTest

/// The fake send_nsca: input parsing as NSCA 2.10 does it, the result log, stdout, the unreachable fault,
/// and a comparison with the real client (and daemon) where installed.
final class FakeNetSendNscaTests: XCTestCase {
    var harness: FakeNetHarness!

    override func setUpWithError() throws { harness = try FakeNetHarness() }
    override func tearDown() { harness?.cleanUp() }

    func input(_ text: String) throws -> String {
        let file = harness.file("nsca-input-\(UUID().uuidString)")
        try Data(text.utf8).write(to: file)
        return file.path
    }

    func logEntries() throws -> [[String: Any]] {
        let text = (try? String(contentsOf: harness.file("nsca.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func testFakeNetSendNscaLogsResultsAndPrintsCount() throws {
        let stdin = try input("nas1\tzettabee tank/a\t2\tCRITICAL: stale | age=90000\n\u{17}nas1\t0\thost ok\n\u{17}")
        let result = try FakeNetProcess.run(
            shell: "send_nsca -H monitor -p 5668 -to 10 -c /dev/null", environment: harness.environment(), stdinFile: stdin)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.out, "2 data packet(s) sent to host successfully.\n")
        let entries = try logEntries()
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0]["host"] as? String, "nas1")
        XCTAssertEqual(entries[0]["service"] as? String, "zettabee tank/a")
        XCTAssertEqual(entries[0]["code"] as? Int, 2)
        XCTAssertEqual(entries[0]["output"] as? String, "CRITICAL: stale | age=90000")
        XCTAssertEqual(entries[0]["server"] as? String, "monitor")
        XCTAssertEqual(entries[0]["port"] as? String, "5668")
        XCTAssertNil(entries[1]["service"])
        XCTAssertEqual(entries[1]["output"] as? String, "host ok")
    }

    func testFakeNetSendNscaNewlinesDoNotSeparateResults() throws {
        let stdin = try input("h1\ts1\t0\tone\nh2\ts2\t1\ttwo\n")
        let result = try FakeNetProcess.run(shell: "send_nsca -H m", environment: harness.environment(), stdinFile: stdin)
        XCTAssertEqual(result.out, "1 data packet(s) sent to host successfully.\n")
        XCTAssertEqual(try logEntries().first?["output"] as? String, "one\nh2\ts2\t1\ttwo")
    }

    func testFakeNetSendNscaDelimiterQuietAndEmptyInput() throws {
        let semicolons = try FakeNetProcess.run(
            shell: "send_nsca -H m -d ';' --quiet", environment: harness.environment(), stdinFile: try input("h;s;1;warn\n"))
        XCTAssertEqual(semicolons.status, 0)
        XCTAssertEqual(semicolons.out, "")
        XCTAssertEqual(try logEntries().first?["code"] as? Int, 1)
        let empty = try FakeNetProcess.run(shell: "send_nsca -H m", environment: harness.environment())
        XCTAssertEqual(empty.status, 2)
        XCTAssertEqual(empty.out, "0 data packet(s) sent to host successfully.\n")
    }

    func testFakeNetSendNscaUnreachableFault() throws {
        try harness.writeFaults([#"{"tool":"send_nsca","effect":"unreachable"}"#])
        let result = try FakeNetProcess.run(
            shell: "send_nsca -H 127.0.0.1 -p 5667", environment: harness.environment(), stdinFile: try input("h\ts\t0\tok\n"))
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.out, "")
        XCTAssertEqual(result.err, "Connection refused by host\nError: Could not connect to host 127.0.0.1 on port 5667\n")
        XCTAssertEqual(try logEntries().count, 0)
    }

    // MARK: - The real client, where installed

    func testFakeNetSendNscaMatchesRealClient() throws {
        guard let real = FakeNetHarness.executable("send_nsca") else { throw realTierSkip("the real send_nsca is not installed") }
        let port = FakeNetHarness.freePort()
        let config = harness.file("send_nsca.cfg")
        try "encryption_method=1\n".write(to: config, atomically: true, encoding: .utf8)
        let stdin = try input("h1\ts1\t0\tone\n\u{17}h2\ts2\t1\ttwo\n\u{17}garbage")
        let command = "-H 127.0.0.1 -p \(port) -c \(config.path)"
        // Nothing listens: the real client's failure against the fake's fault.
        let realDown = try FakeNetProcess.run(shell: "\(real) \(command)", environment: harness.environment(), stdinFile: stdin)
        try harness.writeFaults([#"{"tool":"send_nsca","effect":"unreachable"}"#])
        let fakeDown = try FakeNetProcess.run(shell: "send_nsca \(command)", environment: harness.environment(), stdinFile: stdin)
        XCTAssertEqual([fakeDown.status, realDown.status], [2, 2])
        XCTAssertEqual(fakeDown.out, realDown.out)
        XCTAssertEqual(fakeDown.err, realDown.err)
        try harness.writeFaults([])
        let missingConfig = "-H 127.0.0.1 -p \(port) -c /nonexistent.cfg"
        let realBadConfig = try FakeNetProcess.run(shell: "\(real) \(missingConfig)", environment: harness.environment(), stdinFile: stdin)
        let fakeBadConfig = try FakeNetProcess.run(shell: "send_nsca \(missingConfig)", environment: harness.environment(), stdinFile: stdin)
        XCTAssertEqual([fakeBadConfig.status, fakeBadConfig.out], [realBadConfig.status, realBadConfig.out] as [AnyHashable])

        // A real daemon: same stdout and exit code for the same input.
        guard let daemon = FakeNetHarness.executable("nsca") else { throw realTierSkip("the real nsca daemon is not installed") }
        let commandFile = harness.file("nsca.cmd")
        _ = FileManager.default.createFile(atPath: commandFile.path, contents: nil)
        let daemonConfig = harness.file("nsca.cfg")
        try """
            server_address=127.0.0.1
            server_port=\(port)
            pid_file=\(harness.file("nsca.pid").path)
            nsca_user=\(NSUserName())
            command_file=\(commandFile.path)
            alternate_dump_file=\(harness.file("nsca.dump").path)
            append_to_file=1
            max_packet_age=30
            decryption_method=1

            """.write(to: daemonConfig, atomically: true, encoding: .utf8)
        let server = try FakeNetProcess(daemon, ["-f", "-c", daemonConfig.path, "--single"], environment: harness.environment())
        defer {
            server.process.terminate()
            _ = server.wait(timeout: 10)
        }
        guard FakeNetHarness.waitUntilListening(port: port) else {
            throw realTierSkip("the nsca daemon did not start listening on \(port)")
        }
        let realUp = try FakeNetProcess.run(shell: "\(real) \(command)", environment: harness.environment(), stdinFile: stdin)
        let fakeUp = try FakeNetProcess.run(shell: "send_nsca \(command)", environment: harness.environment(), stdinFile: stdin)
        XCTAssertEqual(realUp.out, "2 data packet(s) sent to host successfully.\n")
        XCTAssertEqual(fakeUp.out, realUp.out)
        XCTAssertEqual(fakeUp.status, realUp.status)
        XCTAssertEqual(try logEntries().map { $0["output"] as? String }, ["one", "two"])
    }
}
