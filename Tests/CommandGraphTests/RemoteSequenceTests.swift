import CommandGraph
import Foundation
import XCTest

/// Several commands as one remote line, run here by a real /bin/sh as a remote login shell would run
/// it, and cut back into per-command output and status.
final class RemoteSequenceTests: XCTestCase {
    func run(_ line: String) throws -> (stdout: String, stderr: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self), process.terminationStatus)
    }

    let commands = [
        ["printf", "%s\\n", "one line", "it's two"],
        ["sh", "-c", "echo 'cannot open tank/x: dataset does not exist' >&2; exit 2"],
        ["printf", "no newline"],
        ["true"],
    ]

    func testEveryCommandReportsItsOwnOutputAndStatus() throws {
        let line = RemoteSequence.line(commands, continueAfterFailure: true)
        let (stdout, stderr, status) = try run(line)
        XCTAssertEqual(status, 0)
        let steps = RemoteSequenceOutput.split(stdout: stdout, stderr: stderr, count: commands.count)
        XCTAssertEqual(steps, [
            RemoteStep(stdout: "one line\nit's two\n", stderr: "", exitStatus: 0),
            RemoteStep(stdout: "", stderr: "cannot open tank/x: dataset does not exist\n", exitStatus: 2),
            RemoteStep(stdout: "no newline\n", stderr: "", exitStatus: 0),
            RemoteStep(stdout: "", stderr: "", exitStatus: 0),
        ])
    }

    func testNothingAfterAFailureRunsWhenTheLineStops() throws {
        let line = RemoteSequence.line(commands, continueAfterFailure: false)
        let (stdout, stderr, status) = try run(line)
        XCTAssertEqual(status, 2, "the line ends with the failed command's status")
        let steps = RemoteSequenceOutput.split(stdout: stdout, stderr: stderr, count: commands.count)
        XCTAssertEqual(steps.map(\.exitStatus), [0, 2, nil, nil])
        XCTAssertEqual(steps[2].stdout, "", "never ran")
    }

    func testTextThatOnlyLooksLikeAMarkerStaysOutput() {
        let steps = RemoteSequenceOutput.split(
            stdout: "@zettabee-step 5 0\nx\n\n@zettabee-step 0 0\n", stderr: "ssh: connect to host src: refused\n", count: 2)
        XCTAssertEqual(steps[0].stdout, "@zettabee-step 5 0\nx\n")
        XCTAssertEqual(steps[0].exitStatus, 0)
        XCTAssertNil(steps[1].exitStatus)
    }

    func testLoweringQuotesEveryWordOnce() throws {
        let destination = try SSHDestination(host: "src", user: "root")
        let spec = RemoteSequence.lower(
            [Command("zfs", [.flag("version")], label: "zfs version"), Command("zfs", [.flag("get"), .value("a b")], label: "zfs get")],
            on: destination, continueAfterFailure: true)
        XCTAssertEqual(spec.executable, "ssh")
        XCTAssertEqual(spec.arguments.last, RemoteSequence.line([["zfs", "version"], ["zfs", "get", "a b"]], continueAfterFailure: true))
        XCTAssertTrue(spec.arguments.last?.contains("zfs get 'a b'") ?? false, spec.arguments.last ?? "")
        XCTAssertEqual(spec.label, "ssh src: zfs version; zfs get")
    }
}
