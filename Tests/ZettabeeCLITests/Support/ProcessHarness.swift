import Foundation
import XCTest

/// What a finished child process left behind.
struct ProcessOutcome {
    var exitCode: Int32
    /// True when the child died of a signal (`exitCode` is then the signal number).
    var signaled: Bool
    var stdout: String
    var stderr: String
}

/// Runs a program with a hard time limit, capturing stdout and stderr on their own threads.
/// Test code only: zettabee itself spawns processes through GraphRunner.
enum TestProcess {
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: String? = nil, timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line
    ) throws -> ProcessOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let stdoutData = DataBox(), stderrData = DataBox()
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) { stdoutData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        DispatchQueue.global().async(group: readers) { stderrData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try? input.fileHandleForWriting.close()
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(-process.processIdentifier, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            XCTFail("\(executable) \(arguments) did not finish within \(timeout) s", file: file, line: line)
        }
        _ = readers.wait(timeout: .now() + 5)
        closeHandles(of: [out, err, input])
        return ProcessOutcome(
            exitCode: process.terminationStatus,
            signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdoutData.get(), as: UTF8.self),
            stderr: String(decoding: stderrData.get(), as: UTF8.self))
    }
}

/// Foundation keeps a `Process` that has a termination handler alive after it ended, and with it the
/// pipes it was given: a test run would collect thousands of descriptors (and Foundation's spawn then
/// reads a long `/proc/self/fd`). Closes both ends of each pipe; closing a closed end does nothing.
func closeHandles(of pipes: [Pipe]) {
    for pipe in pipes {
        try? pipe.fileHandleForReading.close()
        try? pipe.fileHandleForWriting.close()
    }
}

/// Bytes handed over from a reader thread.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

/// Paths of the package being tested.
enum PackagePaths {
    /// The repository root, found from this file's location.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The shims users put on PATH: each starts a shell, then `zfake`.
    static let fakeShims = root.appendingPathComponent("fixtures/fakebin").path
    /// The fake tools the flows run with: links named after each tool to the built `zfake`, which
    /// answers as the tool it is started as, with no shell in between. A suite makes some 11,000 fake
    /// calls, and a shim's shell costs about 1 ms of CPU each. The shims themselves are exercised by
    /// FakeToolsTests and the syncoid tier. Made once in the build directory; the shims when that fails.
    static let fakeBin: String = {
        let directory = products.appendingPathComponent("fake-tool-links").path
        let tools = ["zfs", "zpool", "ssh", "mbuffer", "send_nsca", "zfake-ctl"]
        func complete(_ path: String) -> Bool {
            tools.allSatisfy { (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(path)/\($0)")) == zfake }
        }
        if complete(directory) { return directory }
        // Links of another build (a complete directory is only ever renamed into place, whole).
        if FileManager.default.fileExists(atPath: directory), !complete(directory) {
            try? FileManager.default.removeItem(atPath: directory)
        }
        // Made aside and renamed into place: test processes start in parallel.
        let scratch = "\(directory).\(getpid())"
        do {
            try? FileManager.default.removeItem(atPath: scratch)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false)
            for tool in tools { try FileManager.default.createSymbolicLink(atPath: "\(scratch)/\(tool)", withDestinationPath: zfake) }
            if rename(scratch, directory) != 0 { try? FileManager.default.removeItem(atPath: scratch) }
        } catch {
            try? FileManager.default.removeItem(atPath: scratch)
        }
        return complete(directory) ? directory : fakeShims
    }()

    /// The directory holding the built products (`zettabee`, `zfake`): the one holding the test bundle.
    static let products: URL = {
        var url = Bundle(for: BundleLocator.self).bundleURL
        while url.path != "/" {
            let candidate = url.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("zettabee").path) {
                return candidate
            }
            url = candidate
        }
        return root.appendingPathComponent(".build/debug")
    }()
    static var zettabee: String { products.appendingPathComponent("zettabee").path }
    static var zfake: String { products.appendingPathComponent("zfake").path }
}

private final class BundleLocator {}
