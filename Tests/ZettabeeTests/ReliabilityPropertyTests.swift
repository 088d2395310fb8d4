import CommandGraph
import XCTest
@testable import Zettabee

/// Random input for the error summariser, the dataset state builder and the pair judge: they never trap,
/// and what they answer keeps its promises. Seeded, so any failure reproduces.
final class ReliabilityPropertyTests: XCTestCase {
    static let stderrFragments = [
        "cannot receive incremental stream: ", "destination tank/a has been modified", "\n", "\r\n", "since most recent snapshot",
        "usage:\n\treceive [-vnsFu] <filesystem>", "warning: ", "ssh: connect to host src port 22: Connection refused",
        "Partially received snapshot is saved.\nA resuming stream can be generated on the sending system by running:\n    zfs send -t 1-abc",
        "  ", "\t", "é", "\u{0}", "mbuffer: fatal: ", "internal error", String(repeating: "x", count: 700), "cannot ",
    ]

    func testErrorSummaryIsOneBoundedLine() {
        var generator = SeededGenerator(seed: 31_337)
        for _ in 0..<5000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                text += Self.stderrFragments.randomElement(using: &generator)!
            }
            let summary = ZFSErrorText.summary(text)
            let blank = text.split(whereSeparator: \.isNewline)
                .allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
            XCTAssertEqual(summary == nil, blank, "summary \(String(describing: summary)) of \(text.debugDescription)")
            guard let summary else { continue }
            XCTAssertFalse(summary.contains("\n") || summary.contains("\r"), summary.debugDescription)
            XCTAssertLessThanOrEqual(summary.count, 400)
            XCTAssertFalse(summary.contains("A resuming stream can be generated"), summary)
        }
    }

    // MARK: dataset states

    static let names = ["tank/a", "tank/a@s1", "tank/a@s2", "tank/a@zettabee.x", "tank/a/child", "tank/b", "tank/a@s1@x", "tank/a@"]
    static let properties = ["guid", "createtxg", "creation", "zettabee:fp:lastsnap", "readonly"]
    static let values = ["1", "42", "18446744073709551615", "18446744073709551616", "-1", "", "x", "1.5e3", "٣", "zettabee.x"]

    func randomTable(_ generator: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...14, using: &generator)).map { _ in
            [Self.names.randomElement(using: &generator)!, Self.properties.randomElement(using: &generator)!,
             Self.values.randomElement(using: &generator)!, ["-", "local", "default", "received"].randomElement(using: &generator)!]
                .joined(separator: "\t")
        }.joined(separator: "\n")
    }

    func testDatasetStateFromRandomTables() throws {
        var generator = SeededGenerator(seed: 4_711)
        let dataset = try DatasetName("tank/a")
        for _ in 0..<5000 {
            guard let table = try? PropertyTable.parse(randomTable(&generator)) else { continue }
            guard let state = try? DatasetState.from(table, dataset: dataset) else { continue }
            XCTAssertEqual(state.exists, table.entries["tank/a"] != nil)
            for snapshot in state.snapshots {
                XCTAssertEqual(snapshot.snapshot.dataset.rawValue, "tank/a")
                XCTAssertFalse(snapshot.guid.isEmpty)
                XCTAssertTrue(snapshot.guid.allSatisfy { $0.isASCII && $0.isNumber }, "guid \(snapshot.guid)")
            }
            XCTAssertEqual(state.snapshots.map(\.createTXG), state.snapshots.map(\.createTXG).sorted())
        }
    }

    // MARK: pair judgement

    func testPairConditionOnRandomStates() throws {
        let pair = try XCTUnwrap(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/a backup:backup/a\n").first)
        let fingerprint = pair.fingerprint.description
        let snapshotNames = ["s1", "s2", "zettabee.\(fingerprint).20260101000000UTC", "zettabee.\(fingerprint).20260102000000UTC"]
        let guids = ["1", "2", "3"]
        var generator = SeededGenerator(seed: 99)
        func randomState(_ dataset: DatasetName) throws -> DatasetState {
            guard Int.random(in: 0..<6, using: &generator) > 0 else { return .missing(dataset) }
            var properties: [String: PropertyValue] = [:]
            if Bool.random(using: &generator) {
                let recorded = snapshotNames.randomElement(using: &generator)!
                properties[pair.properties.lastSnapshot] = PropertyValue(
                    text: Bool.random(using: &generator) ? recorded : "\(dataset)@\(recorded)", source: .local)
            }
            if Int.random(in: 0..<4, using: &generator) == 0 {
                properties[PairProperties.fingerprint] = PropertyValue(
                    text: Bool.random(using: &generator) ? fingerprint : "0123", source: .local)
            }
            var snapshots: [SnapshotRecord] = []
            for (index, name) in snapshotNames.enumerated() where Bool.random(using: &generator) {
                snapshots.append(SnapshotRecord(
                    snapshot: try dataset.snapshot(name), guid: guids.randomElement(using: &generator)!,
                    createTXG: UInt64(index + 1), creation: nil))
            }
            return DatasetState(dataset: dataset, exists: true, properties: properties, snapshots: snapshots)
        }
        /// A tree: the filesystem and, at random, a child `kid` (which may hold a partial receive).
        func randomTree(_ dataset: DatasetName) throws -> DatasetState {
            var root = try randomState(dataset)
            guard root.exists, Bool.random(using: &generator) else { return root }
            var kid = try randomState(try DatasetName(dataset.rawValue + "/kid"))
            guard kid.exists else { return root }
            kid.properties = [:]
            if Int.random(in: 0..<5, using: &generator) == 0 {
                kid.properties[PropertyName.receiveResumeToken.rawValue] = PropertyValue(text: "1-abc", source: .none)
            }
            root.children = [kid.dataset.rawValue]
            root.descendants = [kid]
            return root
        }
        var seen: Set<String> = []
        for _ in 0..<5000 {
            let source = try randomTree(pair.source.dataset)
            let destination = try randomTree(pair.destination.dataset)
            let condition = PairCondition.assess(pair: pair, source: source, destination: destination)
            seen.insert(condition.stateName)
            /// Every source dataset holding the base has its destination twin holding it with one GUID.
            func baseEverywhere(_ base: String) throws {
                let recorded = try XCTUnwrap(destination.value(pair.properties.lastSnapshot))
                XCTAssertEqual(PairCondition.baseName(recorded), base)
                XCTAssertNotNil(source.snapshot(named: base))
                for member in source.tree {
                    guard let sent = member.snapshot(named: base) else { continue }
                    XCTAssertEqual(destination.member(at: source.relativeName(of: member))?.snapshot(named: base)?.guid, sent.guid)
                }
                XCTAssertNotEqual(destination.value(PairProperties.fingerprint).map { $0 != fingerprint }, true)
            }
            switch condition {
            case .synchronized(let base):
                try baseEverywhere(base)
                XCTAssertFalse(destination.tree.contains(where: \.hasPartialReceive), "Synchronized with a partial receive")
            case .interrupted(let base, let reason):
                try baseEverywhere(base)
                XCTAssertTrue(reason.contains(pair.destination.dataset.rawValue), reason)
            case .uninitialized:
                XCTAssertFalse(destination.exists)
                XCTAssertNil(source.value(pair.properties.lastSnapshot))
            case .inconsistent(let reason):
                XCTAssertFalse(reason.isEmpty)
                XCTAssertFalse(reason.contains("\n"))
            }
        }
        XCTAssertEqual(seen, ["Synchronized", "Resumable", "Uninitialized", "Inconsistent!"], "the generator misses a condition")
    }
}
