/// A replication pair: a remote source filesystem replicated into a local destination.
public struct Pair: Hashable, Sendable, CustomStringConvertible {
    public var source: Endpoint
    public var destination: Endpoint
    public var options: PairOptions
    /// The configuration line the pair was read from (1-based), for messages.
    public var line: Int

    public init(source: Endpoint, destination: Endpoint, options: PairOptions = PairOptions(), line: Int = 0) {
        self.source = source
        self.destination = destination
        self.options = options
        self.line = line
    }

    public var fingerprint: Fingerprint { Fingerprint(source: source, destination: destination) }

    public var properties: PairProperties { PairProperties(fingerprint) }

    /// `source destination`, as in the configuration.
    public var description: String { "\(source) \(destination)" }
}
