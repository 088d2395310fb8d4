import CommandGraph

/// What state a pair is in, judged from both sides. Pure.
public enum PairCondition: Hashable, Sendable {
    /// No trace of the pair: the destination does not exist and the source records no base.
    case uninitialized
    /// Both sides hold the base snapshot with the same GUID.
    case synchronized(base: String)
    /// Something does not add up; the reason says what.
    case inconsistent(String)

    public var stateName: String {
        switch self {
        case .uninitialized: "Uninitialized"
        case .synchronized: "Synchronized"
        case .inconsistent: "Inconsistent!"
        }
    }

    /// Judges a pair from its source and destination filesystem states.
    ///
    /// The destination's `lastsnap` property is the truth about the base: it is written first when the
    /// base moves, so a run that died between the two sides' properties is still Synchronized.
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
        guard let destinationBase = destination.snapshot(named: base) else {
            return .inconsistent("base snapshot \(base) is missing on the destination \(pair.destination.dataset)")
        }
        guard source.exists else {
            return .inconsistent("source \(pair.source.dataset) does not exist")
        }
        guard let sourceBase = source.snapshot(named: base) else {
            return .inconsistent("base snapshot \(base) is missing on the source \(pair.source.dataset)")
        }
        guard sourceBase.guid == destinationBase.guid else {
            return .inconsistent(
                "GUID mismatch on base \(base): source \(sourceBase.guid), destination \(destinationBase.guid)")
        }
        return .synchronized(base: base)
    }

    /// A `lastsnap` value names the base by its short name; older installations wrote `fs@name`.
    public static func baseName(_ recorded: String) -> String {
        guard let at = recorded.lastIndex(of: "@") else { return recorded }
        return String(recorded[recorded.index(after: at)...])
    }
}
