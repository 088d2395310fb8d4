import CommandGraph

/// The run's new snapshot on the source, taken in one round trip with the hold that keeps it until it
/// becomes the base or is discarded, and the source's state read right after.
extension Replicator {
    /// What taking the snapshot left: whether the pair's hold is on it, and the source's state read
    /// right after (nil in a dry run or where that read failed; the verification then reads it).
    struct TakenSnapshot {
        var held: Bool
        var sourceState: DatasetState?
    }

    /// `zfs snapshot [-r]`, `zfs hold [-r]` and the tree's `zfs get` as one line on the source
    /// (`ChangeExecuting.change(sequence:on:)`), stopping at the first failure. A failure is judged as
    /// it would be alone: a snapshot refused as busy is tried again, any other snapshot failure ends the
    /// run; a hold already there is fine, holds missing from the host's zfs are logged, any other hold
    /// failure discards the snapshot and ends the run. The commands after a failure that the run
    /// survives run one by one.
    ///
    /// Held from the start, the snapshot cannot vanish while it is sent, and the state read here is what
    /// the received snapshots are verified against: no second read of the source after the transfer.
    func takeSnapshot(_ snapshot: String) throws(ActionError) -> TakenSnapshot {
        let dataset = pair.source.dataset
        let take = try snapshotCommand(dataset, snapshot, recursive: recursive)
        let hold = try holdCommand(snapshot, dataset: dataset)
        let read = try stateCommand(dataset, extra: [])
        let outcomes = changes.change(sequence: [take, hold, read], on: source)

        switch outcomes[0] {
        case .succeeded: break
        case .failed(let failure) where !failure.stderrTail.contains("dataset is busy"):
            log.error("\(failure.description)")
            log.writeLines(.error, failure.stderrTail)
            throw ActionError(failure)
        case .failed, .notRun:
            try mutate(source, take)
        }

        var held = true
        do throws(ActionError) {
            switch outcomes[1] {
            case .succeeded: break
            case .failed(let failure):
                try judgeHoldFailure(failure, snapshot: snapshot, on: source, context: "holding the new snapshot")
                held = failure.stderrTail.contains("tag already exists")
            case .notRun:
                if let failure = changes.change(hold, on: source) {
                    try judgeHoldFailure(failure, snapshot: snapshot, on: source, context: "holding the new snapshot")
                    held = failure.stderrTail.contains("tag already exists")
                }
            }
        } catch {
            discardSourceSnapshot(try snapshotName(dataset, snapshot), held: false, reason: "it could not be held")
            throw error
        }

        guard !rendering, case .succeeded(let stdout) = outcomes[2], stdout.utf8.count <= HostSession.outputLimit else {
            return TakenSnapshot(held: held, sourceState: nil)
        }
        return TakenSnapshot(held: held, sourceState: try? state(of: dataset, on: source, from: stdout))
    }
}
