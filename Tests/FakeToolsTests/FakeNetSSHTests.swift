import Foundation
import XCTest

/// The fake ssh: word joining and quoting through a real shell, the remote environment, `-F` aliasing,
/// exit codes, the call log and faults.
final class FakeNetSSHTests: XCTestCase {
    var harness: FakeNetHarness!

    override func setUpWithError() throws { harness = try FakeNetHarness() }
    override func tearDown() { harness?.cleanUp() }

    static let hostileWords = [
        "tank/my data@snap 1", "it's", "\"double\"", "$HOME", "a;echo INJECTED", "`echo TICK`", "", "tab\there",
        "new\nline", "*", "ü-ñ", "back\\slash",
    ]

    func testFakeNetSSHQuotedLinePassesExactWords() throws {
        let line = (["printf", "'%s\\0'"] + Self.hostileWords.map(FakeNetHarness.shellQuote)).joined(separator: " ")
        let result = try FakeNetProcess.run(
            shell: "ssh -o BatchMode=yes src -- \(FakeNetHarness.shellQuote(line))", environment: harness.environment())
        XCTAssertEqual(result.status, 0, result.err)
        var words = result.out.components(separatedBy: "\0")
        XCTAssertEqual(words.removeLast(), "")
        XCTAssertEqual(words, Self.hostileWords)
    }

    func testFakeNetSSHUnquotedWordsBreakVisibly() throws {
        // Passing the words as separate ssh arguments: ssh joins them with spaces, the remote shell re-parses.
        let arguments = (["printf", "%s\\\\n"] + ["a;echo INJECTED", "two words"]).map(FakeNetHarness.shellQuote)
        let result = try FakeNetProcess.run(
            shell: "ssh src \(arguments.joined(separator: " "))", environment: harness.environment())
        // The remote shell splits at `;`: printf prints "a", then the injected echo runs with the rest.
        XCTAssertEqual(result.out, "a\nINJECTED two words\n")
    }

