import XCTest
@testable import Zettabee

final class DestinationResolverTests: XCTestCase {
    let pairs = try! ConfigParser.parse(fileName: "zettabee.cfg", text: """
        src1:tank/home     backup1:backup/home
        src1:tank/mail     backup1:backup/src1/mail
        src2:tank/mail     backup1:backup/src2/mail
        src3:tank/home     backup2:backup/home
        """)

    func resolve(_ text: String) throws -> Int {
        try DestinationResolver.resolve(text, in: pairs).line
    }

    func testHostAndFilesystem() throws {
        XCTAssertEqual(try resolve("backup1:backup/home"), 1)
        XCTAssertEqual(try resolve("backup2:backup/home"), 4)
    }

    func testFilesystem() throws {
        XCTAssertEqual(try resolve("backup/src2/mail"), 3)
    }

    func testUniqueLastComponent() throws {
        let single = try ConfigParser.parse(fileName: "c", text: "s:tank/x d:backup/deep/photos")
        XCTAssertEqual(try DestinationResolver.resolve("photos", in: single).line, 1)
    }

    func testAmbiguousListsTheMatches() {
        XCTAssertThrowsError(try resolve("mail")) { error in
            XCTAssertEqual((error as? DestinationError)?.description,
                           "destination 'mail' is ambiguous; it matches: backup1:backup/src1/mail, backup1:backup/src2/mail")
        }
        XCTAssertThrowsError(try resolve("backup/home")) { error in
            XCTAssertEqual((error as? DestinationError)?.kind, .ambiguous)
            XCTAssertEqual((error as? DestinationError)?.candidates, ["backup1:backup/home", "backup2:backup/home"])
        }
    }

    func testUnknownListsEveryDestination() {
        XCTAssertThrowsError(try resolve("nope")) { error in
            XCTAssertEqual((error as? DestinationError)?.description,
                           "no pair has the destination 'nope'; configured destinations: backup1:backup/home, backup1:backup/src1/mail, backup1:backup/src2/mail, backup2:backup/home")
        }
        XCTAssertThrowsError(try DestinationResolver.resolve("x\ny", in: [])) { error in
            XCTAssertEqual((error as? DestinationError)?.description,
                           "no pair has the destination 'x\\ny'; the configuration has no pairs")
        }
    }
}
