import CommandGraph
import Foundation
import XCTest
@testable import Zettabee

final class PairIdentityTests: XCTestCase {
    let source = Endpoint(host: try! HostName("src"), dataset: try! DatasetName("tank/a"))
    let destination = Endpoint(host: try! HostName("dst"), dataset: try! DatasetName("backup/a"))

    func testFingerprintMatchesMd5sumOfTheOriginalsString() throws {
        let expected = try md5sum(Array("src:tank/a::dst:backup/a".utf8))
        XCTAssertEqual(Fingerprint(source: source, destination: destination).rawValue, expected)
    }

    func testFingerprintAcceptsOnlyLowercaseHex() {
        XCTAssertNotNil(Fingerprint("0123456789abcdef0123456789abcdef"))
        XCTAssertNil(Fingerprint("0123456789ABCDEF0123456789ABCDEF"))
        XCTAssertNil(Fingerprint("0123456789abcdef"))
        XCTAssertNil(Fingerprint("g123456789abcdef0123456789abcdef"))
    }

    func testPropertyNames() {
        let fingerprint = Fingerprint(source: source, destination: destination)
        let properties = PairProperties(fingerprint)
        XCTAssertEqual(properties.source, "zettabee:\(fingerprint):source")
        XCTAssertEqual(properties.destination, "zettabee:\(fingerprint):destination")
        XCTAssertEqual(properties.lastSnapshot, "zettabee:\(fingerprint):lastsnap")
        XCTAssertEqual(PairProperties.fingerprint, "zettabee:fingerprint")
        XCTAssertEqual(properties.all.count, 4)
    }

    func testSnapshotNameInUTC() throws {
        let fingerprint = Fingerprint(source: source, destination: destination)
        // 2026-11-26 17:59:00 UTC
        let date = Date(timeIntervalSince1970: 1_795_715_940)
        let name = PairSnapshotName(fingerprint: fingerprint, date: date)
        XCTAssertEqual(name.description, "zettabee.\(fingerprint).20261126175900UTC")
        XCTAssertEqual(name.date, date)
        XCTAssertEqual(try name.snapshot(of: destination.dataset).rawValue, "backup/a@zettabee.\(fingerprint).20261126175900UTC")
    }

    func testSnapshotNameInALocalZoneKeepsItsAbbreviation() throws {
        let fingerprint = Fingerprint(source: source, destination: destination)
        let time = CivilTime(year: 2026, month: 11, day: 26, hour: 9, minute: 59, second: 0)
        let name = try XCTUnwrap(PairSnapshotName(fingerprint: fingerprint, time: time, zone: "PST"))
        XCTAssertEqual(name.description, "zettabee.\(fingerprint).20261126095900PST")
        XCTAssertNil(PairSnapshotName(fingerprint: fingerprint, time: time, zone: "+03"))
        XCTAssertNil(PairSnapshotName(fingerprint: fingerprint, time: time, zone: ""))
    }

    func testHostLocalNameParsesBack() throws {
        let fingerprint = Fingerprint(source: source, destination: destination)
        let name = PairSnapshotName.hostLocal(fingerprint: fingerprint, date: Date(timeIntervalSince1970: 1_795_715_940))
        XCTAssertEqual(PairSnapshotName(parsing: name.description), name)
    }

