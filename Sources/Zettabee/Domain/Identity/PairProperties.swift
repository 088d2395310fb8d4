/// The ZFS user properties through which a pair records its state on the destination (and the
/// source) filesystem. Names are those of the original Zettabee.
public struct PairProperties: Hashable, Sendable {
    public let fingerprint: Fingerprint

    public init(_ fingerprint: Fingerprint) {
        self.fingerprint = fingerprint
    }

    /// `zettabee:<fp>:source`: the pair's source, `host:pool/fs`.
    public var source: String { "zettabee:\(fingerprint):source" }
    /// `zettabee:<fp>:destination`: the pair's destination, `host:pool/fs`.
    public var destination: String { "zettabee:\(fingerprint):destination" }
    /// `zettabee:<fp>:lastsnap`: the last snapshot both sides hold, the next incremental base.
    public var lastSnapshot: String { "zettabee:\(fingerprint):lastsnap" }

    /// `zettabee:fingerprint`: the fingerprint of the pair a filesystem belongs to.
    public static let fingerprint = "zettabee:fingerprint"

    /// All of this pair's property names, for one `zfs get`.
    public var all: [String] { [source, destination, lastSnapshot, PairProperties.fingerprint] }
}
