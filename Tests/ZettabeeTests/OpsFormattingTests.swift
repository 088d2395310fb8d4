import CommandGraph
import Foundation
import XCTest
@testable import Zettabee

/// Status formatting, threshold judgement, check output and purge planning: pure functions.
final class OpsFormattingTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func pair(_ thresholds: Thresholds = Thresholds(), keep: Int = 10, mbufferPort: Int? = nil) throws -> Pair {
        var options = PairOptions(thresholds: thresholds, keep: keep)
        if let mbufferPort { options.transport = .mbuffer(MbufferOptions(port: TCPPort(mbufferPort)!)) }
        return Pair(
            source: Endpoint(host: try HostName("src"), dataset: try DatasetName("tank/data")),
            destination: Endpoint(host: try HostName("backup"), dataset: try DatasetName("backup/data")), options: options)
    }

    /// Both sides holding `base` (created `age` seconds before `now`) with the same GUID.
    func synchronized(_ pair: Pair, age: Int) throws -> (DatasetState, DatasetState, String) {
        let base = PairSnapshotName(fingerprint: pair.fingerprint, date: now.addingTimeInterval(-Double(age))).description
        let record = { (dataset: DatasetName) in
            SnapshotRecord(snapshot: try dataset.snapshot(base), guid: "42", createTXG: 7, creation: Int64(self.now.timeIntervalSince1970) - Int64(age))
        }
        let properties = [pair.properties.lastSnapshot: PropertyValue(text: base, source: .local)]
        let source = DatasetState(dataset: pair.source.dataset, exists: true, properties: properties, snapshots: [try record(pair.source.dataset)])
        var destinationProperties = properties
        destinationProperties[PairProperties.fingerprint] = PropertyValue(text: pair.fingerprint.description, source: .local)
        let destination = DatasetState(
            dataset: pair.destination.dataset, exists: true, properties: destinationProperties,
            snapshots: [try record(pair.destination.dataset)])
        return (source, destination, base)
    }

    func testSynchronizedPairOverClagIsFlaggedAndCritical() throws {
        let pair = try pair(Thresholds(warningLag: TimeSpan(seconds: 3600), criticalLag: TimeSpan(seconds: 14400)))
        let (source, destination, base) = try synchronized(pair, age: 18131)
        let status = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: nil, now: now)
        XCTAssertEqual(status.stateName, "Synchronized")
        XCTAssertEqual(status.lag, 18131)
        XCTAssertEqual(status.base, base)
        XCTAssertEqual(status.flags, LagFlags(locked: false, overWarning: true, overCritical: true))
        XCTAssertEqual(status.activity, .idle)
        XCTAssertEqual(StatusFormatter.fields(status, full: false, scripted: false),
                       ["src:tank/data", "backup:backup/data", "Synchronized", "5:02:11+!", "Idle (0:00:00)"])
        XCTAssertEqual(StatusFormatter.scripted([status], full: true),
                       ["src:tank/data\tbackup:backup/data\tSynchronized\t18131\t+!\tIdle\t-\t\(base)\t-\t\(pair.fingerprint)"])
        let health = Health.of(status)
        XCTAssertEqual(health.status, .critical)
        XCTAssertEqual(health.reasons.first, "lag 5:02:11 over clag 4:00:00")
    }

    func testHeldLockMakesRunningWithRuntimeAndLFlag() throws {
        let pair = try pair(Thresholds(warningRun: TimeSpan(seconds: 60), criticalRun: TimeSpan(seconds: 600)))
        let (source, destination, _) = try synchronized(pair, age: 30)
        let holder = LockHolder(pid: 77, started: now.timeIntervalSince1970 - 125, action: "update")
        let status = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .held(holder), lastRun: nil, now: now)
        XCTAssertEqual(status.activity, .running)
        XCTAssertEqual(status.runtime, 125)
        XCTAssertEqual(status.flags.text, "L")
        XCTAssertEqual(StatusFormatter.fields(status, full: false, scripted: false)[3...], ["0:00:30L", "Running (0:02:05)"])
        XCTAssertEqual(Health.of(status).status, .warning)
        let initializing = PairStatus.assess(
            pair: pair, source: source, destination: destination,
            lock: .held(LockHolder(pid: 1, started: now.timeIntervalSince1970, action: "initialize")), lastRun: nil, now: now)
        XCTAssertEqual(initializing.activity, .initializing)
    }

    func testResumableAndStaleLock() throws {
        let pair = try pair()
        let (source, destination, _) = try synchronized(pair, age: 5)
        let status = PairStatus.assess(
            pair: pair, source: source, destination: destination, resumeTokenSet: true,
            lock: .stale(LockHolder(pid: 9, started: 0, action: "update")), lastRun: nil, now: now)
        XCTAssertEqual(status.activity, .resumable)
        XCTAssertTrue(status.flags.locked)
    }

    func testUninitializedInconsistentAndUnknown() throws {
        let pair = try pair(mbufferPort: 9123)
        let uninitialized = PairStatus.assess(
            pair: pair, source: DatasetState(dataset: pair.source.dataset, exists: true), destination: .missing(pair.destination.dataset),
            lock: .free, lastRun: nil, now: now)
        XCTAssertEqual(uninitialized.stateName, "Uninitialized")
        XCTAssertNil(uninitialized.lag)
        XCTAssertEqual(StatusFormatter.fields(uninitialized, full: true, scripted: false)[3...],
                       ["-", "-:9123", "Idle (0:00:00)"])
        XCTAssertEqual(Health.of(uninitialized).status, .warning)

        var (source, destination, _) = try synchronized(pair, age: 5)
        destination.snapshots[0].guid = "43"
        let inconsistent = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: nil, now: now)
        XCTAssertEqual(inconsistent.stateName, "Inconsistent!")
        XCTAssertEqual(Health.of(inconsistent).status, .critical)
        XCTAssertTrue(inconsistent.problem!.contains("GUID mismatch"))

        let unknown = PairStatus.assess(pair: pair, source: nil, destination: nil, queryProblem: "ssh failed", lock: .free, lastRun: nil, now: now)
        XCTAssertEqual(unknown.stateName, "Unknown")
        XCTAssertEqual(Health.of(unknown).status, .unknown)
    }

    func testTableIsAlignedWithHeading() throws {
        let pair = try pair()
        let (source, destination, _) = try synchronized(pair, age: 5)
        let status = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: nil, now: now)
        let lines = StatusFormatter.table([status, status], full: false)
        XCTAssertEqual(lines[0], "SOURCE         DESTINATION         STATE         LAG      STATUS")
        XCTAssertEqual(lines[1], "src:tank/data  backup:backup/data  Synchronized  0:00:05  Idle (0:00:00)")
        // Without the heading (not a terminal) the rows stay as they are.
        XCTAssertEqual(StatusFormatter.table([status], full: false, heading: false), [lines[1]])
        let full = StatusFormatter.table([status], full: true)
        XCTAssertEqual(full[0].split(separator: " ", omittingEmptySubsequences: true), ["SOURCE", "DESTINATION", "STATE", "LAG", "BASE:PORT", "STATUS"])
        XCTAssertTrue(full[1].hasSuffix(":-  Idle (0:00:00)"), full[1])
    }

    func testJSONCarriesEveryField() throws {
        let pair = try pair(Thresholds(warningLag: TimeSpan(seconds: 60)))
        let (source, destination, base) = try synchronized(pair, age: 90)
        let last = RunRecord(
            action: "update", start: now.addingTimeInterval(-100), end: now.addingTimeInterval(-90), result: .success,
            message: "base x", bytes: 1234, snapshot: base, nagios: .ok)
        let status = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: last, now: now)
        let object = try JSONSerialization.jsonObject(with: Data(StatusFormatter.json([status], now: now).utf8)) as! [String: Any]
        let entry = (object["pairs"] as! [[String: Any]])[0]
        XCTAssertEqual(entry["lagSeconds"] as? Int, 90)
        XCTAssertEqual(entry["state"] as? String, "Synchronized")
        XCTAssertEqual(entry["status"] as? String, "Idle")
        XCTAssertEqual(entry["base"] as? String, base)
        XCTAssertEqual(entry["baseCreated"] as? String, StatusFormatter.iso(now.addingTimeInterval(-90)))
        XCTAssertEqual((entry["thresholds"] as! [String: Any])["wlag"] as? Int, 60)
        XCTAssertTrue((entry["thresholds"] as! [String: Any])["clag"] is NSNull)
        XCTAssertEqual((entry["flags"] as! [String: Any])["overWarningLag"] as? Bool, true)
        let lastRun = entry["lastRun"] as! [String: Any]
        XCTAssertEqual(lastRun["bytes"] as? Int, 1234)
        XCTAssertEqual(lastRun["durationSeconds"] as? Double, 10)
        XCTAssertEqual(lastRun["result"] as? String, "success")
        XCTAssertEqual((entry["health"] as! [String: Any])["status"] as? String, "WARNING")
        XCTAssertEqual(object["generated"] as? String, StatusFormatter.iso(now))
    }

    func testCheckReportTakesTheWorstPair() throws {
        let pair = try pair(Thresholds(warningLag: TimeSpan(seconds: 60), criticalLag: TimeSpan(seconds: 120)))
        let (source, destination, _) = try synchronized(pair, age: 30)
        let ok = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: nil, now: now)
        XCTAssertEqual(CheckReport.render([ok]).line, "ZETTABEE OK - backup/data Synchronized, lag 0:00:30|lag=30s;60;120;0")
        XCTAssertEqual(CheckReport.render([ok]).status, .ok)
        let late = PairStatus.assess(pair: pair, source: source, destination: destination, lock: .free, lastRun: nil, now: now.addingTimeInterval(100))
        let (status, line) = CheckReport.render([ok, late])
        XCTAssertEqual(status, .critical)
        XCTAssertTrue(line.hasPrefix("ZETTABEE CRITICAL - backup/data Synchronized, lag 0:00:30; backup/data CRITICAL: lag 0:02:10 over clag 0:02:00|"), line)
    }

    func testThresholdJudgement() {
        let thresholds = Thresholds(warningLag: TimeSpan(seconds: 10), criticalLag: TimeSpan(seconds: 20),
                                    warningRun: TimeSpan(seconds: 5), criticalRun: TimeSpan(seconds: 8))
        XCTAssertNil(thresholds.judge(lag: 10))
        XCTAssertEqual(thresholds.judge(lag: 11)?.0, .warning)
        XCTAssertEqual(thresholds.judge(lag: 21)?.0, .critical)
        XCTAssertEqual(thresholds.judge(run: 6)?.1, "run time 0:00:06 over wrun 0:00:05")
        XCTAssertEqual(Health.ofOverlap(thresholds: thresholds, runningFor: 9).status, .critical)
        XCTAssertEqual(Health.ofOverlap(thresholds: thresholds, runningFor: 1).status, .ok)
        XCTAssertEqual(Health.ofSuccess(thresholds: thresholds, lag: 3, runSeconds: 3).status, .ok)
        XCTAssertNil(Thresholds().judge(lag: 1_000_000))
    }

    func testPurgePlanKeepsNewestBaseHeldAndForeign() throws {
        let pair = try pair(keep: 2)
        let fp = pair.fingerprint
        let names = (0..<5).map { PairSnapshotName(fingerprint: fp, date: now.addingTimeInterval(Double($0) * 60)).description }
        let dataset = pair.destination.dataset
        var destination = try names.enumerated().map { index, name in
            PurgeCandidate(snapshot: try dataset.snapshot(name), guid: "g\(index)", createTXG: UInt64(index + 1), userRefs: 0)
        }
        destination[1].userRefs = 1
        destination.append(PurgeCandidate(snapshot: try dataset.snapshot("manual"), guid: "m", createTXG: 1, userRefs: 0))
        // Base is the newest on the destination; index 0 is the oldest.
        let plan = PurgePlan.make(fingerprint: fp, base: names[4], keep: 2, source: [], destination: destination)
        XCTAssertEqual(plan.destination.map(\.name), [names[0], names[2]])
        XCTAssertEqual(plan.keptHeld.map(\.name), [names[1]])

        let source = try [
            PurgeCandidate(snapshot: try pair.source.dataset.snapshot(names[3]), guid: "stale", createTXG: 3, userRefs: 0),
            PurgeCandidate(snapshot: try pair.source.dataset.snapshot(names[4]), guid: "g4", createTXG: 4, userRefs: 0),
            PurgeCandidate(snapshot: try pair.source.dataset.snapshot("other"), guid: "o", createTXG: 5, userRefs: 0),
        ]
        let sourcePlan = PurgePlan.make(fingerprint: fp, base: names[4], keep: 10, source: source, destination: destination)
        XCTAssertEqual(sourcePlan.source.map(\.name), [names[3]])
        XCTAssertTrue(sourcePlan.destination.isEmpty)
    }

    func testProgressLineAndRecordRoundTrip() throws {
        var progress = RunProgress(action: "update", pid: 1, started: now)
        progress.phase = "transfer"
        progress.estimatedBytes = 20 << 20
        progress.record(bytes: 5 << 20, elapsed: 2.5)
        XCTAssertEqual(ProgressText.line(progress), "update transfer: 5.0 MiB of 20.0 MiB (25%) at 2.0 MiB/s, elapsed 0:00:02, ETA 0:00:08")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let record = RunRecord(action: "update", start: now, end: now.addingTimeInterval(4), result: .failure, message: "boom", bytes: nil, snapshot: nil, nagios: .critical)
        try record.save(to: directory + "/x.last.json")
        XCTAssertEqual(RunRecord.load(from: directory + "/x.last.json"), record)
        XCTAssertEqual(ProgressText.summary(record), "update failed in 0:00:04, boom")
    }
}
