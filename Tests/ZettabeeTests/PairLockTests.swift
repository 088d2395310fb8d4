import Foundation
import XCTest
@testable import Zettabee

final class PairLockTests: XCTestCase {
    private func temporaryLockPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zb-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent("abc.lck").path
    }

    func testAcquireRecordsHolderAndReleaseRemovesFile() throws {
        let path = try temporaryLockPath()
        guard case .acquired(let lock, let stale) = try PairLock.acquire(path: path, action: "update", now: 1000) else {
            return XCTFail("expected the lock")
        }
        XCTAssertNil(stale)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(LockHolder.parse(text), LockHolder(pid: getpid(), started: 1000, action: "update"))
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(PairLock.inspect(path: path), .free)
    }

    func testSecondAcquireWhileHeldIsBusyAndNamesTheHolder() throws {
        let path = try temporaryLockPath()
        guard case .acquired(let lock, _) = try PairLock.acquire(path: path, action: "update", now: 5) else {
            return XCTFail("expected the lock")
        }
        defer { lock.release() }
        guard case .busy(let holder) = try PairLock.acquire(path: path, action: "update") else {
            return XCTFail("a held lock must not be acquired twice")
        }
        XCTAssertEqual(holder?.pid, getpid())
        XCTAssertEqual(PairLock.inspect(path: path), .held(LockHolder(pid: getpid(), started: 5, action: "update")))
        XCTAssertEqual(try PairLock.removeStale(path: path), .held(LockHolder(pid: getpid(), started: 5, action: "update")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "unlock must refuse while the holder lives")
    }

    func testLeftoverFileIsStaleAndIsReportedOnNextAcquire() throws {
        let path = try temporaryLockPath()
        let leftover = LockHolder(pid: 999_999, started: 42, action: "initialize")
        try leftover.fileText.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(PairLock.inspect(path: path), .stale(leftover))
        guard case .acquired(let lock, let stale) = try PairLock.acquire(path: path, action: "update") else {
            return XCTFail("a stale lock must not block")
        }
        XCTAssertEqual(stale, leftover)
        lock.release()
    }

    func testRemoveStaleDeletesLeftover() throws {
        let path = try temporaryLockPath()
        try LockHolder(pid: 999_999, started: 42, action: "update").fileText.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try PairLock.removeStale(path: path), .stale(LockHolder(pid: 999_999, started: 42, action: "update")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
