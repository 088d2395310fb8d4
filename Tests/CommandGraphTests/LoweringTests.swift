import CommandGraph
import XCTest

final class LoweringTests: XCTestCase {
    let source = try! SSHDestination(host: "src1")

    func testLocalPipelineBecomesOneProcessPerStage() throws {
        let graph = Graph(Pipeline([.local(Zstd.decompress()), .local(ZFS.receive(into: try dataset("backup/home"), force: true))]))
        let lowered = Lowering.lower(graph)
        XCTAssertEqual(lowered.pipelines.count, 1)
        let stages = lowered.pipelines[0].stages
        XCTAssertEqual(stages.map(\.executable), ["zstd", "zfs"])
        XCTAssertEqual(stages[0].arguments, ["-d", "-c", "-q"])
        XCTAssertEqual(stages[1].arguments, ["receive", "-F", "backup/home"])
        XCTAssertEqual(stages[1].display, ["zfs", "receive", "-F", "backup/home"])
        XCTAssertEqual(stages.map(\.label), ["zstd -d", "zfs receive"])
        XCTAssertEqual(stages.map(\.remoteStageLabels), [[], []])
    }

    func testSingleRemoteCommandIsItsQuotedWords() throws {
        let command = try ZFS.get([.guid], of: [try snapshot("tank/my home@mon day")])
        let process = Lowering.lower(Pipeline([.remote(command, on: source)])).stages
        XCTAssertEqual(process.count, 1)
        XCTAssertEqual(process[0].executable, "ssh")
        XCTAssertEqual(
            process[0].arguments, ["-o", "BatchMode=yes", "--", "src1", "zfs get -H guid 'tank/my home@mon day'"])
        XCTAssertEqual(process[0].label, "ssh src1: zfs get")
        XCTAssertEqual(process[0].remoteStageLabels, [])
    }

    func testRemoteStagesOnOneHostShareOneSSHWithStatusMarkers() throws {
        let send = ZFS.send(try snapshot("tank/fs@b"), incremental: .from(try snapshot("tank/fs@a")))
        let compress = try Zstd.compress(level: 3)
        let mbuffer = try Mbuffer.send(toHost: "dst", port: 9090)
        let pipeline = Pipeline([.remote(send, on: source), .remote(compress, on: source), .remote(mbuffer, on: source)])
        let stages = Lowering.lower(pipeline).stages
        XCTAssertEqual(stages.count, 1)
        XCTAssertEqual(
            stages[0].arguments,
            [
                "-o", "BatchMode=yes", "--", "src1",
                "{ zfs send -i tank/fs@a tank/fs@b; echo \"@zettabee-stage 0 $?\" >&2; }"
                    + " | { zstd -c -q -3; echo \"@zettabee-stage 1 $?\" >&2; }"
                    + " | mbuffer -q -O dst:9090",
            ])
        XCTAssertEqual(stages[0].remoteStageLabels, ["zfs send", "zstd", "mbuffer -O"])
        XCTAssertEqual(stages[0].label, "ssh src1: zfs send | zstd | mbuffer -O")
    }

    /// The marker lines the remote shell prints are the ones `RemoteStageStatus` parses.
    func testMarkerFormatMatchesTheParser() {
        let line = Lowering.remoteLine([["false"], ["true"]])
        XCTAssertEqual(line, "{ false; echo \"@zettabee-stage 0 $?\" >&2; } | true")
        // What the shell prints once `$?` is expanded:
        let printed = "@zettabee-stage 0 1"
        XCTAssertTrue(line.contains("echo \"" + RemoteStageStatus.prefix + "0 $?\""))
        XCTAssertEqual(RemoteStageStatus.parse(Substring(printed))?.index, 0)
        XCTAssertEqual(RemoteStageStatus.parse(Substring(printed))?.status, 1)
    }

    func testMixedRemoteThenLocalPipeline() throws {
        let send = ZFS.send(try snapshot("tank/fs@b"), incremental: .withIntermediates(from: try snapshot("tank/fs@a")))
        let pipeline = Pipeline([
            .remote(send, on: source), .remote(try Zstd.compress(), on: source),
            .local(Zstd.decompress()), .local(ZFS.receive(into: try dataset("backup/fs"), resumable: true)),
        ])
        let stages = Lowering.lower(pipeline).stages
        XCTAssertEqual(stages.map(\.executable), ["ssh", "zstd", "zfs"])
        XCTAssertEqual(
            stages[0].arguments,
            ["-o", "BatchMode=yes", "--", "src1",
             "{ zfs send -I tank/fs@a tank/fs@b; echo \"@zettabee-stage 0 $?\" >&2; } | zstd -c -q"])
        XCTAssertEqual(stages[1].arguments, ["-d", "-c", "-q"])
        XCTAssertEqual(stages[2].arguments, ["receive", "-s", "backup/fs"])
    }

    func testRemoteSendToLocalReceiveWithoutCompression() throws {
        let pipeline = Pipeline([
            .remote(ZFS.send(try snapshot("tank/fs@a")), on: source),
            .local(ZFS.receive(into: try dataset("backup/fs"))),
        ])
        let stages = Lowering.lower(pipeline).stages
        XCTAssertEqual(stages.map { [$0.executable] + $0.arguments }, [
            ["ssh", "-o", "BatchMode=yes", "--", "src1", "zfs send tank/fs@a"],
            ["zfs", "receive", "backup/fs"],
        ])
    }

    func testDifferentDestinationsAreSeparateSSHProcesses() throws {
        let other = try SSHDestination(host: "src1", user: "backup")
        let pipeline = Pipeline([.remote(Cat.copy(), on: source), .remote(Cat.copy(), on: other)])
        let stages = Lowering.lower(pipeline).stages
        XCTAssertEqual(stages.count, 2)
        XCTAssertEqual(stages[0].arguments.suffix(2), ["src1", "cat"])
        XCTAssertEqual(stages[1].arguments.suffix(2), ["backup@src1", "cat"])
    }

