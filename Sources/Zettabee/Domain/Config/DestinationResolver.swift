import CommandGraph
/// Finds the pair a user means by `<destination>` on the command line: `host:pool/fs`,
/// `pool/fs`, or the filesystem's last path component when that names one pair only.
public enum DestinationResolver {
    /// The pair whose destination `text` names. Tried in order: the full `host:pool/fs`,
    /// then `pool/fs`, then the last component; the first form that matches decides.
    public static func resolve(_ text: String, in pairs: [Pair]) throws(DestinationError) -> Pair {
        let forms: [(Pair) -> Bool] = [
            { $0.destination.description == text || "\($0.destination.host.rawValue):\($0.destination.dataset)" == text },
            { $0.destination.dataset.rawValue == text },
            { $0.destination.dataset.lastComponent == text },
        ]
        for matches in forms {
            let found = pairs.filter(matches)
            if found.count == 1 { return found[0] }
            if found.count > 1 {
                throw DestinationError(query: text, kind: .ambiguous, candidates: found.map(\.destination.description))
            }
        }
        throw DestinationError(query: text, kind: .unknown, candidates: pairs.map(\.destination.description))
    }
}

/// `<destination>` named no pair, or more than one.
public struct DestinationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case unknown, ambiguous
    }

    public var query: String
    public var kind: Kind
    /// For `.ambiguous`, the destinations that matched; for `.unknown`, every configured one.
    public var candidates: [String]

    public var description: String {
        let list = candidates.joined(separator: ", ")
        switch kind {
        case .ambiguous:
            return "destination \(UntrustedText.quoted(query)) is ambiguous; it matches: \(list)"
        case .unknown:
            return candidates.isEmpty
                ? "no pair has the destination \(UntrustedText.quoted(query)); the configuration has no pairs"
                : "no pair has the destination \(UntrustedText.quoted(query)); configured destinations: \(list)"
        }
    }
}
