import Foundation
import XCTest

@testable import GraphRunner

/// Signals delivered to a real process running a graph: the GraphRunnerProbe binary.
final class SignalTrapTests: XCTestCase {
    func testSIGINTTearsDownAndExits130() throws {
        try interruptProbe(with: SIGINT, expectedExit: 130)
    }

    func testSIGTERMTearsDownAndExits143() throws {
        try interruptProbe(with: SIGTERM, expectedExit: 143)
    }

    func testSIGHUPTearsDownAndExits129() throws {
        try interruptProbe(with: SIGHUP, expectedExit: 129)
    }

    /// zettabee may itself be started with SIGPIPE ignored (children inherit ignored dispositions);
    /// installing the trap restores the default, so its children still die of SIGPIPE.
    func testInstallingTheTrapRestoresAnInheritedIgnoredSIGPIPE() throws {
        let probe = try XCTUnwrap(Fixture.probe, "GraphRunnerProbe was not built")
        let scratch = try makeScratchDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: probe)
        process.arguments = ["5", "sh", "-c", "grep SigIgn /proc/self/status > \(scratch)/status; { yes; kill -l $? > \(scratch)/yes; } | head -c 1 > /dev/null"]
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        signal(SIGPIPE, SIG_IGN)
        do {
            defer { signal(SIGPIPE, SIG_DFL) }
            try process.run()
        }
        XCTAssertEqual(exited.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(process.terminationStatus, 0)
        let status = try String(contentsOfFile: scratch + "/status", encoding: .utf8)
        let mask = try XCTUnwrap(UInt64(status.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16))
        XCTAssertEqual(mask & (1 << (SIGPIPE - 1)), 0, status)
        // `kill -l $?` names the signal that killed `yes`; with SIGPIPE ignored, yes would exit 1 instead.
        XCTAssertEqual(try String(contentsOfFile: scratch + "/yes", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), "PIPE")
    }

    private func interruptProbe(with signal: Int32, expectedExit: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let probe = try XCTUnwrap(Fixture.probe, "GraphRunnerProbe was not built", file: file, line: line)
        let scratch = try makeScratchDirectory()
        let pidFile = scratch + "/child.pid"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: probe)
        process.arguments = ["5", Fixture.path("record_pid_and_wait.sh"), pidFile]
        let stderr = Pipe()
        process.standardError = stderr
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let childText = try XCTUnwrap(waitForFile(pidFile), "the probe's child never started", file: file, line: line)
        let child = try XCTUnwrap(Int32(childText.trimmingCharacters(in: .whitespacesAndNewlines)), file: file, line: line)
        XCTAssertFalse(isGone(child), file: file, line: line)

        kill(process.processIdentifier, signal)
        XCTAssertEqual(exited.wait(timeout: .now() + 20), .success, "the probe did not exit", file: file, line: line)
        XCTAssertEqual(process.terminationReason, .exit, file: file, line: line)
        XCTAssertEqual(process.terminationStatus, expectedExit, file: file, line: line)
        XCTAssertTrue(isGone(child), "the probe's child outlived it", file: file, line: line)
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(message.contains("interrupted by \(signalName(signal))"), message, file: file, line: line)
    }
}
