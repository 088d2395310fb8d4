import CommandGraph
import Foundation
import GraphRunner
import XCTest
@testable import Zettabee

#if canImport(Glibc)
import Glibc
#endif

/// A fake executor: records what would run, answers every command with success, and "starts" helper
/// processes without spawning anything.
final class ScriptedExecutor: GraphExecuting, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var ran: [[String]] = []
    private(set) var started: [ProcessSpec] = []
    let onStart: (ProcessSpec) -> Void

    init(onStart: @escaping (ProcessSpec) -> Void = { _ in }) { self.onStart = onStart }

    func run(_ graph: LoweredGraph, options: RunOptions) throws -> GraphResult {
        let specs = graph.pipelines.flatMap(\.stages)
        lock.withLock { ran += specs.map { [$0.executable] + $0.arguments } }
        return GraphResult(stages: graph.pipelines.map { $0.stages.map { StageResult(spec: $0, termination: .exited(0)) } },
                           captured: [0: []])
    }

    func startBackground(_ spec: ProcessSpec, environment: [String: String]) throws -> any BackgroundRunning {
        lock.withLock { started.append(spec) }
        onStart(spec)
        return IdleBackground()
    }
}

/// A helper "process" that runs until stopped.
final class IdleBackground: BackgroundRunning, @unchecked Sendable {
    private let lock = NSLock()
    private var ended: Termination?
    var terminationStatus: Termination? { lock.withLock { ended } }
    var stderrTail: String { "" }
    func waitForExit(seconds: Double) -> Bool { terminationStatus != nil }
    func stop() { lock.withLock { ended = .signaled(SIGTERM) } }
}

final class ExecutorSeamTests: XCTestCase {
    /// The ssh master of a shared connection is started through the executor, and the control commands
    /// then run as its clients: all of it without a process.
    func testTheSSHMasterStartsThroughTheExecutor() throws {
        let directory = NSTemporaryDirectory() + "zb-seam-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/m.ssh"
        // The "master" binds its control socket when started, as ssh does once connected.
        let executor = ScriptedExecutor { _ in bindUnixSocket(at: socketPath) }
        let session = HostSession(
            host: "src", location: .remote(try SSHDestination(host: "src", user: "root", port: nil, identityFile: nil, configFile: nil)),
            executor: executor)
        session.shareConnection(try SSHSharing(controlPath: socketPath))
        try session.run(ZFS.version())
        try session.run(ZFS.version())
        session.closeSharedConnection()

        XCTAssertEqual(executor.started.count, 1, "one master for both commands")
        XCTAssertTrue(executor.started[0].arguments.contains("ControlMaster=yes"), "\(executor.started[0].arguments)")
        let commands = executor.ran.filter { $0.last?.contains("zfs version") == true }
        XCTAssertEqual(commands.count, 2)
        for command in commands {
            XCTAssertTrue(command.contains("ControlPath=\(socketPath)") && command.contains("ControlMaster=no"), "\(command)")
        }
        XCTAssertTrue(executor.ran.contains { $0.contains("-O") && $0.contains("exit") }, "the master is asked to exit: \(executor.ran)")
    }

    /// The runner's environment is injected: the executable is looked up on the PATH it was given.
    func testTheRunnersEnvironmentIsInjected() throws {
        let runner = ProcessRunner(environment: ["PATH": "/nonexistent-zb"])
        XCTAssertThrowsError(try runner.run(LoweredGraph(LoweredPipeline(stages: [ProcessSpec(executable: "true", arguments: [])])))) { error in
            XCTAssertEqual((error as? RunFailure)?.kind, .missingExecutable(name: "true", searchedPATH: "/nonexistent-zb"))
        }
    }
}

/// Creates a Unix socket file at `path` (left open for the test's lifetime).
func bindUnixSocket(at path: String) {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
    }
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
