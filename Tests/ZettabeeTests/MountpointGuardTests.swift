import CommandGraph
import XCTest
@testable import Zettabee

/// Old zfs's mountpoint guard over hand-made trees: `tank/a` (with `tank/a/kid`) replicated to `backup/a`.
final class MountpointGuardTests: XCTestCase {
    func member(_ name: String, _ mountpoint: String, _ source: PropertySource) throws -> DatasetState {
        DatasetState(dataset: try DatasetName(name), exists: true,
                     properties: ["mountpoint": PropertyValue(text: mountpoint, source: source)])
    }

    func tree(_ root: DatasetState, _ children: DatasetState...) -> DatasetState {
        var root = root
        root.descendants = children
        root.children = children.map(\.dataset.rawValue)
        return root
    }

    var guarded: StreamFormat {
        var format = StreamFormat()
        format.guardsMountpoints = true
        return format
    }

    func testATreeIsSentDatasetByDatasetOnlyWhileTheSourceSetsAMountpoint() throws {
        let source = tree(try member("tank/a", "/tank/a", .inherited(from: "tank")), try member("tank/a/kid", "/srv/kid", .local))
        XCTAssertEqual(MountpointGuard.carried(by: source).map(\.dataset.rawValue), ["tank/a/kid"])
        XCTAssertTrue(MountpointGuard.sendsDatasetByDataset(guarded, source: source))
        XCTAssertFalse(MountpointGuard.sendsDatasetByDataset(StreamFormat(), source: source), "OpenZFS excludes them instead")
        let plain = tree(try member("tank/a", "/tank/a", .default), try member("tank/a/kid", "/tank/a/kid", .inherited(from: "tank")))
        XCTAssertTrue(MountpointGuard.carried(by: plain).isEmpty)
        XCTAssertFalse(MountpointGuard.sendsDatasetByDataset(guarded, source: plain))
    }

    func testCopiesThatTookTheSourcesMountpointGetWhatTheyWouldInherit() throws {
        let took = tree(try member("backup/a", "/srv/a", .received), try member("backup/a/kid", "/var/lib/kid", .received))
        XCTAssertEqual(MountpointGuard.healing(destination: took, parentMountpoint: "/backup").map { "\($0.dataset)=\($0.mountpoint)" },
                       ["backup/a=/backup/a", "backup/a/kid=/backup/a/kid"])
        XCTAssertEqual(MountpointGuard.healing(destination: took, parentMountpoint: "none").map(\.mountpoint), ["none", "none"])
        XCTAssertEqual(MountpointGuard.healing(destination: took, parentMountpoint: "/").map(\.mountpoint), ["/a", "/a/kid"])
        let kidOnly = tree(try member("backup/a", "/elsewhere", .local), try member("backup/a/kid", "/var/lib/kid", .received))
        XCTAssertEqual(MountpointGuard.healing(destination: kidOnly, parentMountpoint: nil).map { "\($0.dataset)=\($0.mountpoint)" },
                       ["backup/a/kid=/elsewhere/kid"], "below the operator's own local value")
        let inheriting = tree(try member("backup/a", "/backup/a", .inherited(from: "backup")),
                              try member("backup/a/kid", "/backup/a/kid", .inherited(from: "backup")))
        XCTAssertEqual(MountpointGuard.healing(destination: inheriting, parentMountpoint: nil), [])
    }
}
