import Foundation
import XCTest

/// Runs `executable` with `input` on stdin and returns its stdout, failing the test if it does
/// not finish within `timeout` seconds (the process is then killed).
func runTool(_ executable: String, _ arguments: [String], input: [UInt8], timeout: TimeInterval = 10) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try process.run()
    // Write and close stdin, and drain stdout, on their own threads: neither can then block the other.
    DispatchQueue.global().async {
        stdin.fileHandleForWriting.write(Data(input))
        try? stdin.fileHandleForWriting.close()
    }
    let output = OutputBox()
    let drained = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        output.data = stdout.fileHandleForReading.readDataToEndOfFile()
        drained.signal()
    }
    if finished.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        XCTFail("\(executable) did not finish within \(timeout) s")
        throw CocoaError(.executableLoad)
    }
    guard drained.wait(timeout: .now() + timeout) == .success else {
        XCTFail("\(executable) output not drained within \(timeout) s")
        throw CocoaError(.executableLoad)
    }
    return String(decoding: output.data, as: UTF8.self)
}

/// Holds what the reading thread collected; read only after the semaphore says it is done.
private final class OutputBox: @unchecked Sendable {
    var data = Data()
}

/// The digest `md5sum` prints for `bytes`.
func md5sum(_ bytes: [UInt8]) throws -> String {
    let output = try runTool("/usr/bin/md5sum", [], input: bytes)
    return String(output.prefix(32))
}

/// A small deterministic generator (SplitMix64), so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
