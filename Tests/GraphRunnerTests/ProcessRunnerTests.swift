import CommandGraph
import Foundation
import XCTest

@testable import GraphRunner

final class ProcessRunnerTests: XCTestCase {
    // MARK: Exit status and error reports

    func testNonzeroExitFailsNamingTheStageItsCommandAndLastStderrLine() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [
            shell("echo 'first line' >&2; echo 'cannot open tank/a b: no such pool' >&2; exit 4", label: "zfs list"),
        ]))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .exited(4))
        XCTAssertFalse(failure.description.contains("\n"))
        XCTAssertTrue(failure.description.contains("zfs list"), failure.description)
        XCTAssertTrue(failure.description.contains("exited with status 4"), failure.description)
        XCTAssertTrue(failure.description.hasSuffix("cannot open tank/a b: no such pool"), failure.description)
        XCTAssertTrue(failure.description.contains("sh -c 'echo '\\''first line"), failure.description)
        XCTAssertTrue(failure.details.contains("\n    first line\n    cannot open tank/a b: no such pool"), failure.details)
    }

    func testDeathBySignalIsNotConfusedWithAnExitCode() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [shell("kill -INT $$")]))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .signaled(SIGINT))
        XCTAssertTrue(failure.description.contains("killed by SIGINT"), failure.description)
    }

    func testSuccessfulPipelineReportsEveryStage() throws {
        let graph = LoweredGraph(LoweredPipeline(
            stages: [stage("cat"), stage("tr", "a-z", "A-Z")], input: .bytes(Array("hello, graph\n".utf8)),
            output: .capture(limit: 1024)))
        let result = try XCTUnwrap(runExpectingSuccess(graph))
        XCTAssertEqual(result.capturedText(), "HELLO, GRAPH\n")
        XCTAssertTrue(result.succeeded)
        XCTAssertEqual(result.stages[0].map(\.termination), [.exited(0), .exited(0)])
        XCTAssertTrue(result.stages[0].allSatisfy { ($0.pid ?? 0) > 0 })
    }

    // MARK: Output handling

    func testMegabyteOfStderrDoesNotDeadlockAndKeepsABoundedTail() throws {
        let lines = Box(0)
        let lastLine = Box("")
        let options = RunOptions(stderrLines: { _, line in
            lines.mutate { $0 += 1 }
            lastLine.value = line
        })
        let graph = LoweredGraph(LoweredPipeline(stages: [stage(Fixture.path("stderr_flood.sh"), "3")]))
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: options))
        let result = try XCTUnwrap(failure.result?.stages[0][0])
        XCTAssertEqual(result.termination, .exited(3))
        XCTAssertLessThanOrEqual(result.stderrTail.utf8.count, 64 * 1024)
        XCTAssertGreaterThan(result.stderrTail.utf8.count, 60 * 1024)
        XCTAssertTrue(result.stderrTail.hasSuffix("LAST LINE OF THE FLOOD\n"))
        XCTAssertEqual(result.lastStderrLine, "LAST LINE OF THE FLOOD")
        XCTAssertEqual(lines.value, 1_048_576 / 64 + 1)
        XCTAssertEqual(lastLine.value, "LAST LINE OF THE FLOOD")
    }

    /// Output past the capture's limit is drained (the writer never blocks), and the run fails loudly:
    /// its output is incomplete. Exactly the limit is fine.
    func testCaptureOverItsLimitFailsTheRunAfterDrainingTheRest() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("head", "-c", "10000000", "/dev/zero")], output: .capture(limit: 10)))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.kind, .outputTooLarge(pipeline: 0, limit: 10))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .exited(0))
        XCTAssertEqual(failure.result?.captured[0]?.count, 10)
        XCTAssertEqual(failure.description, "head printed more than 10 bytes, the most that is read of it; its output is incomplete")

        let exact = LoweredPipeline(stages: [stage("head", "-c", "10", "/dev/zero")])
        let (stdout, result) = try ProcessRunner().capture(exact, limit: 10)
        XCTAssertEqual(stdout.utf8.count, 10)
        XCTAssertEqual(result.stages[0][0].termination, .exited(0))
    }

    /// 256 MiB, four thousand times the pipes' buffers: nothing holds the stream up or changes a byte.
    /// (Gibibytes and their speed are the benchmarks' part, scripts/bench.)
    func testAStreamFlowsThroughThreeStages() throws {
        let graph = LoweredGraph(LoweredPipeline(
            stages: [stage("head", "-c", "268435456", "/dev/zero"), stage("cat"), stage("md5sum")],
            output: .capture(limit: 4096)))
        let result = try XCTUnwrap(runExpectingSuccess(graph, deadline: 120))
        XCTAssertEqual(result.capturedText().split(separator: " ").first, "1f5039e50bd66b290c56684d8550c6c2")
    }

    func testInputAndOutputFiles() throws {
        let scratch = try makeScratchDirectory()
        try "from a file\n".write(toFile: scratch + "/in", atomically: true, encoding: .utf8)
        try "old\n".write(toFile: scratch + "/out", atomically: true, encoding: .utf8)
        let graph = LoweredGraph(LoweredPipeline(
            stages: [stage("cat")], input: .file(scratch + "/in"), output: .file(scratch + "/out", append: true)))
        XCTAssertNotNil(runExpectingSuccess(graph))
        XCTAssertEqual(try String(contentsOfFile: scratch + "/out", encoding: .utf8), "old\nfrom a file\n")
    }

    /// Every descriptor the runner opens is close-on-exec: a middle stage holds exactly three pipes
    /// (stdin, stdout, stderr); any other would be a leaked pipe end that could keep a stream from ending.
    /// The first stage writes nothing: `ls` never reads its stdin, so a writer there could die of SIGPIPE.
    func testStagesInheritOnlyTheirOwnPipeEnds() throws {
        let graph = LoweredGraph(LoweredPipeline(
            stages: [stage("true"), stage("ls", "-l", "/proc/self/fd"), stage("cat")], output: .capture(limit: 10000)))
        let listing = try XCTUnwrap(runExpectingSuccess(graph)).capturedText()
        XCTAssertEqual(listing.components(separatedBy: "pipe:").count - 1, 3, listing)
        XCTAssertTrue(listing.contains(" 0 -> pipe:") && listing.contains(" 1 -> pipe:") && listing.contains(" 2 -> pipe:"), listing)
    }

    // MARK: Executables and environment

    func testMissingExecutableStartsNothingAndNamesThePATH() throws {
        let scratch = try makeScratchDirectory()
        let marker = scratch + "/first-stage-ran"
        let graph = LoweredGraph(LoweredPipeline(stages: [
            stage("touch", marker), stage("zettabee-no-such-tool"),
        ]))
        let options = RunOptions(environment: ["PATH": "/usr/bin:/bin:\(scratch)"])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: options))
        XCTAssertEqual(failure.kind, .missingExecutable(name: "zettabee-no-such-tool", searchedPATH: "/usr/bin:/bin:\(scratch)"))
        XCTAssertNil(failure.result)
        XCTAssertTrue(failure.description.contains("zettabee-no-such-tool"))
        XCTAssertTrue(failure.description.contains("/usr/bin:/bin:\(scratch)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testAbsolutePathThatIsNotExecutableIsMissing() throws {
        let scratch = try makeScratchDirectory()
        let notExecutable = scratch + "/zfs"
        XCTAssertTrue(FileManager.default.createFile(atPath: notExecutable, contents: Data("#!/bin/sh\n".utf8),
                                                    attributes: [.posixPermissions: 0o644]))
        let graph = LoweredGraph(LoweredPipeline(stages: [stage(notExecutable)]))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        guard case .missingExecutable(notExecutable, _) = failure.kind else { return XCTFail("\(failure.kind)") }
        XCTAssertEqual(failure.description, "\(notExecutable) does not exist or is not executable")
    }

    func testBareNamesResolveOnThePATHChildrenGetAndEnvironmentIsMerged() throws {
        let fixtures = Fixture.path("")
        let options = RunOptions(environment: ["PATH": "\(fixtures):/usr/bin:/bin", "ZETTABEE_TEST_VALUE": "a b"])
        let pipeline = LoweredPipeline(stages: [
            shell("command -v describe_self.sh; echo \"$ZETTABEE_TEST_VALUE\"; echo \"${HOME:-no home}\""),
        ])
        let (stdout, _) = try ProcessRunner().capture(pipeline, options: options)
        let lines = stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first.map { URL(fileURLWithPath: $0).lastPathComponent }, "describe_self.sh")
        XCTAssertEqual(lines.dropFirst().first, "a b")
        XCTAssertEqual(lines.last, ProcessInfo.processInfo.environment["HOME"] ?? "no home")

        let resolved = try ProcessRunner().capture(LoweredPipeline(stages: [stage("describe_self.sh")]), options: options)
        XCTAssertTrue(resolved.stdout.hasPrefix("pid "))
    }

    func testAStageThatCannotStartStopsTheStagesAlreadyStarted() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("sleep", "1000"), stage(Fixture.path("not_a_program"))]))
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 2), deadline: 20))
        XCTAssertEqual(failure.kind.stageID, StageID(pipeline: 0, stage: 1))
        let sleeper = try XCTUnwrap(failure.result?.stages[0][0].pid)
        XCTAssertTrue(isGone(sleeper))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .signaled(SIGTERM))
        XCTAssertNil(failure.result?.stages[0][1].pid)
    }

    // MARK: Signals seen by children

    /// Run from a Dispatch thread (which blocks signals), children still start with an empty mask, no
    /// ignored signals, and as leaders of their own process group. (glibc's posix_spawn leaves its own
    /// two internal signals, 32 and 33, ignored in every child; nothing else may be.)
    func testChildrenStartWithDefaultSignalStateInTheirOwnProcessGroup() throws {
        let outcome = Box<(String, GraphResult)?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            outcome.value = try? ProcessRunner().capture(LoweredPipeline(stages: [stage(Fixture.path("describe_self.sh"))]))
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let (stdout, result) = try XCTUnwrap(outcome.value)
        let pid = try XCTUnwrap(result.stages[0][0].pid)
        XCTAssertTrue(stdout.contains("pid \(pid)\n"), stdout)
        XCTAssertTrue(stdout.contains("pgid \(pid)\n"), stdout)
        XCTAssertTrue(stdout.contains("SigBlk:\t0000000000000000"), stdout)
        let ignoredLine = try XCTUnwrap(stdout.split(separator: "\n").first { $0.hasPrefix("SigIgn:") })
        let ignored = try XCTUnwrap(UInt64(ignoredLine.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16))
        let glibcInternal: UInt64 = 1 << (32 - 1) | 1 << (33 - 1)
        XCTAssertEqual(ignored & ~glibcInternal, 0, "ignored signals: \(ignoredLine)")
    }

    func testAWriterWhoseReaderIsGoneDiesOfSIGPIPE() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("yes"), stage("head", "-c", "1")], output: .capture(limit: 10)))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.result?.stages[0][0].termination, .signaled(SIGPIPE))
        XCTAssertEqual(failure.result?.stages[0][1].termination, .exited(0))
        XCTAssertEqual(failure.result?.capturedText(), "y")
    }

    // MARK: Blame

    /// The first stage fails for its own reason; meanwhile the middle stage fails with EPIPE because the
    /// last one stopped reading. The error blames the first stage, even if the middle one ended earlier.
    func testTheStageThatFailedForItsOwnReasonIsBlamedNotTheOneWithABrokenPipe() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [
            shell("sleep 0.3; echo 'cannot send tank/fs@s1: I/O error' >&2; exit 1", label: "zfs send"),
            shell("trap '' PIPE; yes; exit 1", label: "mbuffer"),
            stage("head", "-c", "1", label: "zfs receive"),
        ]))
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 2)))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)))
        XCTAssertTrue(failure.result?.stages[0][1].stderrTail.contains("Broken pipe") ?? false)
        XCTAssertEqual(failure.result?.stages[0][1].termination, .exited(1))
        XCTAssertTrue(failure.description.contains("zfs send"), failure.description)
        XCTAssertTrue(failure.description.hasSuffix("cannot send tank/fs@s1: I/O error"), failure.description)
    }

    /// The receiving end fails; the sender then dies of SIGPIPE. The receiver is blamed.
    func testADownstreamFailureIsBlamedOverTheUpstreamSIGPIPE() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [
            stage("yes", label: "zfs send"),
            shell("head -c 100 >/dev/null; echo 'cannot receive: destination has been modified' >&2; exit 1", label: "zfs receive"),
        ]))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 1)))
        // `yes` dies of SIGPIPE at its next write, or of the teardown's SIGTERM if that comes first.
        let upstream = failure.result?.stages[0][0].termination
        XCTAssertTrue(upstream == .signaled(SIGPIPE) || upstream == .signaled(SIGTERM), "\(String(describing: upstream))")
    }

    // MARK: Remote stage markers

    func testAFailingEarlyRemoteStageIsDetectedThoughTheProcessExitsZero() throws {
        let remoteLine = """
            { ( echo 'cannot open tank/x' >&2; exit 3 ); echo "@zettabee-stage 0 $?" >&2; } | { cat; echo "@zettabee-stage 1 $?" >&2; }
            """
        let graph = LoweredGraph(LoweredPipeline(stages: [
            shell(remoteLine, label: "ssh src: zfs send | mbuffer", remote: ["zfs send", "mbuffer"]),
        ]))
        let seenLines = Box<[String]>([])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(stderrLines: { _, line in seenLines.mutate { $0.append(line) } })))
        let result = try XCTUnwrap(failure.result?.stages[0][0])
        XCTAssertEqual(result.termination, .exited(0))
        XCTAssertEqual(result.remoteStatuses, [3, 0])
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)))
        XCTAssertTrue(failure.description.contains("remote stage zfs send exited with status 3"), failure.description)
        XCTAssertEqual(result.stderrTail, "cannot open tank/x\n")
        XCTAssertEqual(seenLines.value, ["cannot open tank/x"])
    }

    func testAMissingMarkerIsAFailureWhenTheProcessExitsZero() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [shell("true", label: "ssh src", remote: ["zfs send", "mbuffer"])]))
        let failure = try XCTUnwrap(runExpectingFailure(graph))
        XCTAssertEqual(failure.result?.stages[0][0].remoteStatuses, [nil, nil])
        XCTAssertTrue(failure.description.contains("remote stage zfs send reported no exit status"), failure.description)

        let reporting = LoweredGraph(LoweredPipeline(stages: [
            shell("echo '@zettabee-stage 0 0' >&2", label: "ssh src", remote: ["zfs send", "mbuffer"]),
        ]))
        let result = try XCTUnwrap(runExpectingSuccess(reporting))
        XCTAssertEqual(result.stages[0][0].remoteStatuses, [0, nil])
    }

    // MARK: Teardown

    func testAChildIgnoringSIGTERMIsKilledAfterTheGracePeriod() throws {
        let scratch = try makeScratchDirectory()
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage(Fixture.path("ignore_term.sh"), scratch + "/pid")]),
            LoweredPipeline(stages: [stage(Fixture.path("wait_for_file.sh"), scratch + "/pid", "1", "trigger")]),
        ])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 0.5), deadline: 30))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 1, stage: 0)))
        let stubborn = try XCTUnwrap(failure.result?.stages[0][0])
        XCTAssertEqual(stubborn.termination, .signaled(SIGKILL))
        XCTAssertTrue(stubborn.stoppedByRunner)
        XCTAssertGreaterThanOrEqual(stubborn.duration, 0.5)
        XCTAssertTrue(isGone(try XCTUnwrap(stubborn.pid)))
    }

    func testAGrandchildIsStoppedWithItsParent() throws {
        let scratch = try makeScratchDirectory()
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage(Fixture.path("spawn_grandchild.sh"), scratch + "/pids")]),
            LoweredPipeline(stages: [stage(Fixture.path("wait_for_file.sh"), scratch + "/pids", "1")]),
        ])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 5), deadline: 30))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 1, stage: 0)))
        let pids = try XCTUnwrap(waitForFile(scratch + "/pids", timeout: 0)).split(separator: " ").compactMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(pids.count, 2)
        XCTAssertEqual(pids.first, failure.result?.stages[0][0].pid)
        for pid in pids { XCTAssertTrue(isGone(pid), "process \(pid) outlived the run") }
    }

    func testTimeoutTearsTheGraphDown() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("sleep", "1000"), stage("cat")]))
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(timeout: 0.5, gracePeriod: 2), deadline: 20))
        XCTAssertEqual(failure.kind, .timedOut(seconds: 0.5))
        let sleeper = try XCTUnwrap(failure.result?.stages[0][0])
        XCTAssertEqual(sleeper.termination, .signaled(SIGTERM))
        XCTAssertTrue(isGone(try XCTUnwrap(sleeper.pid)))
        XCTAssertLessThan(failure.result?.elapsed ?? 99, 5)
        XCTAssertTrue(failure.details.contains("sleep 1000"), failure.details)
    }

    func testStallDetectorTearsDownAGraphWhereNothingMoves() throws {
        let graph = LoweredGraph(LoweredPipeline(stages: [stage("sleep", "1000")]))
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(stallTimeout: 0.6, gracePeriod: 2), deadline: 20))
        XCTAssertEqual(failure.kind, .stalled(seconds: 0.6))
        XCTAssertTrue(isGone(try XCTUnwrap(failure.result?.stages[0][0].pid)))
    }

    func testStderrLinesCountAsActivityForTheStallDetector() throws {
        // The stage itself only waits (its own counters stay still) while its subshell talks on the
        // shared stderr for longer than the stall timeout.
        let script = "( i=0; while [ $i -lt 30 ]; do echo tick >&2; sleep 0.05; i=$((i+1)); done ); exit 0"
        let result = try XCTUnwrap(runExpectingSuccess(LoweredGraph(LoweredPipeline(stages: [shell(script)])),
                                                       options: RunOptions(stallTimeout: 0.6), deadline: 20))
        XCTAssertEqual(result.stages[0][0].termination, .exited(0))
    }

    /// A grandchild left running by a stage that exited keeps the stage's stderr (and the socket through
    /// which Foundation learns of the exit) open. The run still ends promptly: the exit is noticed without
    /// Foundation, and the wait for stderr's end is bounded.
    func testAGrandchildHoldingStderrOpenDoesNotHoldUpTheRun() throws {
        let scratch = try makeScratchDirectory()
        let graph = LoweredGraph(LoweredPipeline(stages: [
            shell("sleep 60 & echo $! > \(scratch)/grandchild; echo 'left a grandchild' >&2; exit 0"),
        ]))
        let result = try XCTUnwrap(runExpectingSuccess(graph, deadline: 30))
        let grandchild = try XCTUnwrap(Int32(try String(contentsOfFile: scratch + "/grandchild", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(grandchild, SIGKILL) }
        XCTAssertFalse(isGone(grandchild))
        XCTAssertLessThan(result.elapsed, 10)
        XCTAssertEqual(result.stages[0][0].termination, .exited(0))
        XCTAssertEqual(result.stages[0][0].stderrTail, "left a grandchild\n")
    }

    // MARK: Progress

    /// The second stage's read counter is reported while the first still runs: the progress observer sees
    /// it pass 1 MiB and only then lets the first stage finish.
    func testProgressReportsReadAndWriteCountersOfRunningStages() throws {
        let scratch = try makeScratchDirectory()
        let release = scratch + "/release"
        let sawBytes = Box(false)
        let options = RunOptions(progress: { sample in
            if let cat = sample.stages[0][1], cat.bytesRead >= 1 << 20, cat.bytesWritten >= 1 << 20, !sawBytes.value {
                sawBytes.value = true
                _ = FileManager.default.createFile(atPath: release, contents: nil)
            }
        })
        let graph = LoweredGraph(LoweredPipeline(stages: [
            shell("head -c 1048576 /dev/zero; exec \(Fixture.path("wait_for_file.sh")) \(release)"),
            stage("cat"),
        ]))
        XCTAssertNotNil(runExpectingSuccess(graph, options: options, deadline: 30))
        XCTAssertTrue(sawBytes.value)
    }

    // MARK: Start after a TCP listener

    func testAPipelineStartsOnlyOnceItsListenerListens() throws {
        let scratch = try makeScratchDirectory()
        let port = try TCPSocket().port  // closed again at once: a port nobody listens on
        let gateOpened = scratch + "/gate-opened"
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage(Fixture.path("listen_on_port.py"), String(port), gateOpened)]),
            LoweredPipeline(stages: [stage("touch", gateOpened)],
                            start: .afterTCPListening(port: port, pipelineIndex: 0, timeout: 20)),
        ])
        let result = try XCTUnwrap(runExpectingSuccess(graph, deadline: 40))
        XCTAssertEqual(result.stages[1][0].termination, .exited(0))
        XCTAssertTrue(FileManager.default.fileExists(atPath: gateOpened))
    }

    /// A listener on the port that is not the listener pipeline's (stale, or someone else's) never opens
    /// the gate: the stream would go to it.
    func testAForeignListenerOnThePortNeverOpensTheGate() throws {
        let foreign = try TCPSocket()
        try foreign.listen()
        let scratch = try makeScratchDirectory()
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage("sleep", "1000")]),
            LoweredPipeline(stages: [stage("touch", scratch + "/started")],
                            start: .afterTCPListening(port: foreign.port, pipelineIndex: 0, timeout: 0.5)),
        ])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 2), deadline: 20))
        guard case .listenerNotReady(1, foreign.port, _) = failure.kind else { return XCTFail("\(failure.kind)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/started"))
        XCTAssertNil(failure.result?.stages[1][0].pid)
    }

    func testAListenerThatNeverAppearsFailsWithinItsTimeout() throws {
        let socket = try TCPSocket()  // bound, never listening: nobody else can take the port
        let scratch = try makeScratchDirectory()
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage("sleep", "1000")]),
            LoweredPipeline(stages: [stage("touch", scratch + "/started")],
                            start: .afterTCPListening(port: socket.port, pipelineIndex: 0, timeout: 0.5)),
        ])
        let failure = try XCTUnwrap(runExpectingFailure(graph, options: RunOptions(gracePeriod: 2), deadline: 20))
        guard case .listenerNotReady(1, socket.port, _) = failure.kind else { return XCTFail("\(failure.kind)") }
        XCTAssertTrue(failure.description.contains("\(socket.port)"), failure.description)
        XCTAssertLessThan(failure.result?.elapsed ?? 99, 5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/started"))
        XCTAssertNil(failure.result?.stages[1][0].pid)
        XCTAssertTrue(isGone(try XCTUnwrap(failure.result?.stages[0][0].pid)))
    }

    func testAListenerPipelineThatEndsFirstFailsTheGateEarly() throws {
        let socket = try TCPSocket()
        let graph = LoweredGraph(pipelines: [
            LoweredPipeline(stages: [stage("true")]),
            LoweredPipeline(stages: [stage("true")], start: .afterTCPListening(port: socket.port, pipelineIndex: 0, timeout: 30)),
        ])
        let failure = try XCTUnwrap(runExpectingFailure(graph, deadline: 20))
        guard case .listenerNotReady(1, _, let reason) = failure.kind else { return XCTFail("\(failure.kind)") }
        XCTAssertTrue(reason.contains("ended"), reason)
        XCTAssertLessThan(failure.result?.elapsed ?? 99, 10)
    }

    // MARK: Pure parts

    func testListenTableParsing() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 100 0 0 10 0
               1: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4712 1 0000000000000000 20 4 30 10 -1
            """
        XCTAssertEqual(ProcFS.listenerInodes(table, port: 8080), [4711])
        XCTAssertEqual(ProcFS.listenerInodes(table, port: 8081), [])  // established, not listening
        let table6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
            """
        XCTAssertEqual(ProcFS.listenerInodes(table6, port: 9000), [99])
    }

    func testSocketsOfAProcessAreFoundByInode() throws {
        let socket = try TCPSocket()
        try socket.listen()
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
        let inodes = ProcFS.listenerInodes(table, port: socket.port)
        XCTAssertEqual(inodes.count, 1)
        XCTAssertFalse(ProcFS.socketInodes(of: getpid()).isDisjoint(with: inodes), "this process holds it")
        XCTAssertTrue(ProcFS.isListening(onTCPPort: socket.port, byAnyOf: [getpid()]))
        XCTAssertFalse(ProcFS.isListening(onTCPPort: socket.port, byAnyOf: [getppid()]))
    }

    func testShellQuotingForMessages() {
        XCTAssertEqual(shellQuotedCommand(["zfs", "send", "-i", "tank/a@1", "tank/a@2"]), "zfs send -i tank/a@1 tank/a@2")
        XCTAssertEqual(shellQuotedCommand(["zfs", "list", "tank/a b", "", "it's"]), "zfs list 'tank/a b' '' 'it'\\''s'")
        XCTAssertEqual(shellQuotedCommand(["echo", "$HOME", "é"]), "echo '$HOME' 'é'")
    }

}

