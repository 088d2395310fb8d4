import Foundation
import XCTest

/// The fake mbuffer over loopback TCP: pairing, readiness in /proc/net/tcp, errors, faults, formats,
/// throughput, and a comparison with the real mbuffer where it is installed.
final class FakeNetMbufferTests: XCTestCase {
    var harness: FakeNetHarness!

    override func setUpWithError() throws { harness = try FakeNetHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// `in @ … kiB/s, out @ … kiB/s, … total, buffer   0% full` (one status line, no `\r`).
    static let statusPattern = #"in @ [ 0-9.]{4} [kMGT]iB/s, out @ [ 0-9.]{4} [kMGT]iB/s, [ 0-9.]{4} [kMGT]iB total, buffer [ 0-9]{2}[0-9]% full"#
    static let summaryPattern = #"summary: [ 0-9.]{4} [kMGT]iByte in ( ?[0-9]+min )?[ 0-9.]{3}[0-9]sec - average of [ 0-9.]{4} [kMGT]iB/s"#

    func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: "^" + pattern + "$", options: .regularExpression) != nil
    }

    func testFakeNetMbufferPairingDeliversExactBytesAfterListenIsVisible() throws {
        let port = FakeNetHarness.freePort()
        let source = harness.file("source.bin")
        var bytes = [UInt8](repeating: 0, count: 8 << 20)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        try Data(bytes).write(to: source)
        let received = harness.file("received.bin")
        let listener = try FakeNetProcess(
            shell: "mbuffer -q -s 128k -m 16M -I dsthost:\(port) > \(received.path)", environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port), "no LISTEN socket on port \(port)")
        XCTAssertTrue(listener.isRunning)
        let sender = try FakeNetProcess.run(
            shell: "mbuffer -q -O dsthost:\(port)", environment: harness.environment(), stdinFile: source.path)
        XCTAssertEqual(sender.status, 0, sender.err)
        let listened = listener.wait(timeout: 30)
        XCTAssertEqual(listened.status, 0, listened.err)
        XCTAssertEqual(listened.err, "")
        XCTAssertEqual(try Data(contentsOf: received), Data(bytes))
        XCTAssertFalse(FakeNetHarness.isListening(port: port), "the listener accepts one connection only")
    }

    func testFakeNetMbufferPortInUse() throws {
        let port = FakeNetHarness.freePort()
        let first = try FakeNetProcess(shell: "mbuffer -q -I \(port) > /dev/null", environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
        let second = try FakeNetProcess.run(shell: "mbuffer -I \(port)", environment: harness.environment())
        XCTAssertEqual(second.status, 1)
        XCTAssertEqual(second.err, """
            mbuffer: warning: could not bind to socket for tcp/0.0.0.0:\(port): Address already in use
            mbuffer: warning: could not bind to socket for tcp/[0:0:0:0:0:0:0:0]:\(port): Address already in use
            mbuffer: fatal: Unable to initialize network input.

            """)
        // Release the first listener with an empty stream.
        let closer = try FakeNetProcess.run(shell: "mbuffer -q -O localhost:\(port)", environment: harness.environment())
        XCTAssertEqual(closer.status, 0)
        XCTAssertEqual(first.wait(timeout: 30).status, 0)
    }

    func testFakeNetMbufferConnectionRefused() throws {
        let port = FakeNetHarness.freePort()
        let result = try FakeNetProcess.run(shell: "mbuffer -O backup1:\(port)", environment: harness.environment())
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.err, """
            mbuffer: warning: error connecting to tcp/1.0.0.127:\(port): Connection refused
            mbuffer: error: unable to connect to backup1:\(port)
            mbuffer: fatal: no output left - nothing to do

            """)
    }

    func testFakeNetMbufferFaultsRefusedAndPortInUse() throws {
        try harness.writeFaults([
            #"{"tool":"mbuffer","effect":"refused","when":"once"}"#,
            #"{"tool":"mbuffer","effect":"port-in-use","host":"busy"}"#,
        ])
        let port = FakeNetHarness.freePort()
        let refused = try FakeNetProcess.run(shell: "mbuffer -q -O h:\(port)", environment: harness.environment())
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.err.contains("unable to connect to h:\(port)\n"), refused.err)
        let busy = try FakeNetProcess.run(shell: "mbuffer -I \(port)", environment: harness.environment(["ZFAKE_HOST": "busy"]))
        XCTAssertEqual(busy.status, 1)
        XCTAssertTrue(busy.err.hasSuffix("Address already in use\nmbuffer: fatal: Unable to initialize network input.\n"), busy.err)
        XCTAssertFalse(FakeNetHarness.isListening(port: port))
    }

    func testFakeNetMbufferDropAfterBytesResetsBothSides() throws {
        try harness.writeFaults([#"{"tool":"mbuffer","effect":"drop","bytes":"300000","match":"*-O*"}"#])
        let port = FakeNetHarness.freePort()
        let received = harness.file("received.bin")
        let listener = try FakeNetProcess(shell: "mbuffer -I \(port) > \(received.path)", environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
        let sender = try FakeNetProcess.run(
            shell: "head -c 10000000 /dev/zero | mbuffer -O dst:\(port)", environment: harness.environment())
        XCTAssertEqual(sender.status, 1)
        XCTAssertTrue(sender.err.hasPrefix("""
            mbuffer: error: outputThread: error writing to dst:\(port) at offset 0x493e0: Connection reset by peer
            mbuffer: warning: error during output to dst:\(port): Connection reset by peer
            summary:
            """), sender.err)
        let listened = listener.wait(timeout: 30)
        XCTAssertEqual(listened.status, 1, listened.err)
        XCTAssertTrue(listened.err.contains("mbuffer: error: inputThread: error reading at offset 0x"), listened.err)
        XCTAssertLessThanOrEqual(try Data(contentsOf: received).count, 300000)
    }

    func testFakeNetMbufferListenerReportsEarlyEndAsSuccess() throws {
        // The sender's stream ends early (the sender died): like the real one, the listener sees EOF and
        // exits 0 with what it got.
        let port = FakeNetHarness.freePort()
        let listener = try FakeNetProcess(shell: "mbuffer -q -I \(port) | wc -c", environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
        let sender = try FakeNetProcess.run(
            shell: "head -c 4096 /dev/zero | mbuffer -q -O 127.0.0.1:\(port)", environment: harness.environment())
        XCTAssertEqual(sender.status, 0)
        let listened = listener.wait(timeout: 30)
        XCTAssertEqual(listened.status, 0)
        XCTAssertEqual(listened.out.trimmingCharacters(in: .whitespacesAndNewlines), "4096")
    }

    func testFakeNetMbufferStatusSummaryQuietAndLogFile() throws {
        let log = harness.file("mbuffer.log")
        let result = try FakeNetProcess.run(
            shell: "head -c 3145728 /dev/zero | mbuffer -r 2M -l \(log.path) > /dev/null", environment: harness.environment())
        XCTAssertEqual(result.status, 0)
        var text = result.err
        XCTAssertTrue(text.hasSuffix("\n"))
        text.removeLast()
        let lines = text.components(separatedBy: "\n")
        XCTAssertEqual(lines.count, 2, text)
        let statuses = lines[0].components(separatedBy: "\r").dropFirst()
        XCTAssertTrue(lines[0].hasPrefix("\r"))
        XCTAssertGreaterThanOrEqual(statuses.count, 2, lines[0])
        for status in statuses { XCTAssertTrue(matches(status, Self.statusPattern), status) }
        XCTAssertTrue(matches(lines[1], Self.summaryPattern), lines[1])
        XCTAssertTrue(lines[1].hasPrefix("summary: 3072 kiByte in  1."), lines[1])
        let logLines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(logLines.last, lines[1])
        for line in logLines.dropLast() {
            XCTAssertTrue(line.hasPrefix("mbuffer: ") && matches(String(line.dropFirst(9)), Self.statusPattern), line)
        }
        let quiet = try FakeNetProcess.run(shell: "head -c 1000 /dev/zero | mbuffer -q | wc -c", environment: harness.environment())
        XCTAssertEqual(quiet.err, "")
        XCTAssertEqual(quiet.out.trimmingCharacters(in: .whitespaces), "1000\n")
        let short = try FakeNetProcess.run(shell: "head -c 1048576 /dev/zero | mbuffer > /dev/null", environment: harness.environment())
        XCTAssertTrue(short.err.hasPrefix("summary: 1024 kiByte in "), short.err)
    }

    func testFakeNetMbufferBrokenPipeAndBadOptions() throws {
        let result = try FakeNetProcess.run(
            shell: "(head -c 100000000 /dev/zero | mbuffer; echo \"rc=$?\" >&2) | head -c 1 > /dev/null",
            environment: harness.environment())
        XCTAssertTrue(result.err.hasPrefix("mbuffer: error: outputThread: error writing to <stdout> at offset 0x"), result.err)
        XCTAssertTrue(result.err.contains("mbuffer: warning: error during output to <stdout>: Broken pipe\nsummary:  0.0 kiByte in "), result.err)
        XCTAssertTrue(result.err.hasSuffix("rc=1\n"), result.err)
        let unknown = try FakeNetProcess.run(shell: "mbuffer -z", environment: harness.environment())
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(unknown.err, "mbuffer: fatal: unknown option \"-z\"\n")
        let badRate = try FakeNetProcess.run(shell: "mbuffer -r 1Q", environment: harness.environment())
        XCTAssertEqual(badRate.err, "mbuffer: fatal: unrecognized size character \"Q\" for option \"-r\"\n")
    }

    /// 512 MiB through listener and sender, every byte checked; prints the throughput. Set
    /// ZFAKE_THROUGHPUT_MIB to change the size. (scripts/bench sends 4 GiB streams through the fake
    /// mbuffer and measures their speed.)
    func testFakeNetMbufferThroughput() throws {
        let mebibytes = Int(ProcessInfo.processInfo.environment["ZFAKE_THROUGHPUT_MIB"] ?? "") ?? 512
        let port = FakeNetHarness.freePort()
        let started = Date()
        // Every byte compared with what was sent (zeros), and exactly that many: `cmp` is a fifth of md5sum's CPU.
        let bytes = mebibytes << 20
        let listener = try FakeNetProcess(shell: "mbuffer -q -I \(port) | cmp -n \(bytes) - /dev/zero && echo same",
                                          environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
        let sender = try FakeNetProcess.run(
            shell: "head -c \(mebibytes)M /dev/zero | mbuffer -q -O 127.0.0.1:\(port)", environment: harness.environment(),
            timeout: 300)
        let listened = listener.wait(timeout: 300)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(sender.status, 0, sender.err)
        XCTAssertEqual(listened.status, 0, listened.err)
        XCTAssertEqual(listened.out, "same\n", "the receiving end got \(bytes) bytes of zeros: \(listened.err)")
        print(String(format: "FakeNet mbuffer throughput: %d MiB in %.2f s = %.0f MiB/s (cmp on the receiving end)",
                     mebibytes, seconds, Double(mebibytes) / seconds))
    }

    // MARK: - The real mbuffer, where installed

    func realMbuffer() throws -> String {
        guard let path = FakeNetHarness.executable("mbuffer"), !path.hasPrefix(harness.fakebin) else {
            throw realTierSkip("the real mbuffer is not installed")
        }
        return path
    }

    func testFakeNetMbufferMatchesRealMessages() throws {
        let real = try realMbuffer()
        let port = FakeNetHarness.freePort()
        let commands = [
            "-O 127.0.0.1:\(port) < /dev/null", "-O localhost:\(port) < /dev/null", "-z", "-r 1Q", "-O nocolon",
            "-I",
        ]
        for arguments in commands {
            let fake = try FakeNetProcess.run(shell: "mbuffer \(arguments)", environment: harness.environment())
            let genuine = try FakeNetProcess.run(shell: "\(real) \(arguments)", environment: harness.environment())
            XCTAssertEqual(fake.err, genuine.err, arguments)
            XCTAssertEqual(fake.status, genuine.status, arguments)
        }
        // Port in use, with the real one holding the port and then the fake.
        let holder = try FakeNetProcess(shell: "\(real) -q -I \(port) > /dev/null", environment: harness.environment())
        XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
        let fakeBusy = try FakeNetProcess.run(shell: "mbuffer -I \(port)", environment: harness.environment())
        let realBusy = try FakeNetProcess.run(shell: "\(real) -I \(port)", environment: harness.environment())
        XCTAssertEqual(fakeBusy.err, realBusy.err)
        XCTAssertEqual(fakeBusy.status, realBusy.status)
        // The fake sender talks to the real listener.
        let sent = try FakeNetProcess.run(shell: "head -c 1000 /dev/zero | mbuffer -q -O localhost:\(port)", environment: harness.environment())
        XCTAssertEqual(sent.status, 0)
        XCTAssertEqual(holder.wait(timeout: 30).status, 0)
    }

    func testFakeNetMbufferMatchesRealStatusAndSummaryFormat() throws {
        let real = try realMbuffer()
        for tool in ["mbuffer", real] {
            let result = try FakeNetProcess.run(
                shell: "head -c 12582912 /dev/zero | \(tool) -r 4M > /dev/null", environment: harness.environment())
            XCTAssertEqual(result.status, 0, tool)
            let lines = result.err.components(separatedBy: "\n")
            XCTAssertEqual(lines.count, 3, "\(tool): \(result.err)")
            XCTAssertTrue(lines[0].hasPrefix("\r"), tool)
            for status in lines[0].components(separatedBy: "\r").dropFirst() {
                XCTAssertTrue(matches(status, Self.statusPattern), "\(tool): \(status)")
            }
            XCTAssertTrue(lines[1].hasPrefix("summary: 12.0 MiByte in  "), "\(tool): \(lines[1])")
            XCTAssertTrue(matches(lines[1], Self.summaryPattern), "\(tool): \(lines[1])")
        }
        // Listener and sender of a short transfer: the same line structure from both.
        var shapes: [String: [String]] = [:]
        for tool in ["mbuffer", real] {
            let port = FakeNetHarness.freePort()
            let listener = try FakeNetProcess(shell: "\(tool) -I \(port) > /dev/null", environment: harness.environment())
            XCTAssertTrue(FakeNetHarness.waitUntilListening(port: port))
            let sender = try FakeNetProcess.run(shell: "head -c 1048576 /dev/zero | \(tool) -O 127.0.0.1:\(port)", environment: harness.environment())
            let listened = listener.wait(timeout: 30)
            // The real listener sometimes starts a bare new line before its summary (timing-dependent);
            // that line is not compared.
            shapes[tool] = [sender.err, listened.err].map {
                $0.replacingOccurrences(of: #"^\n"#, with: "", options: .regularExpression)
                    .replacingOccurrences(of: #" +[0-9.]+ ?[kMG]iB/s"#, with: " RATE", options: .regularExpression)
                    .replacingOccurrences(of: #"in +[0-9.]+sec"#, with: "in TIME", options: .regularExpression)
            }
        }
        XCTAssertEqual(shapes["mbuffer"], shapes[real])
    }
}
