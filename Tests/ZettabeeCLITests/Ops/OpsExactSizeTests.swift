import Foundation
import XCTest

/// A finished transfer's exact size: the stream's bytes as the stage feeding `zfs receive` wrote them,
/// from its counters as it ended, in the log, the last-run record, `status --json` and the Nagios
/// performance data. The expected size is the same `zfs send` (the argv zettabee ran, from the fake's
/// call log) run again by the test and counted with `wc -c`.
final class OpsExactSizeTests: XCTestCase {
    /// Over ssh with zstd the stage feeding `zfs receive` is the real `zstd -d`.
    func testADecompressedTransferRecordsTheExactStreamSize() throws {
        try assertExactSizes(compress: "zstd", counter: "zstd -d")
    }

    /// Over plain ssh the stage feeding `zfs receive` is `cat`.
    func testAPlainSSHTransferRecordsTheExactStreamSize() throws {
        try assertExactSizes(compress: "none", counter: "cat")
    }

    /// `exactsize=no`: no `cat` between ssh and `zfs receive` (the dry run shows the pipeline, and the
    /// default's `cat`); the size recorded is the receive's read count, which includes the stream.
    func testExactsizeNoRecordsTheReceivesReadCount() throws {
        let world = try OpsWorld(configLines: [
            "src:tank/data  backup:pool/copy  exactsize=no", "src:tank/data  backup:pool/counted",
        ])
        try world.ctl("--host", "backup", "create-pool", "pool")
        let counted = try world.zettabee("--dry-run", "initialize", "pool/counted")
        XCTAssertNotNil(counted.stdout.range(of: #"' \| cat \| zfs receive [^|]*pool/counted\n"#, options: .regularExpression), counted.stdout)
        let plain = try world.zettabee("--dry-run", "initialize", "pool/copy")
        XCTAssertNotNil(plain.stdout.range(of: #"' \| zfs receive [^|]*pool/copy\n"#, options: .regularExpression), plain.stdout)

        let fingerprint = try XCTUnwrap(
            try world.zettabee("fingerprint", "pool/copy").stdout.split(separator: "\n").first.map(String.init))
        let callsBefore = callCount(world)
        let outcome = try world.zettabee("initialize", "pool/copy")
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        let sent = try lastSend(world, after: callsBefore)
        let snapshot = try XCTUnwrap(sent.last?.split(separator: "@").last.map(String.init))
        let flags = sent.filter { $0.hasPrefix("-") }
        let expected = try streamSize(world, host: "backup", sendArgv: ["send"] + flags + ["pool/copy@\(snapshot)"])
        let log = (try? String(contentsOfFile: "\(world.logDirectory)/\(fingerprint).log", encoding: .utf8)) ?? ""
        let line = try XCTUnwrap(log.split(separator: "\n").first { $0.contains("transfer: about ") }, log)
        let recorded = try XCTUnwrap(line.split(separator: " ").drop { $0 != "about" }.dropFirst().first.flatMap { UInt64($0) }, String(line))
        XCTAssertGreaterThanOrEqual(recorded, expected, "the read count includes the stream")
        let record = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(world.runDirectory)/\(fingerprint).last.json"))) as? [String: Any]
        XCTAssertEqual((record?["bytes"] as? NSNumber)?.uint64Value, recorded)
    }

    /// An initialize and three updates of the pair `pool/copy` sent with `compress`. The expected size: the
    /// same send (flags from the fake's call log) of the destination's copy, whose name has the length of
    /// the source's (the fake stream carries the names), counted with `wc -c`; the destination keeps every
    /// snapshot it received, the source only the base.
    private func assertExactSizes(compress: String, counter: String) throws {
        let world = try OpsWorld(configLines: ["src:tank/data  backup:pool/copy  compress=\(compress)"])
        try world.ctl("--host", "backup", "create-pool", "pool")
        let fingerprint = try XCTUnwrap(
            try world.zettabee("fingerprint", "pool/copy").stdout.split(separator: "\n").first.map(String.init))
        var base: String?
        // Short ones (no progress sample would have seen them) and longer ones alike.
        for (action, size) in [("initialize", ""), ("update", "3M"), ("update", "40K"), ("update", "1")] {
            if !size.isEmpty { try world.ctl("--host", "src", "write", "tank/data", size) }
            let callsBefore = callCount(world)
            let outcome = try TestProcess.run(
                PackagePaths.zettabee,
                ["-c", world.config, "--run-dir", world.runDirectory, "--log-dir", world.logDirectory,
                 "-N", "nagios.example", "--send-nsca-config", world.nscaConfig, action, "pool/copy"],
                environment: world.environment, timeout: 60)
            XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
            XCTAssertEqual(outcome.stderr, "")
            let sent = try lastSend(world, after: callsBefore)
            let snapshot = try XCTUnwrap(sent.last?.split(separator: "@").last.map(String.init))
            let flags = sent.filter { $0.hasPrefix("-") && $0 != "-i" && $0 != "-I" }
            let incremental = base.map { ["-i", "pool/copy@\($0)"] } ?? []
            let expected = try streamSize(world, host: "backup", sendArgv: ["send"] + flags + incremental + ["pool/copy@\(snapshot)"])
            XCTAssertGreaterThan(expected, 0)
            base = snapshot

            let log = (try? String(contentsOfFile: "\(world.logDirectory)/\(fingerprint).log", encoding: .utf8)) ?? ""
            let done = log.split(separator: "\n").last { $0.contains("\(action) done:") }.map(String.init) ?? ""
            XCTAssertTrue(done.contains(", \(expected) bytes ("), "\(action) \(size): \(done)")
            XCTAssertTrue(log.contains("transfer: \(expected) bytes, exactly as \(counter) wrote them"), log)

            let record = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(world.runDirectory)/\(fingerprint).last.json"))) as? [String: Any]
            XCTAssertEqual((record?["bytes"] as? NSNumber)?.uint64Value, expected, "\(action) \(size)")

            let status = try world.zettabee("status", "--json", "pool/copy")
            let pairs = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["pairs"] as? [[String: Any]]
            let lastRun = pairs?.first?["lastRun"] as? [String: Any]
            XCTAssertEqual((lastRun?["bytes"] as? NSNumber)?.uint64Value, expected, status.stdout)

            let output = world.nscaResults().last?["output"] as? String ?? ""
            XCTAssertTrue(output.hasSuffix(" bytes=\(expected)B"), output)
        }
    }

    private func callCount(_ world: OpsWorld) -> Int {
        ((try? String(contentsOfFile: world.world + "/calls.log", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The argv of the last real `zfs send` (not an `-n` estimate) on `src` after line `after` of the call log.
    private func lastSend(_ world: OpsWorld, after: Int) throws -> [String] {
        let text = (try? String(contentsOfFile: world.world + "/calls.log", encoding: .utf8)) ?? ""
        let sends = text.split(separator: "\n").dropFirst(after).compactMap { line -> [String]? in
            guard let call = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                call["tool"] as? String == "zfs", call["host"] as? String == "src",
                let argv = call["argv"] as? [String], argv.first == "send", !argv.contains("-n")
            else { return nil }
            return argv
        }
        return try XCTUnwrap(sends.last, "no zfs send in the call log")
    }

    /// `zfs send ARGV | wc -c` on `host`.
    private func streamSize(_ world: OpsWorld, host: String, sendArgv: [String]) throws -> UInt64 {
        var environment = world.environment
        environment["ZFAKE_HOST"] = host
        let quoted = sendArgv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let outcome = try TestProcess.run("/bin/sh", ["-c", "zfs \(quoted) | wc -c"], environment: environment, timeout: 30)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        return try XCTUnwrap(UInt64(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), outcome.stdout)
    }
}
