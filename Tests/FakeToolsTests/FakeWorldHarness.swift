import Foundation
import XCTest

/// The result of one fake-tool invocation.
struct Ran {
    var out: String
    var err: String
    var code: Int32
    var seconds: Double
}

/// A private simulated world (temporary `ZFAKE_WORLD`) and a way to run the shims in `fixtures/fakebin`
/// with a time bound on every process.
final class FakeWorldHarness {
    let world: String
    let fakebin: String
    let zfake: String
    var environment: [String: String]

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The zfake binary: `ZFAKE_BIN`, else next to the test bundle (what `swift test` built), else `.build/debug`.
    static func locateZfake() -> String {
        if let bin = ProcessInfo.processInfo.environment["ZFAKE_BIN"], FileManager.default.isExecutableFile(atPath: bin) {
            return bin
        }
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("zfake").path,
            Bundle.main.bundleURL.appendingPathComponent("zfake").path,
            repositoryRoot.appendingPathComponent(".build/debug/zfake").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[2]
    }

    init() throws {
        world = NSTemporaryDirectory() + "zfake-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        fakebin = Self.repositoryRoot.appendingPathComponent("fixtures/fakebin").path
        zfake = Self.locateZfake()
        guard FileManager.default.isExecutableFile(atPath: zfake) else {
            throw TierMissing("zfake binary not found at \(zfake); build it with `swift build --product zfake`")
        }
        var env = ProcessInfo.processInfo.environment
        env["ZFAKE_WORLD"] = world
        env["ZFAKE_BIN"] = zfake
        env["PATH"] = fakebin + ":/usr/bin:/bin"
        env["TZ"] = "UTC"
        env["ZFAKE_HOST"] = nil
        env["ZFAKE_FAULTS"] = nil
        env["ZFAKE_ZFS_VERSION"] = nil
        env["ZFAKE_ZFS_LEGACY"] = nil
        env["ZFAKE_CLOCK"] = nil
        env["ZFAKE_SEND_SCALE"] = nil
        environment = env
    }

    deinit { try? FileManager.default.removeItem(atPath: world) }

    /// Runs a shell command line (pipes allowed) with the fake tools first in PATH.
    @discardableResult
    func sh(_ script: String, stdin: String? = nil, env extra: [String: String] = [:], timeout: Double = 30,
            file: StaticString = #filePath, line: UInt = #line) -> Ran {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        var env = environment
        for (k, v) in extra { env[k] = v }
        process.environment = env
        let outPath = world + "/.out-\(UUID().uuidString)", errPath = world + "/.err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
        var handles = [FileHandle(forWritingAtPath: outPath), FileHandle(forWritingAtPath: errPath)]
        if let stdin {
            let inPath = world + "/.in-\(UUID().uuidString)"
            _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8))
            handles.append(FileHandle(forReadingAtPath: inPath))
        } else {
            handles.append(FileHandle(forReadingAtPath: "/dev/null"))
        }
        process.standardOutput = handles[0]
        process.standardError = handles[1]
        process.standardInput = handles[2]
        // Foundation keeps a Process that has a termination handler alive after it ended, and with it
        // these handles: closed here, or a test run collects thousands of descriptors.
        defer { for handle in handles { try? handle?.close() } }
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        let started = Date()
        do { try process.run() } catch {
            XCTFail("cannot run /bin/sh: \(error)", file: file, line: line)
            return Ran(out: "", err: "", code: -1, seconds: 0)
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(-process.processIdentifier, SIGKILL)
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            XCTFail("timed out after \(timeout)s: \(script)", file: file, line: line)
            // A daemon that kept the exit-notification socket open hides the end of the shell from
            // Foundation; its status must not be read then.
            if done.wait(timeout: .now() + 5) == .timedOut { return Ran(out: "", err: "", code: -1, seconds: timeout) }
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Ran(out: out, err: err, code: process.terminationStatus, seconds: Date().timeIntervalSince(started))
    }

    /// Runs commands that must succeed.
    func ok(_ script: String, env extra: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) {
        let r = sh(script, env: extra, file: file, line: line)
        XCTAssertEqual(r.code, 0, "\(script) failed: \(r.err)", file: file, line: line)
    }

    /// The host's state as JSON.
    func dump(host: String = "localhost") throws -> [String: Any] {
        let r = sh("zfake-ctl --host \(host) dump")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    }

    /// The call log's entries.
    func calls() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: world + "/calls.log", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// A pool `tank` with `tank/src` holding snapshots `@a` (3 MiB) and `@b` (+1 MiB), and an empty pool `backup`.
    func standardSetup(legacy: Bool = false) {
        ok("zfake-ctl create-pool tank --size 10G \(legacy ? "--legacy" : "") && zfake-ctl create-pool backup --size 10G"
            + " && zfs create tank/src && zfake-ctl write tank/src 3M && zfs snapshot tank/src@a"
            + " && zfake-ctl write tank/src 1M && zfs snapshot tank/src@b")
    }

    /// Polls `condition` until it holds or the deadline passes (a handshake, not a sleep).
    func waitUntil(_ deadline: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(deadline)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// A test case with a fresh fake world per test (`standardSetup`), as `h`. XCTest keeps every test
/// case alive to the end of the run, so the world is let go of in `tearDown`, and its directory goes.
class FakeWorldTestCase: XCTestCase {
    var h: FakeWorldHarness!

    override func setUpWithError() throws {
        try super.setUpWithError()
        h = try FakeWorldHarness()
        h.standardSetup()
    }

    override func tearDown() {
        h = nil
        super.tearDown()
    }

    /// Runs each command and checks its whole stderr and its exit code.
    func expectRefusals(_ cases: [(command: String, stderr: String, code: Int32)], file: StaticString = #filePath, line: UInt = #line) {
        for (command, message, code) in cases {
            let r = h.sh(command)
            XCTAssertEqual(r.err, message, command, file: file, line: line)
            XCTAssertEqual(r.code, code, command, file: file, line: line)
        }
    }
}
