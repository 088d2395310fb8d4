import CommandGraph
import Foundation
import XCTest

@testable import GraphRunner

/// `RunOptions.finalCounters`: the runner starts those stages itself and reads their /proc/<pid>/io from
/// the zombie, so the counts are final even for a stage that lived far shorter than a progress sample.
final class FinalCountersTests: XCTestCase {
    func testAStageWritesAreCountedExactlyAsItEndsAndItsStderrSeparately() throws {
        let size = 3 * 1_048_576 + 17
        // A middle stage writes the stream and three lines of stderr; its counts arrive exact.
        let graph = LoweredGraph(LoweredPipeline(
            stages: [
                stage("head", "-c", String(size), "/dev/zero"),
                shell("echo one >&2; cat; echo two >&2; echo three >&2"),
                stage("wc", "-c"),
            ],
            output: .capture(limit: 1024)))
        var options = RunOptions()
        options.finalCounters = [StageID(pipeline: 0, stage: 1)]
        let result = try XCTUnwrap(runExpectingSuccess(graph, options: options))
        XCTAssertEqual(result.capturedText().trimmingCharacters(in: .whitespacesAndNewlines), String(size))
        let middle = result.stages[0][1]
        XCTAssertEqual(middle.termination, .exited(0))
        XCTAssertEqual(middle.stderrBytes, UInt64("one\ntwo\nthree\n".utf8.count))
        let counters = try XCTUnwrap(middle.finalIO, "no final counters")
        XCTAssertEqual(counters.bytesWritten - middle.stderrBytes, UInt64(size))
        XCTAssertNil(result.stages[0][0].finalIO, "only the stages asked for")
    }

    func testAFailingCountedStageIsJudgedAsAnyOther() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [shell("echo 'no such pool' >&2; exit 3", label: "zfs receive")]))
        var options = RunOptions()
        options.finalCounters = [StageID(pipeline: 0, stage: 0)]
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: options))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .exited(3))
        XCTAssertTrue(failure.description.hasSuffix("no such pool"), failure.description)
        XCTAssertNotNil(failure.result?.stages[0][0].finalIO)
    }

    func testACountedStageIsStoppedWithTheGraph() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("sleep", "30")]))
        var options = RunOptions(timeout: 0.5, gracePeriod: 1)
        options.finalCounters = [StageID(pipeline: 0, stage: 0)]
        let started = Date()
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: options))
        XCTAssertEqual(failure.kind, .timedOut(seconds: 0.5))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .signaled(SIGTERM))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }
}
