import Foundation
import XCTest

/// `--metrics-dir` and `zettabee metrics` against the fake tools.
final class FakeTierMetricsTests: XCTestCase {
    func makeWorld() throws -> OpsWorld {
        let world = try OpsWorld(configLines: [
            "src:tank/data   backup:backup/data   wlag=1h,clag=2h",
            "src:tank/other  backup:backup/other",
        ])
        try world.ctl("--host", "src", "create", "tank/other")
        return world
    }

    func sample(_ text: String, _ prefix: String) -> String? {
        text.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) }
    }

    func testEveryRunWritesEveryPairsMetrics() throws {
        let world = try makeWorld()
        let metricsDirectory = world.directory + "/metrics"
        try FileManager.default.createDirectory(atPath: metricsDirectory, withIntermediateDirectories: true)
        let file = metricsDirectory + "/zettabee.prom"

        // A dry run writes nothing.
        XCTAssertEqual(try world.zettabee("--metrics-dir", metricsDirectory, "-n", "initialize", "backup/data").exitCode, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))

        let initialized = try world.zettabee("--metrics-dir", metricsDirectory, "initialize", "backup/data")
        XCTAssertEqual(initialized.exitCode, 0, initialized.stderr)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let fingerprint = world.fingerprint
        let data = #"source="src:tank/data",destination="backup:backup/data",fingerprint="\#(fingerprint)""#
        XCTAssertEqual(sample(text, "zettabee_pair_state{\(data),state=\"synchronized\"}"),
                       "zettabee_pair_state{\(data),state=\"synchronized\"} 1")
        XCTAssertNotNil(sample(text, #"zettabee_pair_state{source="src:tank/other",destination="backup:backup/other""#),
                        "every configured pair, not only the one that ran:\n\(text)")
        XCTAssertTrue(text.contains(#"destination="backup:backup/other","#) && text.contains(#"state="uninitialized"} 1"#))
        XCTAssertEqual(sample(text, "zettabee_pair_last_run_success{\(data)}"), "zettabee_pair_last_run_success{\(data)} 1")
        let record = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(world.runDirectory)/\(fingerprint).last.json"))) as? [String: Any])
        if let bytes = record["bytes"] as? Int {
            XCTAssertEqual(sample(text, "zettabee_pair_last_run_bytes{\(data)}"), "zettabee_pair_last_run_bytes{\(data)} \(bytes)")
        } else {
            XCTAssertNil(sample(text, "zettabee_pair_last_run_bytes{\(data)}"), "no bytes measured: no sample")
        }
        XCTAssertNotNil(sample(text, "zettabee_pair_last_run_timestamp_seconds{\(data)} "))
        XCTAssertEqual(sample(text, "zettabee_pair_lag_critical_seconds{\(data)}"), "zettabee_pair_lag_critical_seconds{\(data)} 7200")
        XCTAssertEqual(sample(text, "zettabee_pair_running{\(data)}"), "zettabee_pair_running{\(data)} 0")
        XCTAssertEqual(sample(text, "zettabee_pairs "), "zettabee_pairs 2")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: metricsDirectory), ["zettabee.prom"],
                       "no temporary file is left behind")

        // `metrics` prints the same series (the generation time aside); status through the environment variable.
        try FileManager.default.removeItem(atPath: file)
        let printed = try world.zettabee("metrics")
        XCTAssertEqual(printed.exitCode, 0, printed.stderr)
        var environment = world.environment
        environment["ZETTABEE_METRICS_DIR"] = metricsDirectory
        let status = try TestProcess.run(
            PackagePaths.zettabee, ["-c", world.config, "--run-dir", world.runDirectory, "--log-dir", world.logDirectory, "status"],
            environment: environment, timeout: 60)
        XCTAssertEqual(status.exitCode, 0, status.stderr)
        // Lag is measured against the clock, so the two runs may be a second apart; every other series is equal.
        func series(_ text: String, _ clockBound: Bool) -> [String] {
            text.split(separator: "\n").map(String.init).filter {
                !$0.hasPrefix("zettabee_metrics_generated_timestamp_seconds")
                    && $0.hasPrefix("zettabee_pair_lag_seconds{") == clockBound
            }
        }
        let written = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertEqual(series(printed.stdout, false), series(written, false))
        let printedLag = series(printed.stdout, true), writtenLag = series(written, true)
        XCTAssertEqual(printedLag.count, writtenLag.count, "the same pairs have a lag sample")
        for (before, after) in zip(printedLag, writtenLag) {
            let beforeParts = before.split(separator: " "), afterParts = after.split(separator: " ")
            XCTAssertEqual(beforeParts.first, afterParts.first)
            let beforeSeconds = try XCTUnwrap(Double(String(beforeParts.last ?? ""))), afterSeconds = try XCTUnwrap(Double(String(afterParts.last ?? "")))
            XCTAssertTrue((0...5).contains(afterSeconds - beforeSeconds), "lag grows with the clock: \(before) then \(after)")
        }
    }

    func testMetricsOfOnePairAndCheckWritesTheFile() throws {
        let world = try makeWorld()
        let one = try world.zettabee("metrics", "backup/other")
        XCTAssertEqual(one.exitCode, 0, one.stderr)
        XCTAssertFalse(one.stdout.contains("backup:backup/data"))
        XCTAssertTrue(one.stdout.contains(#"destination="backup:backup/other""#))

        let metricsDirectory = world.directory + "/m"
        try FileManager.default.createDirectory(atPath: metricsDirectory, withIntermediateDirectories: true)
        _ = try world.zettabee("--metrics-dir", metricsDirectory, "check", "backup/data")
        let text = try String(contentsOfFile: metricsDirectory + "/zettabee.prom", encoding: .utf8)
        XCTAssertTrue(text.contains("zettabee_pairs 2"), "check of one pair still writes every pair's metrics")
    }

    func testUnwritableMetricsDirectoryIsOneReadableError() throws {
        let world = try makeWorld()
        let missing = world.directory + "/no/such/dir"
        let outcome = try world.zettabee("--metrics-dir", missing, "status")
        XCTAssertEqual(outcome.exitCode, 1)
        XCTAssertEqual(outcome.stderr,
                       "zettabee: error: status: cannot write metrics \(missing)/zettabee.prom: No such file or directory\n")
    }

    func testMetricsDirDoesNotApplyToOtherActions() throws {
        let world = try makeWorld()
        let outcome = try world.zettabee("--metrics-dir", world.directory, "logfile", "backup/data")
        XCTAssertEqual(outcome.exitCode, 2)
        XCTAssertTrue(outcome.stderr.contains("Option '--metrics-dir <dir>' does not apply to action 'logfile'"), outcome.stderr)
    }
}
