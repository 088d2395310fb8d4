import CommandGraph
import Foundation
import XCTest
@testable import Zettabee

final class ZFSOutputTests: XCTestCase {
    let fp = "3f0c33ab2e8e4b1d8a4d1e0c9b7a65c2"

    func testPropertyTable() throws {
        let output = """
            backup/a\tzettabee:\(fp):lastsnap\tbackup/a@zettabee.\(fp).20261126175900UTC\tlocal
            backup/a\tzettabee:fingerprint\t-\t-
            backup/a\treceive_resume_token\t-\t-
            backup/a\treadonly\toff\ttemporary
            backup/a\tcompression\tlz4\tinherited from backup
            backup/a@zettabee.\(fp).20261126175900UTC\tzettabee:\(fp):source\tsrc:tank/a\tinherited from backup/a
            backup\tatime\ton\tdefault

            """
        let table = try PropertyTable.parse(output)
        XCTAssertEqual(table.value(of: "zettabee:\(fp):lastsnap", on: "backup/a"), "backup/a@zettabee.\(fp).20261126175900UTC")
        XCTAssertNil(table.value(of: "zettabee:fingerprint", on: "backup/a"))
        XCTAssertEqual(table["backup/a", "zettabee:fingerprint"]?.isUnset, true)
        XCTAssertEqual(table["backup/a", "readonly"], PropertyValue(text: "off", source: .temporary))
        XCTAssertEqual(table["backup/a", "compression"]?.source, .inherited(from: "backup"))
        XCTAssertEqual(table["backup", "atime"]?.source, .default)
        XCTAssertEqual(table.value(of: "zettabee:\(fp):source", on: "backup/a@zettabee.\(fp).20261126175900UTC"), "src:tank/a")
        XCTAssertNil(table["backup/b", "atime"])
        XCTAssertEqual(try PropertyTable.parse(""), PropertyTable())
    }

    /// `zfs get -d 1` lists the filesystem, its snapshots and its direct children: the state keeps the
    /// snapshots in creation order and the children's names (a sibling with a common prefix is not one).
    func testDatasetStateFromADepthOneTable() throws {
        let output = """
            tank/a\tguid\t11\t-
            tank/a@s2\tguid\t22\t-
            tank/a@s2\tcreatetxg\t20\t-
            tank/a@s1\tguid\t33\t-
            tank/a@s1\tcreatetxg\t10\t-
            tank/a/kid\tguid\t44\t-
            tank/a/vol\tguid\t55\t-
            tank/a#mark\tguid\t66\t-
            tank/ab\tguid\t77\t-

            """
        let state = try DatasetState.from(try PropertyTable.parse(output), dataset: try DatasetName("tank/a"))
        XCTAssertTrue(state.exists)
        XCTAssertEqual(state.snapshots.map(\.snapshot.name), ["s1", "s2"])
        XCTAssertEqual(state.children, ["tank/a/kid", "tank/a/vol"])
        let alone = try DatasetState.from(try PropertyTable.parse("tank/a\tguid\t11\t-\n"), dataset: try DatasetName("tank/a"))
        XCTAssertEqual(alone.children, [])
    }

    func testPropertyTableRejectsUnexpectedOutput() {
        let cases: [(String, String)] = [
            ("backup/a\tatime\ton\tdefault\textra\n",
             "unexpected output from zfs get, line 1: expected 4 tab-separated columns (name, property, value, source), found 5: 'backup/a\\tatime\\ton\\tdefault\\textra'"),
            ("backup/a\tatime\ton\n",
             "unexpected output from zfs get, line 1: expected 4 tab-separated columns (name, property, value, source), found 3: 'backup/a\\tatime\\ton'"),
            ("backup/a\tatime\ton\tdefault\n\nbackup/b\tatime\ton\tdefault\n",
             "unexpected output from zfs get, line 2: expected 4 tab-separated columns (name, property, value, source), found 1: ''"),
            ("NAME  PROPERTY  VALUE  SOURCE\n",
             "unexpected output from zfs get, line 1: expected 4 tab-separated columns (name, property, value, source), found 1: 'NAME  PROPERTY  VALUE  SOURCE'"),
            ("/backup\tatime\ton\tdefault\n", "unexpected output from zfs get, line 1: not a dataset or snapshot name: '/backup'"),
            ("backup\tATIME\ton\tdefault\n", "unexpected output from zfs get, line 1: not a property name: 'ATIME'"),
            ("backup\tatime\ton\tsomewhere\n", "unexpected output from zfs get, line 1: unknown property source 'somewhere'"),
            ("backup\tatime\ton\tdefault\nbackup\tatime\toff\tlocal\n",
             "unexpected output from zfs get, line 2: property atime of 'backup' listed twice"),
        ]
        for (output, message) in cases {
            XCTAssertThrowsError(try PropertyTable.parse(output)) { error in
                XCTAssertEqual((error as? ZFSOutputError)?.description, message)
            }
        }
    }

    func testHugeOutputIsRefused() {
        let huge = String(repeating: "x", count: OutputLines.maximumBytes + 1)
        XCTAssertThrowsError(try PropertyTable.parse(huge)) { error in
            XCTAssertEqual((error as? ZFSOutputError)?.description, "unexpected output from zfs get: output larger than 64 MiB")
        }
    }

    func testPoolVersion() throws {
        XCTAssertEqual(try PoolVersion.parse("-\n"), .featureFlags)
        XCTAssertEqual(try PoolVersion.parse("5000\n"), .featureFlags)
        XCTAssertEqual(try PoolVersion.parse("23\n"), .legacy(23))
        XCTAssertEqual(try PoolVersion.parse("28"), .legacy(28))
        for (output, message) in [
            ("", "unexpected output from zpool get version: no output"),
            ("23\n23\n", "unexpected output from zpool get version: expected one line, found 2"),
            ("v23\n", "unexpected output from zpool get version, line 1: expected '-' or a version number, found 'v23'"),
            ("0\n", "unexpected output from zpool get version, line 1: expected '-' or a version number, found '0'"),
        ] {
            XCTAssertThrowsError(try PoolVersion.parse(output)) { error in
                XCTAssertEqual((error as? ZFSOutputError)?.description, message)
            }
        }
    }

    func testFeatureState() throws {
        XCTAssertEqual(try FeatureState.parse("active\n"), .active)
        XCTAssertEqual(try FeatureState.parse("enabled\n"), .enabled)
        XCTAssertEqual(try FeatureState.parse("disabled\n"), .disabled)
        XCTAssertEqual(try FeatureState.parse(""), .unknown)
        XCTAssertThrowsError(try FeatureState.parse("unknown\n"))
        XCTAssertThrowsError(try FeatureState.parse("on\n")) { error in
            XCTAssertEqual((error as? ZFSOutputError)?.description,
                           "unexpected output from zpool get feature, line 1: expected disabled, enabled or active, found 'on'")
        }
    }
}
