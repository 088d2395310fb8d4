import CommandGraph
import XCTest

final class RenderingTests: XCTestCase {
    func testMbufferGraphGolden() throws {
        let source = try SSHDestination(host: "src1", user: "root", port: 2222)
        let listener = Pipeline([
            .local(try Mbuffer.listen(port: 9090, options: try .init(memory: try ByteQuantity("1G")))),
            .local(ZFS.receive(into: try dataset("backup/my data"), force: true)),
        ])
        let sender = Pipeline(
            [.remote(ZFS.send(try snapshot("tank/my data@mon day")), on: source),
             .remote(try Mbuffer.send(toHost: "dst", port: 9090), on: source)],
            start: .afterTCPListening(port: 9090, pipelineIndex: 0, timeout: 30))
        let text = Rendering.render(Lowering.lower(Graph([listener, sender])))
        XCTAssertEqual(text, #"""
            mbuffer -q -m 1G -I 9090 | zfs receive -F 'backup/my data'
            # after port 9090 listens:
            ssh -o BatchMode=yes -p 2222 -- root@src1 '{ zfs send '\''tank/my data@mon day'\''; echo "@zettabee-stage 0 $?" >&2; } | mbuffer -q -O dst:9090'
            """#)
    }

    func testFilesOnStdinAndStdout() {
        let pipeline = LoweredPipeline(
            stages: [ProcessSpec(executable: "cat", arguments: []), ProcessSpec(executable: "zstd", arguments: ["-c"])],
            input: .file("in file"), output: .file("/tmp/out.zst", append: false))
        XCTAssertEqual(Rendering.render(pipeline), "cat | zstd -c < 'in file' > /tmp/out.zst")
        let appending = LoweredPipeline(
            stages: [ProcessSpec(executable: "cat", arguments: [])], output: .file("log", append: true))
        XCTAssertEqual(Rendering.render(appending), "cat >> log")
        let captured = LoweredPipeline(stages: [ProcessSpec(executable: "cat", arguments: [])], output: .capture(limit: 10))
        XCTAssertEqual(Rendering.render(captured), "cat")
    }

    func testSecretMaskedInRenderButPresentInArgv() throws {
        let command = Command("notify", [.flag("-k"), .secret("hunter2")], label: "notify")
        let lowered = Lowering.lower(Graph(Pipeline([.local(command)])))
        XCTAssertEqual(lowered.pipelines[0].stages[0].arguments, ["-k", "hunter2"])
        XCTAssertEqual(Rendering.render(lowered), "notify -k '***'")
    }

    func testPayloadOnStdinIsShownAsAComment() throws {
        let result = try NagiosCheckResult(host: "backup1", service: "zettabee tank/fs", status: .critical, output: "send failed")
        let nsca = try SendNSCA.command(server: "nagios", configFile: "/etc/send_nsca.cfg")
        let lowered = Lowering.lower(Graph(Pipeline([.local(nsca)], input: .bytes(try result.payload()))))
        XCTAssertEqual(Rendering.render(lowered), """
            # stdin: backup1\\tzettabee tank/fs\\t2\\tsend failed\\n
            send_nsca -H nagios -c /etc/send_nsca.cfg
            """)
    }

    func testPlanStepsAreSeparatedByAnEmptyLine() throws {
        let plan = Plan([
            Graph(Pipeline([.local(try ZFS.snapshot([try snapshot("tank/fs@a")]))])),
            Graph(Pipeline([.local(try ZFS.hold(try HoldTag("zettabee"), on: [try snapshot("tank/fs@a")]))])),
        ])
        XCTAssertEqual(
            Rendering.render(Lowering.lower(plan)), "zfs snapshot tank/fs@a\n\nzfs hold zettabee tank/fs@a")
    }
}
