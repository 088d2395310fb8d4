import CommandGraph
import XCTest
@testable import Zettabee

/// The recovery rules over hand-made trees: `tank/a` (with `tank/a/kid`) replicated to `backup/a`.
final class RecoveryRulesTests: XCTestCase {
    var pair: Pair!
    var rules: RecoveryRules!
    var base = "", next = "", later = ""

    override func setUpWithError() throws {
        pair = try XCTUnwrap(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/a backup:backup/a\n").first)
        rules = RecoveryRules(pair: pair)
        let fp = pair.fingerprint.description
        (base, next, later) = ("zettabee.\(fp).20260101000000UTC", "zettabee.\(fp).20260102000000UTC", "zettabee.\(fp).20260103000000UTC")
    }

    /// A dataset with snapshots (name, guid), in order; `token` sets a partial receive; `refs` holds.
    func dataset(_ name: String, _ snapshots: [(String, String)], token: Bool = false, refs: [String: Int] = [:]) throws -> DatasetState {
        let dataset = try DatasetName(name)
        var properties: [String: PropertyValue] = [:]
        if token { properties[PropertyName.receiveResumeToken.rawValue] = PropertyValue(text: "1-x", source: .none) }
        let records = try snapshots.enumerated().map { index, snapshot in
            SnapshotRecord(snapshot: try dataset.snapshot(snapshot.0), guid: snapshot.1, createTXG: UInt64(index + 1),
                           creation: nil, userRefs: refs[snapshot.0] ?? 0)
        }
        return DatasetState(dataset: dataset, exists: true, properties: properties, snapshots: records)
    }

    func tree(_ root: DatasetState, _ children: DatasetState...) -> DatasetState {
        var root = root
        root.descendants = children
        root.children = children.map(\.dataset.rawValue)
        return root
    }

    func testAdoptsOnlyASnapshotTheWholeTreeHolds() throws {
        let source = tree(try dataset("tank/a", [(base, "1"), (next, "2")]), try dataset("tank/a/kid", [(base, "11"), (next, "12")]))
        let parentOnly = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11")]))
        XCTAssertNil(rules.adoptable(after: base, source: source, destination: parentOnly), "the child lacks it")
        let whole = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11"), (next, "12")]))
        XCTAssertEqual(rules.adoptable(after: base, source: source, destination: whole), next)
        let otherGUID = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11"), (next, "99")]))
        XCTAssertNil(rules.adoptable(after: base, source: source, destination: otherGUID), "the child's differs")
        let partial = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11"), (next, "12")], token: true))
        XCTAssertNil(rules.adoptable(after: base, source: source, destination: partial), "a partial receive waits")
    }

    func testCompletesAPartlyReceivedTreeOnlyFromWhatTheSourceHoldsEverywhere() throws {
        let source = tree(try dataset("tank/a", [(base, "1"), (next, "2")]), try dataset("tank/a/kid", [(base, "11"), (next, "12")]))
        let parentOnly = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11")]))
        XCTAssertEqual(rules.completionTarget(after: base, source: source, destination: parentOnly), next)
        let nothing = tree(try dataset("backup/a", [(base, "1")]), try dataset("backup/a/kid", [(base, "11")]))
        XCTAssertNil(rules.completionTarget(after: base, source: source, destination: nothing), "nothing arrived: a plain update")
        let childLost = tree(try dataset("tank/a", [(base, "1"), (next, "2")]), try dataset("tank/a/kid", [(base, "11")]))
        XCTAssertNil(rules.completionTarget(after: base, source: childLost, destination: parentOnly), "the source's child lost it")
    }

    func testLeftoversAreTheSourcesNewerSnapshotsNoDestinationDatasetHolds() throws {
        let source = tree(try dataset("tank/a", [(base, "1"), (next, "2"), (later, "3")]), try dataset("tank/a/kid", [(base, "11"), (next, "12"), (later, "13")]))
        let destination = tree(try dataset("backup/a", [(base, "1")]), try dataset("backup/a/kid", [(base, "11"), (next, "12")]))
        XCTAssertEqual(rules.leftovers(after: base, source: source, destination: destination).map(\.snapshot.name), [later],
                       "next reached the child: it is kept for completing")
    }

    func testABaseMoveCutShortIsFinished() throws {
        let source = tree(try dataset("tank/a", [(base, "1"), (next, "2")], refs: [base: 1]), try dataset("tank/a/kid", [(base, "11"), (next, "12")]))
        XCTAssertEqual(rules.heldSnapshots(otherThan: next, in: source).map(\.snapshot.name), [base])
        XCTAssertEqual(rules.olderSnapshots(than: next, in: source, absentIsNewest: false).map(\.snapshot.name), [base])
        XCTAssertEqual(rules.olderSnapshots(than: later, in: source, absentIsNewest: false), [], "an unknown snapshot: destroy nothing")
        XCTAssertEqual(rules.olderSnapshots(than: later, in: source, absentIsNewest: true).map(\.snapshot.name), [base, next],
                       "a dry run's snapshot, not taken yet: every one is older")
        let released = tree(try dataset("tank/a", [(base, "1"), (next, "2")]), try dataset("tank/a/kid", [(base, "11"), (next, "12")], refs: [base: 1]))
        XCTAssertEqual(rules.heldSnapshots(otherThan: next, in: released).map(\.snapshot.name), [base], "a child's hold counts")
        let newerHeld = tree(try dataset("tank/a", [(base, "1"), (next, "2"), (later, "3")], refs: [base: 1, later: 1]))
        XCTAssertEqual(rules.heldSnapshots(otherThan: next, in: newerHeld).map(\.snapshot.name), [base, later],
                       "only the base keeps the hold, whatever its age")
    }

    func testResumeCandidateOrAbort() throws {
        let member = try dataset("backup/a/kid", [(base, "11")], token: true)
        let source = try dataset("tank/a/kid", [(base, "11"), (next, "12")])
        XCTAssertEqual(rules.resumeCandidate(for: member, source: source, base: base)?.snapshot.name, next)
        XCTAssertNil(rules.resumeCandidate(for: member, source: nil, base: base), "its source is gone: abort")
        XCTAssertNil(rules.resumeCandidate(for: member, source: try dataset("tank/a/kid", [(base, "11")]), base: base),
                     "no newer snapshot of the pair: abort")
    }

    func testRollbackStepsAndRefusals() throws {
        let source = tree(try dataset("tank/a", [(base, "1"), (next, "2")]), try dataset("tank/a/kid", [(base, "11"), (next, "12")]),
                          try dataset("tank/a/new", [(next, "21")]))
        let destination = tree(try dataset("backup/a", [(base, "1"), (next, "2")]), try dataset("backup/a/kid", [(base, "11")], token: true),
                               try dataset("backup/a/new", [(next, "21")]))
        XCTAssertEqual(try rules.rollback(to: base, source: source, destination: destination, force: false), [
            .rollBack(try DatasetName("backup/a"), newer: [next]),
            .abortPartialReceive(try DatasetName("backup/a/kid")),
            .destroyCreatedChild(try DatasetName("backup/a/new")),
        ])
        let foreign = tree(try dataset("backup/a", [(base, "1"), ("mine", "5")]), try dataset("backup/a/kid", [(base, "11")]))
        XCTAssertThrowsError(try rules.rollback(to: base, source: source, destination: foreign, force: false)) { error in
            XCTAssertTrue((error as? RecoveryRules.RollbackRefusal)?.reason.contains("backup/a") == true)
            XCTAssertTrue((error as? RecoveryRules.RollbackRefusal)?.reason.contains("mine") == true)
        }
        XCTAssertEqual(try rules.rollback(to: base, source: source, destination: foreign, force: true),
                       [.rollBack(try DatasetName("backup/a"), newer: ["mine"])])
    }

    func testAFailedInitializesWorkIsRecognisedAndNothingElse() throws {
        let source = tree(try dataset("tank/a", [(base, "1")]), try dataset("tank/a/kid", [(base, "11")]))
        let partial = tree(try dataset("backup/a", [(base, "1")]))
        XCTAssertTrue(rules.leftByFailedInitialize(source: source, destination: partial))
        let someoneElses = tree(try dataset("backup/a", [(base, "1"), ("theirs", "7")]))
        XCTAssertFalse(rules.leftByFailedInitialize(source: source, destination: someoneElses))
        let otherGUID = tree(try dataset("backup/a", [(base, "2")]))
        XCTAssertFalse(rules.leftByFailedInitialize(source: source, destination: otherGUID))
        var recorded = partial
        recorded.properties[pair.properties.lastSnapshot] = PropertyValue(text: base, source: .local)
        XCTAssertFalse(rules.leftByFailedInitialize(source: source, destination: recorded), "an initialized pair")
        XCTAssertFalse(rules.leftByFailedInitialize(source: source, destination: tree(try dataset("backup/a", []))), "an empty filesystem")
    }
}
