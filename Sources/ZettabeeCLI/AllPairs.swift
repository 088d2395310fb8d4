import Foundation
import GraphRunner
import Zettabee

extension ActionRunner {
    /// `initialize|update --all [--jobs N]`: every configured pair, at most N at once (1 without
    /// `--jobs`), in configuration order. Each pair runs exactly as `update DEST` would, with its own lock
    /// and log; a pair whose lock is held by another run is skipped. After a signal no further pair
    /// starts and the running ones are torn down by their runners.
    ///
    /// Exit code: 0 when every pair succeeded (or was skipped), 128+N after signal N, else the
    /// highest exit code of a failed pair.
    func replicateAll(_ pairs: [Pair]) -> Int32 {
        SignalTrap.install()
        // One ssh master per source host for all its pairs, started here: this thread outlives them.
        connections.open(for: pairs, settings: replicationSettings(observer: nil), executor: executor)
        defer { connections.closeAll() }
        let jobs = max(1, min(options.jobs ?? 1, pairs.count))
        let queue = PairQueue(count: pairs.count)
        let finished = DispatchGroup()
        let runner = UncheckedSendable(self)
        for worker in 0..<jobs {
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                while SignalTrap.pendingSignal == nil, let index = queue.next() {
                    queue.record(index, runner.value.replicate(pairs[index]))
                }
            }
            thread.name = "zettabee pair worker \(worker)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        finished.wait()
        if let signal = SignalTrap.pendingSignal { return 128 + signal }
        return queue.codes.compactMap { $0 }.max() ?? 0
    }
}

/// Hands out pair indices to the workers and collects their exit codes.
final class PairQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private let count: Int
    private var results: [Int32?]

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        lock.withLock {
            guard nextIndex < count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func record(_ index: Int, _ code: Int32) { lock.withLock { results[index] = code } }

    var codes: [Int32?] { lock.withLock { results } }
}

/// The action runner shared by the pair workers: its fields are immutable values, a terminal whose writes
/// are whole lines, and a process runner that keeps no state between runs.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
