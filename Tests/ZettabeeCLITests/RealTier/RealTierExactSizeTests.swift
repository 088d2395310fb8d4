import Foundation
import XCTest

/// With the real mbuffer, zstd and cat (plain ssh) feeding the real `zfs receive` (zfs-fuse), an initialize records the
/// stream's exact size: the same `zfs send` of the base, run again on the source by the test and counted
/// with `wc -c`.
final class RealTierExactSizeTests: XCTestCase {
    func testRealTierMbufferZstdAndPlainSSHTransfersRecordTheExactStreamSize() throws {
        let env = try RealEnvironment.require()
        try env.ensureSSHD()
        for transport in [RealTierTransport.mbuffer(port: try TCP.freePort()), .ssh(compress: "zstd"), .ssh(compress: "none")] {
            let pair = try RealTierPair(env, label: "exact", transport: transport)
            defer { pair.cleanup() }
            try pair.createSource()
            try pair.writer.populate()
            try pair.writeConfig()
            pair.assertSucceeded(try pair.zettabee(["setup"]), "setup")
            pair.assertSucceeded(try pair.zettabee(["initialize", pair.destinationArgument]), "initialize \(transport)")

            let record = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(pair.runDirectory)/\(pair.fingerprint).last.json"))) as? [String: Any]
            let recorded = (record?["bytes"] as? NSNumber)?.uint64Value
            let snapshot = try XCTUnwrap(record?["snapshot"] as? String)
            // zfs-fuse sends plain streams (no -L/-c/-e): the same command zettabee ran.
            let counted = try env.check(
                "/bin/sh", ["-c", "zfs send '\(pair.sourceFS)@\(snapshot)' | wc -c"], timeout: 120)
            let expected = try XCTUnwrap(UInt64(counted.trimmingCharacters(in: .whitespacesAndNewlines)), counted)
            XCTAssertGreaterThan(expected, 0)
            XCTAssertEqual(recorded, expected, "\(transport): recorded \(String(describing: recorded)), zfs send | wc -c says \(expected)")
            let log = (try? String(contentsOfFile: "\(pair.logDirectory)/\(pair.fingerprint).log", encoding: .utf8)) ?? ""
            XCTAssertTrue(log.contains("transfer: \(expected) bytes, exactly as "), "\(transport): \(log)")
        }
    }
}
