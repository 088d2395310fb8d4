import CommandGraph
import XCTest
@testable import Zettabee

/// The stream-size question `runstatus` asks for a run: the command built from the stream a progress
/// file records, and the answer read from `zfs send -nvP`'s output. No processes.
final class SizeEstimateTests: XCTestCase {
    func testTheEstimateIsOfTheSameStream() throws {
        var send = SendSpecification(
            snapshot: try SnapshotName(parsing: "tank/a@new"), base: try SnapshotName(parsing: "tank/a@old"), recursive: true)
        send.format.largeBlocks = true
        send.format.compressed = true
        send.format.embedded = true
        XCTAssertEqual(try SizeEstimate.command(for: send).argv,
                       ["zfs", "send", "-R", "-L", "-c", "-e", "-n", "-v", "-P", "-i", "tank/a@old", "tank/a@new"])

        let resumed = SendSpecification(snapshot: try SnapshotName(parsing: "tank/a@new"), resumeToken: "1-abc-def")
        XCTAssertEqual(try SizeEstimate.command(for: resumed).argv, ["zfs", "send", "-n", "-v", "-P", "-t", "1-abc-def"])
    }

    /// What a run records in its progress file gives back the very send, through JSON.
    func testARecordedStreamGivesBackItsSend() throws {
        var send = SendSpecification(snapshot: try SnapshotName(parsing: "tank/a@new"), base: try SnapshotName(parsing: "tank/a@old"))
        send.format.raw = true
        let data = try JSONEncoder().encode(RecordedStream(send))
        let decoded = try JSONDecoder().decode(RecordedStream.self, from: data)
        XCTAssertEqual(try decoded.specification(), send)
    }

    /// A progress file is read back as untrusted input: a name or token that zettabee would never have
    /// written is refused with the field's name, before any command is built.
    func testATamperedRecordIsRefused() throws {
        var recorded = RecordedStream(SendSpecification(snapshot: try SnapshotName(parsing: "tank/a@new")))
        recorded.snapshot = "tank/a@new; rm -rf /"
        XCTAssertThrowsError(try recorded.specification()) { error in
            XCTAssertTrue("\(error)".contains("snapshot"), "\(error)")
        }
        recorded = RecordedStream(SendSpecification(snapshot: try SnapshotName(parsing: "tank/a@new"), resumeToken: "-oops"))
        XCTAssertThrowsError(try SizeEstimate.command(for: try recorded.specification())) { error in
            XCTAssertTrue("\(error)".contains("resume token"), "\(error)")
        }
    }

    func testTheSizeLineIsTheTotal() {
        let output = "incremental\told\ttank/a@new\t1024\nincremental\told\ttank/a/kid@new\t2048\nsize\t3072\n"
        XCTAssertEqual(SizeEstimate.parse(output), 3072)
        XCTAssertNil(SizeEstimate.parse("full\ttank/a@new\t1024\n"), "no size line, no estimate")
        XCTAssertNil(SizeEstimate.parse("size\tmany\n"))
    }
}
