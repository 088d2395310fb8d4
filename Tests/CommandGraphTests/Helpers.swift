import CommandGraph
import XCTest

func dataset(_ name: String) throws -> DatasetName { try DatasetName(name) }
func snapshot(_ name: String) throws -> SnapshotName { try SnapshotName(parsing: name) }

/// Asserts that `body` throws `InvalidValue` for `field`, and that the message names the field.
func assertInvalid<T>(
    _ field: String, _ body: () throws(InvalidValue) -> T, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try body()
        XCTFail("expected an invalid \(field), got \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error.field, field, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix("invalid \(field) "), error.description, file: file, line: line)
    }
}
