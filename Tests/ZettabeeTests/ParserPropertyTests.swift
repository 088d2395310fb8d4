import XCTest
@testable import Zettabee

/// Random input never traps or hangs a parser: each one either answers or reports an error.
/// Seeded, so any failure reproduces.
final class ParserPropertyTests: XCTestCase {
    /// Fragments that steer random text towards the parsers' interesting paths.
    static let fragments = [
        "\t", "\n", "\r", " ", "#", ":", "@", "/", "=", ",", "-", "[", "]", "$(", "`", "'", "\"", ";",
        "src:tank/a", "dst:backup/a", "port=", "9090", "wlag=", "1h", "transport=mbuffer", "compress=zstd",
        "tank/a@s", "12345", "local", "inherited from ", "-", "Thu Nov 26 17:59 2026", "zettabee:", "é", "\u{0}",
        "zfs-2.2.2", "5000", "active",
    ]

    func randomText(_ generator: inout SeededGenerator) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...40, using: &generator) {
            if Bool.random(using: &generator) {
                text += Self.fragments.randomElement(using: &generator)!
            } else {
                let bytes = (0..<Int.random(in: 1...6, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                text += String(decoding: bytes, as: UTF8.self)
            }
        }
        return text
    }

    func testConfigParserNeverTraps() {
        var generator = SeededGenerator(seed: 20_120_301)
        for _ in 0..<5000 {
            let text = randomText(&generator)
            do {
                _ = try ConfigParser.parse(fileName: "fuzz.cfg", text: text)
            } catch {
                XCTAssertFalse(error.errors.isEmpty)
                for problem in error.errors {
                    XCTAssertFalse(problem.description.contains("\n"), "multi-line error: \(problem)")
                    XCTAssertFalse(problem.description.contains("\r"), "carriage return in error: \(problem)")
                }
            }
        }
    }

    func testConfigParserOnValidLinesWithRandomOptions() {
        var generator = SeededGenerator(seed: 42)
        let keys = ["transport", "port", "sshport", "sshkey", "sshuser", "wlag", "clag", "wrun", "crun",
                    "compress", "rate", "buffer", "keep", "rollback", "bogus"]
        let values = ["mbuffer", "ssh", "9090", "0", "1h", "30m", "/root/.ssh/k", "root", "zstd", "50M", "yes", "no", "", "-x", "$(id)"]
        for _ in 0..<3000 {
            var options: [String] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                options.append(keys.randomElement(using: &generator)! + "=" + values.randomElement(using: &generator)!)
            }
            let text = "src:tank/a dst:backup/a " + options.joined(separator: ",")
            do {
                let pairs = try ConfigParser.parse(fileName: "fuzz.cfg", text: text)
                XCTAssertEqual(pairs.count, 1)
            } catch {
                XCTAssertTrue(error.errors.allSatisfy { $0.line == 1 })
            }
        }
    }

    func testZFSOutputParsersNeverTrap() {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<5000 {
            let text = randomText(&generator)
            _ = try? PropertyTable.parse(text)
            _ = try? PoolVersion.parse(text)
            _ = try? FeatureState.parse(text)
            _ = try? ZFSVersionReport.parse(stdout: text, stderr: text, exitStatus: Int32.random(in: 0...3, using: &generator))
            _ = TimeSpan(parsing: text)
            _ = ByteSize(parsing: text)
            _ = PairSnapshotName(parsing: text)
        }
    }

    func testRowShapedRandomOutput() {
        var generator = SeededGenerator(seed: 7)
        let cells = ["tank/a", "tank/a@s", "backup/a@zettabee.x", "-", "local", "default", "123", "18446744073709551615",
                     "18446744073709551616", "Mon Jan  1  0:00 1970", "Sat Feb 29 23:59 2000", "", " ", "atime", "zettabee:fp:x"]
        for _ in 0..<5000 {
            let lines = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                (0..<Int.random(in: 1...5, using: &generator)).map { _ in cells.randomElement(using: &generator)! }.joined(separator: "\t")
            }
            let text = lines.joined(separator: "\n")
            _ = try? PropertyTable.parse(text)
        }
    }
}
