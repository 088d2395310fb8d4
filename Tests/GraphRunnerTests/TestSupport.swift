import CommandGraph
import Foundation
import XCTest

@testable import GraphRunner

/// Paths and helpers shared by the runner tests. Nothing here sleeps to synchronise: waits poll for a
/// condition (a file written by a fixture, a process gone) against a deadline.
enum Fixture {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) -> String {
        packageRoot.appendingPathComponent("fixtures/runner/\(name)").path
    }

    /// The GraphRunnerProbe binary `swift test` built next to the test bundle.
    static var probe: String? {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            besideTests.appendingPathComponent("GraphRunnerProbe").path,
            besideTests.deletingLastPathComponent().appendingPathComponent("GraphRunnerProbe").path,
            packageRoot.appendingPathComponent(".build/debug/GraphRunnerProbe").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A fresh scratch directory for one test.
func makeScratchDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "runner-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func stage(_ executable: String, _ arguments: String..., label: String? = nil, remote: [String] = []) -> ProcessSpec {
    ProcessSpec(executable: executable, arguments: arguments, label: label, remoteStageLabels: remote)
}

func shell(_ script: String, label: String? = nil, remote: [String] = []) -> ProcessSpec {
    ProcessSpec(executable: "sh", arguments: ["-c", script], label: label, remoteStageLabels: remote)
}

/// Polls for `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Waits for a file a fixture writes (atomically, by rename) and returns its contents.
func waitForFile(_ path: String, timeout: Double = 20) -> String? {
    guard waitUntil(timeout: timeout, { FileManager.default.fileExists(atPath: path) }) else { return nil }
    return try? String(contentsOfFile: path, encoding: .utf8)
}

func isGone(_ pid: Int32) -> Bool { !ProcFS.isAlive(pid: pid) }

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    func mutate(_ change: (inout T) -> Void) { lock.withLock { change(&stored) } }
}

/// Runs a graph on a separate thread and gives up (failing the test) after `deadline` seconds, so a
/// hanging runner fails the test instead of hanging the suite.
func runGraph(
    _ graph: LoweredGraph, options: RunOptions = RunOptions(), deadline: Double = 60,
    file: StaticString = #filePath, line: UInt = #line
) -> Result<GraphResult, RunFailure>? {
    let outcome = Box<Result<GraphResult, RunFailure>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread {
        do {
            outcome.value = .success(try ProcessRunner().run(graph, options: options))
        } catch let failure as RunFailure {
            outcome.value = .failure(failure)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        done.signal()
    }.start()
    guard done.wait(timeout: .now() + deadline) == .success else {
        XCTFail("the run did not finish within \(deadline) s", file: file, line: line)
        return nil
    }
    return outcome.value
}

/// Runs a graph expected to fail and returns the failure.
func runExpectingFailure(
    _ graph: LoweredGraph, options: RunOptions = RunOptions(), deadline: Double = 60,
    file: StaticString = #filePath, line: UInt = #line
) -> RunFailure? {
    switch runGraph(graph, options: options, deadline: deadline, file: file, line: line) {
    case .failure(let failure)?: return failure
    case .success?: XCTFail("the run succeeded", file: file, line: line); return nil
    case nil: return nil
    }
}

/// Runs a graph expected to succeed and returns its result.
func runExpectingSuccess(
    _ graph: LoweredGraph, options: RunOptions = RunOptions(), deadline: Double = 60,
    file: StaticString = #filePath, line: UInt = #line
) -> GraphResult? {
    switch runGraph(graph, options: options, deadline: deadline, file: file, line: line) {
    case .success(let result)?: return result
    case .failure(let failure)?: XCTFail("the run failed: \(failure.details)", file: file, line: line); return nil
    case nil: return nil
    }
}
