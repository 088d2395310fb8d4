import Foundation
import XCTest
@testable import ZettabeeCLI

final class AllPairsTests: XCTestCase {
    func testQueueHandsOutEveryPairExactlyOnceAcrossWorkers() {
        let queue = PairQueue(count: 500)
        let seen = PairQueue(count: 500)  // reused as a thread-safe record of who took what
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            while let index = queue.next() {
                seen.record(index, Int32(worker))
                queue.record(index, Int32(index % 3))
            }
        }
        XCTAssertEqual(seen.codes.compactMap { $0 }.count, 500)
        XCTAssertEqual(queue.codes.compactMap { $0 }.count, 500)
        XCTAssertEqual(queue.codes.compactMap { $0 }.max(), 2)
    }

    func testEmptyQueueHandsOutNothing() {
        XCTAssertNil(PairQueue(count: 0).next())
    }
}
