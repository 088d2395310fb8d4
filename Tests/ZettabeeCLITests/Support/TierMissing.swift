import Foundation
import XCTest

/// A test tier could not run because something it needs is missing. It fails the test: a tier that
/// cannot run must say so, never pass by skipping.
struct TierMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What a test of the real-component tier throws when the real environment or a real program is
/// missing: a skip in a plain `swift test` (that tier runs from scripts/test-real.sh), but a failure
/// when `ZB_REAL_REQUIRED=1`, which scripts/real-tier.sh sets, so the real tier can never pass
/// without running.
func realTierSkip(_ message: String) -> Error {
    if ProcessInfo.processInfo.environment["ZB_REAL_REQUIRED"] == "1" { return TierMissing(message) }
    return XCTSkip(message)
}
