import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a finished process left: exit code (or 128+signal), stdout and stderr bytes.
struct FakeNetResult {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// A process started by a test: output goes to temporary files (no pipe to drain), every wait has a
/// time bound, and a process still running at the bound is killed and reported.
final class FakeNetProcess {
    let process = Process()
    private let done = DispatchSemaphore(value: 0)
    private let outURL: URL
    private let errURL: URL
    private let label: String

    /// Starts `/bin/sh -c script` (or an executable with `arguments`) with `environment`, stdin from
    /// `stdinFile` (default /dev/null).
    init(_ executable: String, _ arguments: [String], environment: [String: String], stdinFile: String? = nil) throws {
        label = ([executable] + arguments).joined(separator: " ")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fakenet-\(UUID().uuidString)")
        outURL = scratch.appendingPathExtension("out")
        errURL = scratch.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle(forReadingAtPath: stdinFile ?? "/dev/null")
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.terminationHandler = { [done] _ in done.signal() }
        try process.run()
    }

    convenience init(shell script: String, environment: [String: String], stdinFile: String? = nil) throws {
        try self.init("/bin/sh", ["-c", script], environment: environment, stdinFile: stdinFile)
    }

    var isRunning: Bool { process.isRunning }

    /// Waits at most `timeout` seconds; on timeout kills the process and fails the test.
    func wait(timeout: Double, file: StaticString = #filePath, line: UInt = #line) -> FakeNetResult {
        if done.wait(timeout: .now() + timeout) == .timedOut {
            XCTFail("timed out after \(timeout)s: \(label)", file: file, line: line)
            kill(process.processIdentifier, SIGKILL)
            _ = done.wait(timeout: .now() + 10)
        }
        // Foundation keeps a Process that has a termination handler alive, and with it these handles.
        for handle in [process.standardInput, process.standardOutput, process.standardError] {
            try? (handle as? FileHandle)?.close()
        }
        let stdout = (try? Data(contentsOf: outURL)) ?? Data()
        let stderr = (try? Data(contentsOf: errURL)) ?? Data()
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
        let status = process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return FakeNetResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// Runs to completion within `timeout`.
    static func run(shell script: String, environment: [String: String], stdinFile: String? = nil,
                    timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) throws -> FakeNetResult {
        try FakeNetProcess(shell: script, environment: environment, stdinFile: stdinFile)
            .wait(timeout: timeout, file: file, line: line)
    }
}

/// The fake tool directory, the built zfake, a fresh world directory, and loopback helpers.
struct FakeNetHarness {
    let world: URL
    let fakebin: String
    let zfake: String

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    init() throws {
        let root = Self.repositoryRoot
        fakebin = root.appendingPathComponent("fixtures/fakebin").path
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("zfake").path,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("zfake").path,
            root.appendingPathComponent(".build/debug/zfake").path,
        ]
        guard let built = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TierMissing("zfake is not built next to the tests (looked in \(candidates))")
        }
        zfake = built
        world = FileManager.default.temporaryDirectory.appendingPathComponent("fakenet-world-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: world, withIntermediateDirectories: true)
    }

    /// The environment of a local process in the simulated world: the fake tools first on PATH.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "PATH": "\(fakebin):/usr/local/bin:/usr/bin:/bin",
            "HOME": NSTemporaryDirectory(),
            "ZFAKE_WORLD": world.path,
            "ZFAKE_BIN": zfake,
            "LANG": "C",
        ]
        environment.merge(extra) { $1 }
        return environment
    }

    func writeFaults(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: world.appendingPathComponent("faults"), atomically: true, encoding: .utf8)
    }

    func file(_ name: String) -> URL { world.appendingPathComponent(name) }

    func cleanUp() { try? FileManager.default.removeItem(at: world) }

    /// A currently free loopback port (bound to port 0 and released).
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Whether /proc/net/tcp (or tcp6) shows a LISTEN socket on `port`.
    static func isListening(port: UInt16) -> Bool {
        let hexPort = String(format: ":%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                if fields.count > 3, fields[1].hasSuffix(hexPort), fields[3] == "0A" { return true }
            }
        }
        return false
    }

    /// Polls /proc/net/tcp until `port` listens or `deadline` seconds pass.
    static func waitUntilListening(port: UInt16, deadline: Double = 10) -> Bool {
        let end = Date().addingTimeInterval(deadline)
        while Date() < end {
            if isListening(port: port) { return true }
            usleep(2000) // polling interval, bounded by the deadline
        }
        return false
    }

    /// `word` quoted for a POSIX shell: bare if only safe characters, else single-quoted.
    static func shellQuote(_ word: String) -> String {
        let safe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func executable(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
