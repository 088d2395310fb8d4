import Foundation
import XCTest
@testable import ZettabeeCLI

final class AllPairsTests: XCTestCase {
    func testQueueHandsOutEveryPairExactlyOnceAcrossWorkers() {
        let queue = PairQueue(count: 500)
        let taken = NSLock()
        var seen: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            while let index = queue.next() {
                taken.withLock { seen.append(index) }
                queue.record(index, Int32(index % 3))
            }
        }
        XCTAssertEqual(seen.sorted(), Array(0..<500))
        XCTAssertEqual(queue.codes.compactMap { $0 }.count, 500)
        XCTAssertEqual(queue.codes.compactMap { $0 }.max(), 2)
    }

    func testEmptyQueueHandsOutNothing() {
        XCTAssertNil(PairQueue(count: 0).next())
    }
}