    func testRemoteStagesSplitByALocalStageAreSeparateSSHProcesses() {
        let pipeline = Pipeline([.remote(Cat.copy(), on: source), .local(Cat.copy()), .remote(Cat.copy(), on: source)])
        XCTAssertEqual(Lowering.lower(pipeline).stages.map(\.executable), ["ssh", "cat", "ssh"])
    }

    func testMbufferGraphKeepsTheStartConditionInputAndOutput() throws {
        let listener = Pipeline(
            [.local(try Mbuffer.listen(port: 9090)), .local(ZFS.receive(into: try dataset("backup/fs"), force: true))],
            output: .capture(limit: 4096))
        let sender = Pipeline(
            [.remote(ZFS.send(try snapshot("tank/fs@a")), on: source),
             .remote(try Mbuffer.send(toHost: "dst", port: 9090), on: source)],
            input: .file("/dev/zero"),
            start: .afterTCPListening(port: 9090, pipelineIndex: 0, timeout: 30))
        let lowered = Lowering.lower(Graph([listener, sender]))
        XCTAssertEqual(lowered.pipelines.count, 2)
        XCTAssertEqual(lowered.pipelines[0].start, .immediately)
        XCTAssertEqual(lowered.pipelines[0].input, .null)
        XCTAssertEqual(lowered.pipelines[0].output, .capture(limit: 4096))
        XCTAssertEqual(
            lowered.pipelines[0].stages.map { [$0.executable] + $0.arguments },
            [["mbuffer", "-q", "-I", "9090"], ["zfs", "receive", "-F", "backup/fs"]])
        XCTAssertEqual(lowered.pipelines[1].start, .afterTCPListening(port: 9090, pipelineIndex: 0, timeout: 30))
        XCTAssertEqual(lowered.pipelines[1].input, .file("/dev/zero"))
        XCTAssertEqual(lowered.pipelines[1].output, .null)
        XCTAssertEqual(
            lowered.pipelines[1].stages.map { [$0.executable] + $0.arguments },
            [["ssh", "-o", "BatchMode=yes", "--", "src1",
              "{ zfs send tank/fs@a; echo \"@zettabee-stage 0 $?\" >&2; } | mbuffer -q -O dst:9090"]])
    }

    func testSSHOptionsComeInAStableOrder() throws {
        let destination = try SSHDestination(
            host: "src1.example.org", user: "zb", port: 2222, identityFile: "/etc/zettabee/id ed25519",
            configFile: "/etc/zettabee/ssh_config",
            options: [try .init("StrictHostKeyChecking", "yes"), try .init("ConnectTimeout", "10")])
        let process = Lowering.lower(Pipeline([.remote(Cat.copy(), on: destination)])).stages[0]
        XCTAssertEqual(process.arguments, [
            "-o", "BatchMode=yes", "-p", "2222", "-i", "/etc/zettabee/id ed25519", "-F", "/etc/zettabee/ssh_config",
            "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "--", "zb@src1.example.org", "cat",
        ])
        XCTAssertEqual(process.label, "ssh src1.example.org: cat")
    }

    func testEachSSHSettingOnItsOwn() throws {
        func options(_ destination: SSHDestination) -> [String] {
            let arguments = Lowering.lower(Pipeline([.remote(Cat.copy(), on: destination)])).stages[0].arguments
            return Array(arguments.dropLast(3))
        }
        XCTAssertEqual(options(try SSHDestination(host: "h")), ["-o", "BatchMode=yes"])
        XCTAssertEqual(options(try SSHDestination(host: "h", port: 22)), ["-o", "BatchMode=yes", "-p", "22"])
        XCTAssertEqual(options(try SSHDestination(host: "h", identityFile: "k")), ["-o", "BatchMode=yes", "-i", "k"])
        XCTAssertEqual(options(try SSHDestination(host: "h", configFile: "c")), ["-o", "BatchMode=yes", "-F", "c"])
        XCTAssertEqual(
            options(try SSHDestination(host: "h", options: [try .init("Compression", "no")])),
            ["-o", "BatchMode=yes", "-o", "Compression=no"])
        XCTAssertEqual(try SSHDestination(host: "h", user: "u").destination, "u@h")
        XCTAssertEqual(try SSHDestination(host: "::1", user: "u").destination, "u@::1")
    }

    func testSecretsArePassedButMaskedInDisplay() throws {
        let command = Command("tool", [.flag("--token"), .secret("s3cr3t value")], label: "tool")
        let local = Lowering.lower(Pipeline([.local(command)])).stages[0]
        XCTAssertEqual(local.arguments, ["--token", "s3cr3t value"])
        XCTAssertEqual(local.display, ["tool", "--token", "***"])
        let remote = Lowering.lower(Pipeline([.remote(command, on: source)])).stages[0]
        XCTAssertEqual(remote.arguments.last, "tool --token 's3cr3t value'")
        XCTAssertEqual(remote.display.last, "tool --token '***'")
        XCTAssertFalse(remote.display.joined().contains("s3cr3t"))
    }

    func testPlanLowersEachStepInOrder() throws {
        let plan = Plan([
            Graph(Pipeline([.local(try ZFS.snapshot([try snapshot("tank/fs@a")]))])),
            Graph(Pipeline([.local(try ZFS.destroy([try snapshot("tank/fs@old")]))])),
        ])
        XCTAssertEqual(Lowering.lower(plan).map { $0.pipelines[0].stages[0].label }, ["zfs snapshot", "zfs destroy"])
    }
}