    func testFakeNetSSHDropsCallerEnvironment() throws {
        let result = try FakeNetProcess.run(
            shell: "ssh -T -n -q -x -a -C src env", environment: harness.environment(["CALLER_SECRET": "leak", "LANG": "de_DE.UTF-8"]))
        XCTAssertEqual(result.status, 0, result.err)
        let variables = Dictionary(result.out.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[..<eq]), String(line[line.index(after: eq)...]))
        }, uniquingKeysWith: { a, _ in a })
        XCTAssertNil(variables["CALLER_SECRET"])
        XCTAssertEqual(variables["LANG"], "C")
        XCTAssertEqual(variables["ZFAKE_HOST"], "src")
        XCTAssertEqual(variables["ZFAKE_WORLD"], harness.world.path)
        XCTAssertEqual(variables["ZFAKE_BIN"], harness.zfake)
        XCTAssertEqual(variables["PATH"], "\(harness.fakebin):/usr/local/bin:/usr/bin:/bin")
        XCTAssertNotNil(variables["HOME"])
    }

    func testFakeNetSSHConfigAliasAndOptionSyntax() throws {
        let config = harness.file("ssh_config")
        try """
            # a comment
            Host backup-src
                HostName nas1.example
                Port 2222
                User zb
                IdentitiesOnly yes
            Host *.other !nas2.other
              HostName=mapped-%h
            Match exec "false"
              HostName never
            """.write(to: config, atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            ("ssh -F \(config.path) backup-src 'echo $ZFAKE_HOST'", "nas1.example"),
            ("ssh -F \(config.path) -oBatchMode=yes -o ConnectTimeout=5 root@x.other 'echo $ZFAKE_HOST'", "mapped-x.other"),
            ("ssh -F \(config.path) nas2.other 'echo $ZFAKE_HOST'", "nas2.other"),
            ("ssh -p 2200 -i /dev/null -l root -o 'StrictHostKeyChecking no' plain 'echo $ZFAKE_HOST'", "plain"),
            ("ssh plain2 -p 22 'echo $ZFAKE_HOST'", "plain2"),
            ("ssh -o HostName=direct alias 'echo $ZFAKE_HOST'", "direct"),
        ]
        for (command, expected) in cases {
            let result = try FakeNetProcess.run(shell: command, environment: harness.environment())
            XCTAssertEqual(result.status, 0, "\(command): \(result.err)")
            XCTAssertEqual(result.out, expected + "\n", command)
        }
    }

    func testFakeNetSSHExitCodeStdinAndCallLog() throws {
        let exit = try FakeNetProcess.run(shell: "ssh src 'exit 42'", environment: harness.environment())
        XCTAssertEqual(exit.status, 42)
        let input = harness.file("input")
        try Data("stream bytes\n".utf8).write(to: input)
        let cat = try FakeNetProcess.run(shell: "ssh src cat", environment: harness.environment(), stdinFile: input.path)
        XCTAssertEqual(cat.out, "stream bytes\n")
        let log = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
        let entries = log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["tool"] as? String == "ssh" }
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries.first?["argv"] as? [String], ["src", "exit 42"])
        XCTAssertEqual(entries.first?["exit"] as? Int, 42)
    }

    func testFakeNetSSHRefusedAndHostKeyFaults() throws {
        try harness.writeFaults([
            #"{"tool":"ssh","host":"down*","effect":"refused"}"#,
            #"{"tool":"ssh","host":"spoofed","effect":"hostkey"}"#,
            #"{"tool":"ssh","host":"flaky","effect":"refused","when":"once"}"#,
        ])
        let refused = try FakeNetProcess.run(shell: "ssh -p 2022 down1 true", environment: harness.environment())
        XCTAssertEqual(refused.status, 255)
        XCTAssertEqual(refused.err, "ssh: connect to host down1 port 2022: Connection refused\n")
        let quiet = try FakeNetProcess.run(shell: "ssh -q down1 true", environment: harness.environment())
        XCTAssertEqual(quiet.status, 255)
        XCTAssertEqual(quiet.err, "")
        let hostKey = try FakeNetProcess.run(shell: "ssh spoofed true", environment: harness.environment())
        XCTAssertEqual(hostKey.status, 255)
        XCTAssertEqual(hostKey.err, "Host key verification failed.\n")
        let first = try FakeNetProcess.run(shell: "ssh flaky 'echo up'", environment: harness.environment())
        let second = try FakeNetProcess.run(shell: "ssh flaky 'echo up'", environment: harness.environment())
        XCTAssertEqual([first.status, second.status], [255, 0])
        XCTAssertEqual(second.out, "up\n")
    }

    func testFakeNetSSHDropAfterBytes() throws {
        try harness.writeFaults([#"{"tool":"ssh","effect":"drop","bytes":"65536"}"#])
        let result = try FakeNetProcess.run(shell: "ssh src 'head -c 10000000 /dev/zero'", environment: harness.environment())
        XCTAssertEqual(result.status, 255)
        XCTAssertEqual(result.stdout.count, 65536)
        XCTAssertEqual(result.err, "Connection to src closed by remote host.\r\n")
    }

    func testFakeNetSSHDropAfterSecondsKillsRemoteCommand() throws {
        try harness.writeFaults([#"{"tool":"ssh","effect":"drop","seconds":"0.3"}"#])
        let started = Date()
        let result = try FakeNetProcess.run(
            shell: "ssh src 'echo started; sleep 30; echo finished'", environment: harness.environment(), timeout: 20)
        XCTAssertEqual(result.status, 255)
        XCTAssertEqual(result.out, "started\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
    }

    func testFakeNetSSHLatencyIsSleptOncePerSSHOnTheMatchingHost() throws {
        try harness.writeFaults([#"{"tool":"ssh","host":"src","effect":"latency","seconds":"0.4"}"#])
        let started = Date()
        let result = try FakeNetProcess.run(shell: "ssh src 'echo one; echo two'", environment: harness.environment(), timeout: 20)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out, "one\ntwo\n")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.4, "the round trip was slept")
        let calls = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["tool"] as? String == "ssh" }
        XCTAssertEqual(calls.count, 1, "one ssh, one round trip")
        XCTAssertGreaterThanOrEqual(calls.first?["duration"] as? Double ?? 0, 0.4)
    }

    func testFakeNetSSHConnectLatencyIsPaidByAConnectionOfItsOwnOnly() throws {
        try harness.writeFaults([#"{"tool":"ssh","host":"src","effect":"latency","seconds":"0.05","connect":"0.6"}"#])
        let socket = harness.file("cm").path
        let master = try FakeNetProcess.run(
            shell: "ssh -o ControlMaster=yes -o ControlPath=\(socket) -o ControlPersist=yes -N src", environment: harness.environment(), timeout: 20)
        XCTAssertEqual(master.status, 0, master.err)
        defer { _ = try? FakeNetProcess.run(shell: "ssh -o ControlPath=\(socket) -O exit src", environment: harness.environment(), timeout: 20) }
        let client = try FakeNetProcess.run(
            shell: "ssh -o ControlMaster=no -o ControlPath=\(socket) src true", environment: harness.environment(), timeout: 20)
        XCTAssertEqual(client.status, 0, client.err)
        let direct = try FakeNetProcess.run(shell: "ssh src true", environment: harness.environment(), timeout: 20)
        XCTAssertEqual(direct.status, 0, direct.err)
        let calls = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["tool"] as? String == "ssh" }
        let byMode = Dictionary(calls.map { ($0["ssh"] as? String ?? "direct", $0["duration"] as? Double ?? 0) }, uniquingKeysWith: max)
        XCTAssertGreaterThanOrEqual(byMode["persist"] ?? 0, 0.65, "the master connects: \(byMode)")
        XCTAssertGreaterThanOrEqual(byMode["direct"] ?? 0, 0.65, "a connection of its own: \(byMode)")
        XCTAssertGreaterThanOrEqual(byMode["mux"] ?? 0, 0.05, "a client pays the command's round trip: \(byMode)")
        // (a client that had slept the connection's 0.6 s too would be at least that slow)
        XCTAssertLessThan(byMode["mux"] ?? 1, 0.6, "and no connection of its own: \(byMode)")
    }

    func testFakeNetSSHUsageErrors() throws {
        let missing = try FakeNetProcess.run(shell: "ssh -p 22", environment: harness.environment())
        XCTAssertEqual(missing.status, 255)
        XCTAssertTrue(missing.err.hasPrefix("usage: ssh "), missing.err)
        let unknown = try FakeNetProcess.run(shell: "ssh -Z host true", environment: harness.environment())
        XCTAssertEqual(unknown.status, 255)
        XCTAssertTrue(unknown.err.hasPrefix("ssh: unknown option -- Z\nusage: ssh "), unknown.err)
    }
}
