import CommandGraph

/// What state a pair is in, judged from both sides' whole trees (the filesystem and every descendant). Pure.
public enum PairCondition: Hashable, Sendable {
    /// No trace of the pair: the destination does not exist and the source records no base.
    case uninitialized
    /// Every dataset of the tree holds the base snapshot with the same GUID on both sides.
    case synchronized(base: String)
    /// Every dataset of the tree still holds the base on both sides, but a failed run left part of a
    /// newer transfer behind (a partial receive, or a new snapshot on only part of the tree). The next
    /// update completes, resumes or rolls it back; the reason names the dataset.
    case interrupted(base: String, reason: String)
    /// Something does not add up; the reason says what, naming the dataset.
    case inconsistent(String)

    public var stateName: String {
        switch self {
        case .uninitialized: "Uninitialized"
        case .synchronized: "Synchronized"
        case .interrupted: "Resumable"
        case .inconsistent: "Inconsistent!"
        }
    }

    /// The base every dataset of the tree holds, when there is one.
    public var base: String? {
        switch self {
        case .synchronized(let base), .interrupted(let base, _): base
        case .uninitialized, .inconsistent: nil
        }
    }

    /// Judges a pair from its source and destination trees.
    ///
    /// The destination's `lastsnap` property is the truth about the base: it is written first when the
    /// base moves, so a run that died between the two sides' properties is still Synchronized.
    ///
    /// Children: a source child that lacks the base and is absent from the destination was created
    /// after the base and goes with the next update; a destination child whose source is gone is kept
    /// (the last copy of its data) and no longer updated. Either way the rest of the tree decides.
    public static func assess(pair: Pair, source: DatasetState, destination: DatasetState) -> PairCondition {
        let properties = pair.properties
        let fingerprint = pair.fingerprint.description
        guard destination.exists else {
            if let recorded = source.value(properties.lastSnapshot) {
                return .inconsistent(
                    "destination \(pair.destination.dataset) does not exist but the source records base \(baseName(recorded))")
            }
            return .uninitialized
        }
        if let owner = destination.value(PairProperties.fingerprint), owner != fingerprint {
            return .inconsistent(
                "fingerprint mismatch: destination \(pair.destination.dataset) belongs to pair \(owner), not \(fingerprint)")
        }
        guard let recorded = destination.value(properties.lastSnapshot) else {
            return .inconsistent("destination \(pair.destination.dataset) exists but records no base snapshot of this pair")
        }
        let base = baseName(recorded)
        guard destination.snapshot(named: base) != nil else {
            return .inconsistent("base snapshot \(base) is missing on the destination \(pair.destination.dataset)")
        }
        guard source.exists else {
            return .inconsistent("source \(pair.source.dataset) does not exist")
        }
        for sourceMember in source.tree {
            let relative = source.relativeName(of: sourceMember)
            let destinationMember = destination.member(at: relative)
            let destinationName = pair.destination.dataset.rawValue + relative
            guard let sourceBase = sourceMember.snapshot(named: base) else {
                if relative.isEmpty {
                    return .inconsistent("base snapshot \(base) is missing on the source \(sourceMember.dataset)")
                }
                // Created on the source after the base: the next update sends it whole. A copy on the
                // destination can only be a failed run's partial work.
                if let destinationMember, !destinationMember.snapshots.isEmpty || destinationMember.hasPartialReceive {
                    return .interrupted(
                        base: base,
                        reason: "\(destinationName) was partly received by a failed run (it has no base \(base))")
                }
                continue
            }
            guard let destinationMember else {
                return .inconsistent("\(destinationName) is missing on the destination (its source \(sourceMember.dataset) holds the base \(base))")
            }
            guard let destinationBase = destinationMember.snapshot(named: base) else {
                return .inconsistent("base snapshot \(base) is missing on the destination \(destinationName)")
            }
            guard sourceBase.guid == destinationBase.guid else {
                return .inconsistent(
                    "GUID mismatch on base \(base) of \(destinationName): source \(sourceBase.guid), destination \(destinationBase.guid)")
            }
        }
        if let partial = destination.tree.first(where: \.hasPartialReceive) {
            return .interrupted(base: base, reason: "\(partial.dataset) holds a partial receive")
        }
        if let reason = partialTransfer(pair: pair, base: base, source: source, destination: destination) {
            return .interrupted(base: base, reason: reason)
        }
        return .synchronized(base: base)
    }

    /// Why the tree is partly updated: a snapshot of this pair newer than the base that some datasets of
    /// the destination tree hold and others (that the source has it for) do not. nil when there is none.
    static func partialTransfer(pair: Pair, base: String, source: DatasetState, destination: DatasetState) -> String? {
        for destinationMember in destination.tree {
            guard let baseRecord = destinationMember.snapshot(named: base) else { continue }
            for record in destinationMember.snapshots where record.createTXG > baseRecord.createTXG
                && PairSnapshotName.isSnapshot(record.snapshot, of: pair.fingerprint)
            {
                let name = record.snapshot.name
                if let lacking = source.tree.first(where: { member in
                    member.snapshot(named: name) != nil
                        && destination.member(at: source.relativeName(of: member))?.snapshot(named: name) == nil
                }) {
                    let lackingName = pair.destination.dataset.rawValue + source.relativeName(of: lacking)
                    return "\(name) reached \(destinationMember.dataset) but not \(lackingName)"
                }
            }
        }
        return nil
    }

    /// A `lastsnap` value names the base by its short name; older installations wrote `fs@name`.
    public static func baseName(_ recorded: String) -> String {
        guard let at = recorded.lastIndex(of: "@") else { return recorded }
        return String(recorded[recorded.index(after: at)...])
    }
}

extension DatasetState {
    /// `receive_resume_token` is set: an interrupted `receive -s` waits here.
    public var hasPartialReceive: Bool { value(PropertyName.receiveResumeToken.rawValue) != nil }
}
