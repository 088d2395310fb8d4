import XCTest
@testable import Zettabee

final class HostCapabilitiesTests: XCTestCase {
    func testZFSVersionAnswers() throws {
        XCTAssertEqual(try ZFSVersionReport.parse(stdout: "zfs-2.2.2-0ubuntu9\nzfs-kmod-2.2.2-0ubuntu9\n", stderr: "", exitStatus: 0),
                       .openZFS(ZFSVersion(2, 2, 2)))
        XCTAssertEqual(try ZFSVersionReport.parse(stdout: "zfs-0.8.3-1ubuntu12\n", stderr: "", exitStatus: 0),
                       .openZFS(ZFSVersion(0, 8, 3)))
        XCTAssertEqual(try ZFSVersionReport.parse(stdout: "zfs-2.1.99-1234_gabc\n", stderr: "", exitStatus: 0),
                       .openZFS(ZFSVersion(2, 1, 99)))
        XCTAssertEqual(try ZFSVersionReport.parse(
            stdout: "", stderr: "unrecognized command 'version'\nusage: zfs command args ...\n", exitStatus: 2), .predatesVersionCommand)
    }

    func testZFSVersionFailuresAreNotAnswers() {
        XCTAssertThrowsError(try ZFSVersionReport.parse(stdout: "", stderr: "ssh: connect to host src port 22: Connection refused\n", exitStatus: 255)) { error in
            XCTAssertEqual((error as? ZFSOutputError)?.description,
                           "unexpected output from zfs version: failed with exit status 255: 'ssh: connect to host src port 22: Connection refused\\n'")
        }
        XCTAssertThrowsError(try ZFSVersionReport.parse(stdout: "hello\n", stderr: "", exitStatus: 0)) { error in
            XCTAssertEqual((error as? ZFSOutputError)?.description,
                           "unexpected output from zfs version, line 1: expected 'zfs-X.Y.Z', found 'hello'")
        }
        XCTAssertThrowsError(try ZFSVersionReport.parse(stdout: "zfs-x.y\n", stderr: "", exitStatus: 0))
        XCTAssertThrowsError(try ZFSVersionReport.parse(stdout: "", stderr: "", exitStatus: 0))
    }

    func testModernHost() {
        let capabilities = HostCapabilities.derive(zfs: .openZFS(ZFSVersion(2, 2, 2)), pool: .featureFlags, bookmarksFeature: .active)
        XCTAssertEqual(capabilities, HostCapabilities(
            zfsVersion: ZFSVersion(2, 2, 2), poolVersion: .featureFlags, resumableReceive: true,
            receivePropertyOverrides: true, receiveWithoutMounting: true, sendEstimates: true,
            parsableList: true, holdsListing: true, bookmarks: true))
        XCTAssertTrue(capabilities.featureFlags)
    }

    func testModernHostWithoutTheBookmarksFeature() {
        for feature in [FeatureState.disabled, .unknown, nil] {
            let capabilities = HostCapabilities.derive(zfs: .openZFS(ZFSVersion(2, 1, 5)), pool: .featureFlags, bookmarksFeature: feature)
            XCTAssertFalse(capabilities.bookmarks)
            XCTAssertTrue(capabilities.resumableReceive)
        }
    }

    func testZFSFuseLegacyPool() {
        let capabilities = HostCapabilities.derive(zfs: .predatesVersionCommand, pool: .legacy(23))
        XCTAssertEqual(capabilities, HostCapabilities(
            zfsVersion: nil, poolVersion: .legacy(23), resumableReceive: false,
            receivePropertyOverrides: false, receiveWithoutMounting: false, sendEstimates: false,
            parsableList: false, holdsListing: false, bookmarks: false))
        XCTAssertFalse(capabilities.featureFlags)
    }

    func testModernZFSOnALegacyPoolKeepsOptionsButNotPoolFeatures() {
        let capabilities = HostCapabilities.derive(zfs: .openZFS(ZFSVersion(2, 2, 0)), pool: .legacy(28), bookmarksFeature: .active)
        XCTAssertTrue(capabilities.parsableList)
        XCTAssertTrue(capabilities.receivePropertyOverrides)
        XCTAssertFalse(capabilities.resumableReceive)
        XCTAssertFalse(capabilities.bookmarks)
    }

    func testUsageErrorRecognition() {
        XCTAssertTrue(ZFSUsageError.matches(stderr: "invalid option 'p'\nusage:\n\tlist ...", exitStatus: 2))
        XCTAssertFalse(ZFSUsageError.matches(stderr: "invalid option 'p'", exitStatus: 1))
        XCTAssertFalse(ZFSUsageError.matches(stderr: "cannot open 'x': dataset does not exist", exitStatus: 2))
    }
}