extension RunFailure.Kind {
    var stageID: StageID? {
        switch self {
        case .stageFailed(let id), .startFailed(let id, _): return id
        default: return nil
        }
    }
}

/// A TCP socket on 127.0.0.1 with a port chosen by the kernel, bound at once and listening on request.
final class TCPSocket {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func listen() throws {
        guard Glibc.listen(fd, 1) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
    }

    deinit { close(fd) }
}

/// Blame by cause: which stage a failed graph names.
extension ProcessRunnerTests {
    /// A reader that says its input ended early, fed by a writer that failed by itself: the writer is
    /// named, even when the reader ends first (it waits for the writer to settle).
    func testAWriterThatFailedByItselfIsBlamedOverItsReadersShortInput() throws {
        var reader = shell("cat >/dev/null; echo 'cannot receive: incomplete stream' >&2; exit 1", label: "receive")
        reader.inputEndedEarlyMessages = ["incomplete stream"]
        // The writer ends after the reader has seen its input end: it closes stdout first, then fails.
        let writer = shell("echo data; exec >&-; sleep 0.3; echo 'send: Input/output error' >&2; exit 1", label: "send")
        let failure = try XCTUnwrap(runExpectingFailure(LoweredGraph(LoweredPipeline(stages: [writer, reader]))))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)), failure.description)
    }

    /// A writer whose network connection was reset (an mbuffer listener), its reader saying its input
    /// ended early: both are consequences, and the reset, where the chain begins, is named, even when
    /// the reader ends first.
    func testAConnectionResetIsBlamedOverItsReadersShortInput() throws {
        var reader = shell("cat >/dev/null; echo 'cannot receive: incomplete stream' >&2; exit 1", label: "receive")
        reader.inputEndedEarlyMessages = ["incomplete stream"]
        let writer = shell(
            "echo data; exec >&-; sleep 0.3; echo 'mbuffer: error: inputThread: error reading at offset 0x5: Connection reset by peer' >&2; exit 1",
            label: "mbuffer -I")
        let failure = try XCTUnwrap(runExpectingFailure(LoweredGraph(LoweredPipeline(stages: [writer, reader]))))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 0)), failure.description)
    }

    /// A reader that stopped reading and said its input ended early, its writer dying of SIGPIPE on it:
    /// the reader closed its input itself and is named.
    func testAReaderThatClosedItsInputIsBlamedOverItsWritersBrokenPipe() throws {
        var reader = shell("head -c 10 >/dev/null; echo 'cannot receive: incomplete stream' >&2; exit 1", label: "receive")
        reader.inputEndedEarlyMessages = ["incomplete stream"]
        let failure = try XCTUnwrap(runExpectingFailure(LoweredGraph(LoweredPipeline(stages: [stage("yes"), reader]))))
        XCTAssertEqual(failure.kind, .stageFailed(StageID(pipeline: 0, stage: 1)), failure.description)
        XCTAssertEqual(failure.result?.stages[0][0].termination, .signaled(SIGPIPE))
    }
}