    func testSnapshotNameRoundTrips() {
        let fingerprint = Fingerprint(source: source, destination: destination)
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<1000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int64.random(in: 0...4_102_444_800, using: &generator)))
            let name = PairSnapshotName(fingerprint: fingerprint, date: date)
            let parsed = PairSnapshotName(parsing: name.description)
            XCTAssertEqual(parsed, name)
            XCTAssertEqual(parsed?.date, date)
        }
    }

    func testParsesZonesTheOriginalWrote() throws {
        let fingerprint = "3f0c33ab2e8e4b1d8a4d1e0c9b7a65c2"
        for zone in ["CET", "CEST", "PDT", "UTC", "GMT"] {
            let parsed = try XCTUnwrap(PairSnapshotName(parsing: "zettabee.\(fingerprint).20120301120000\(zone)"))
            XCTAssertEqual(parsed.zone, zone)
            XCTAssertEqual(parsed.fingerprint.rawValue, fingerprint)
            XCTAssertEqual(parsed.time, CivilTime(year: 2012, month: 3, day: 1, hour: 12, minute: 0, second: 0))
        }
        let cet = try XCTUnwrap(PairSnapshotName(parsing: "zettabee.\(fingerprint).20120301120000CET"))
        XCTAssertEqual(cet.date, Date(timeIntervalSince1970: 1_330_599_600))
        let pdt = try XCTUnwrap(PairSnapshotName(parsing: "zettabee.\(fingerprint).20120701120000PDT"))
        XCTAssertEqual(pdt.date, Date(timeIntervalSince1970: 1_341_169_200))
        XCTAssertNil(try XCTUnwrap(PairSnapshotName(parsing: "zettabee.\(fingerprint).20120701120000QQQ")).date)
    }

    func testRejectsNamesThatAreNotZettabees() {
        let fingerprint = "3f0c33ab2e8e4b1d8a4d1e0c9b7a65c2"
        for name in [
            "monday", "zettabee.", "zettabee.\(fingerprint)", "zettabee.\(fingerprint).20120301120000",
            "zettabee.\(fingerprint).2012030112000UTC", "zettabee.\(fingerprint).20121301120000UTC",
            "zettabee.\(fingerprint).20120230120000UTC", "zettabee.\(fingerprint).20120301250000UTC",
            "zettabee.\(fingerprint).20120301120000GMT1", "zettabee.\(fingerprint).20120301120000UTC.x",
            "zettabee.\(fingerprint.uppercased()).20120301120000UTC", "zettabee.xyz.20120301120000UTC",
        ] {
            XCTAssertNil(PairSnapshotName(parsing: name), name)
        }
    }

    func testRecognisesThisPairsSnapshots() throws {
        let fingerprint = Fingerprint(source: source, destination: destination)
        let other = Fingerprint("0123456789abcdef0123456789abcdef")!
        let mine = try SnapshotName(parsing: "backup/a@zettabee.\(fingerprint).20261126175900UTC")
        let theirs = try SnapshotName(parsing: "backup/a@zettabee.\(other).20261126175900UTC")
        let manual = try SnapshotName(parsing: "backup/a@before-upgrade")
        XCTAssertTrue(PairSnapshotName.isSnapshot(mine, of: fingerprint))
        XCTAssertFalse(PairSnapshotName.isSnapshot(theirs, of: fingerprint))
        XCTAssertFalse(PairSnapshotName.isSnapshot(manual, of: fingerprint))
    }

    func testLockAndLogPaths() {
        let fingerprint = Fingerprint("0123456789abcdef0123456789abcdef")!
        let files = PairFiles(runDirectory: "/local/var/run/zettabee", logDirectory: "/local/var/log/zettabee/")
        XCTAssertEqual(files.lockPath(for: fingerprint), "/local/var/run/zettabee/0123456789abcdef0123456789abcdef.lck")
        XCTAssertEqual(files.logPath(for: fingerprint), "/local/var/log/zettabee/0123456789abcdef0123456789abcdef.log")
    }

    func testLogLineFormat() {
        let fingerprint = Fingerprint("0123456789abcdef0123456789abcdef")!
        let line = LogLine.format(date: Date(timeIntervalSince1970: 1_795_715_940.75), fingerprint: fingerprint,
                                  pid: 4242, level: .info, message: "update started")
        XCTAssertEqual(line, "[2026-11-26T17:59:00Z] zettabee:0123456789abcdef0123456789abcdef [4242] INFO update started")
    }

    func testLogLineKeepsAMessageOnOneLine() {
        let fingerprint = Fingerprint("0123456789abcdef0123456789abcdef")!
        let line = LogLine.format(date: Date(timeIntervalSince1970: 0), fingerprint: fingerprint, pid: 1,
                                  level: .error, message: "cannot receive\nfake line\r\u{1b}[31m")
        XCTAssertEqual(line, "[1970-01-01T00:00:00Z] zettabee:0123456789abcdef0123456789abcdef [1] ERROR cannot receive\\nfake line\\r\\x1b[31m")
    }

    func testCivilTimeMatchesEpochArithmeticBothWays() {
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<2000 {
            let epoch = Int64.random(in: -2_000_000_000...8_000_000_000, using: &generator)
            let time = CivilTime(epochSeconds: epoch)
            XCTAssertEqual(time.epochSeconds, epoch)
            XCTAssertTrue(time.isValid)
        }
        XCTAssertEqual(CivilTime(epochSeconds: 951_782_400).isoText, "2000-02-29T00:00:00")
        XCTAssertFalse(CivilTime(year: 2100, month: 2, day: 29, hour: 0, minute: 0, second: 0).isValid)
    }
}
