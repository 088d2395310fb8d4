import Foundation
import XCTest
@testable import Zettabee

/// The Prometheus text `zettabee metrics` prints and `--metrics-dir` writes.
final class MetricsTextTests: XCTestCase {
    func pair(_ line: String = "src:tank/data  backup:backup/data  wlag=1h,clag=2h,wrun=30m,crun=1h") throws -> Pair {
        try XCTUnwrap(try ConfigParser.parse(fileName: "t.cfg", text: line + "\n").first)
    }

    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func samples(_ text: String, _ name: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
    }

    func testSynchronizedPairWithLastRun() throws {
        let pair = try pair()
        let run = RunRecord(
            action: "update", start: now.addingTimeInterval(-70), end: now.addingTimeInterval(-60.5), result: .success,
            message: "base x", bytes: 1_048_576, snapshot: "x", nagios: .ok)
        let status = PairStatus(
            pair: pair, condition: .synchronized(base: "x"), problem: nil, activity: .idle, runtime: nil, lag: 300,
            base: "x", baseCreated: now.addingTimeInterval(-300), lock: .free, lastRun: run, flags: LagFlags())
        let text = MetricsFormatter.text([status], now: now)
        let labels = #"source="src:tank/data",destination="backup:backup/data",fingerprint="\#(pair.fingerprint)""#
        XCTAssertEqual(samples(text, "zettabee_pair_state"), MetricsFormatter.states.map {
            "zettabee_pair_state{\(labels),state=\"\($0)\"} \($0 == "synchronized" ? 1 : 0)"
        })
        XCTAssertEqual(samples(text, "zettabee_pair_lag_seconds"), ["zettabee_pair_lag_seconds{\(labels)} 300"])
        XCTAssertEqual(samples(text, "zettabee_pair_lag_warning_seconds"), ["zettabee_pair_lag_warning_seconds{\(labels)} 3600"])
        XCTAssertEqual(samples(text, "zettabee_pair_lag_critical_seconds"), ["zettabee_pair_lag_critical_seconds{\(labels)} 7200"])
        XCTAssertEqual(samples(text, "zettabee_pair_run_warning_seconds"), ["zettabee_pair_run_warning_seconds{\(labels)} 1800"])
        XCTAssertEqual(samples(text, "zettabee_pair_run_critical_seconds"), ["zettabee_pair_run_critical_seconds{\(labels)} 3600"])
        XCTAssertEqual(samples(text, "zettabee_pair_running"), ["zettabee_pair_running{\(labels)} 0"])
        XCTAssertEqual(samples(text, "zettabee_pair_running_seconds"), [])
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_success"), ["zettabee_pair_last_run_success{\(labels)} 1"])
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_timestamp_seconds"),
                       ["zettabee_pair_last_run_timestamp_seconds{\(labels)} 1799999939"])
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_duration_seconds"),
                       ["zettabee_pair_last_run_duration_seconds{\(labels)} 9.5"])
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_bytes"), ["zettabee_pair_last_run_bytes{\(labels)} 1048576"])
        XCTAssertEqual(samples(text, "zettabee_pair_health"), ["zettabee_pair_health{\(labels)} 0"])
        XCTAssertEqual(samples(text, "zettabee_pairs"), ["zettabee_pairs 1"])
        XCTAssertEqual(samples(text, "zettabee_metrics_generated_timestamp_seconds"),
                       ["zettabee_metrics_generated_timestamp_seconds 1800000000"])
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    func testEveryFamilyHasHelpAndTypeOnceBeforeItsSamples() throws {
        let running = PairStatus(
            pair: try pair("src:tank/a  backup:backup/a"), condition: nil, problem: "ssh failed", activity: .running,
            runtime: 42, lag: nil, base: nil, baseCreated: nil,
            lock: .held(LockHolder(pid: 1, started: 0, action: "update")), lastRun: nil, flags: LagFlags(locked: true))
        let text = MetricsFormatter.text([running], now: now)
        var seen: Set<String> = []
        var current: String?
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                XCTAssertFalse(seen.contains(name), "HELP twice for \(name)")
                seen.insert(name)
                current = name
            } else if line.hasPrefix("# TYPE ") {
                XCTAssertEqual(line, "# TYPE \(current ?? "?") gauge")
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                XCTAssertEqual(name, current, line)
            }
        }
        XCTAssertTrue(samples(text, "zettabee_pair_state").contains { $0.hasSuffix(#"state="unknown"} 1"#) })
        XCTAssertEqual(samples(text, "zettabee_pair_running").count, 1)
        XCTAssertTrue(samples(text, "zettabee_pair_running")[0].hasSuffix(" 1"))
        XCTAssertTrue(samples(text, "zettabee_pair_running_seconds")[0].hasSuffix(" 42"))
        XCTAssertTrue(samples(text, "zettabee_pair_locked")[0].hasSuffix(" 1"))
        XCTAssertEqual(samples(text, "zettabee_pair_lag_seconds"), [], "no base: no lag sample")
        XCTAssertEqual(samples(text, "zettabee_pair_lag_warning_seconds"), [], "no wlag: no sample")
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_success"), [], "no run yet: no sample")
        XCTAssertTrue(samples(text, "zettabee_pair_health")[0].hasSuffix(" 3"))
    }

    func testFailedRunWithoutBytes() throws {
        let run = RunRecord(
            action: "update", start: now, end: now.addingTimeInterval(2), result: .failure, message: "boom", bytes: nil,
            snapshot: nil, nagios: .critical)
        let status = PairStatus(
            pair: try pair(), condition: .inconsistent("GUID mismatch"), problem: "GUID mismatch", activity: .idle,
            runtime: nil, lag: nil, base: nil, baseCreated: nil, lock: .stale(nil), lastRun: run,
            flags: LagFlags(locked: true))
        let text = MetricsFormatter.text([status], now: now)
        XCTAssertTrue(samples(text, "zettabee_pair_last_run_success")[0].hasSuffix(" 0"))
        XCTAssertTrue(samples(text, "zettabee_pair_last_run_duration_seconds")[0].hasSuffix(" 2"))
        XCTAssertEqual(samples(text, "zettabee_pair_last_run_bytes"), [])
        XCTAssertTrue(samples(text, "zettabee_pair_state").contains { $0.hasSuffix(#"state="inconsistent"} 1"#) })
        XCTAssertTrue(samples(text, "zettabee_pair_running")[0].hasSuffix(" 0"), "a stale lock is not a run")
    }

    func testLabelEscaping() {
        XCTAssertEqual(MetricsFormatter.escapeLabel(#"a\b"c"# + "\nd"), #"a\\b\"c\nd"#)
        XCTAssertEqual(MetricsFormatter.escapeLabel("[fd00::5]:tank/x"), "[fd00::5]:tank/x")
        XCTAssertEqual(MetricsFormatter.escapeHelp("a\\b\nc"), #"a\\b\nc"#)
    }

    func testNoPairs() {
        let text = MetricsFormatter.text([], now: now)
        XCTAssertTrue(text.contains("\nzettabee_pairs 0\n"))
        XCTAssertFalse(text.contains("{"))
    }
}
