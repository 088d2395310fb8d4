import CommandGraph

/// The stream's size as the source's zfs estimates it: `zfs send -nvP` with the stream's own flags
/// (OpenZFS; old zfs has no estimates). Asked by a run whose progress line is drawn, and by `runstatus`
/// for a run that did not ask (cron's), from the stream that run recorded.
public enum SizeEstimate {
    /// `zfs send -n -v -P` of the same stream: the same snapshot, base, `-R` and format flags, or the
    /// same resume token.
    public static func command(for send: SendSpecification) throws(InvalidValue) -> Command {
        if let token = send.resumeToken {
            return try ZFS.resumeSend(token: token, estimateOnly: true, verbose: true, parsable: true)
        }
        return ZFS.send(
            send.snapshot, incremental: send.base.map { ZFS.Incremental.from($0) }, replicate: send.recursive,
            raw: send.format.raw, largeBlocks: send.format.largeBlocks, compressed: send.format.compressed,
            embedded: send.format.embedded, estimateOnly: true, verbose: true, parsable: true)
    }

    /// The `size\tBYTES` line of `zfs send -nvP` output (the last one, the total).
    public static func parse(_ output: String) -> UInt64? {
        output.split(separator: "\n").reversed().lazy.compactMap { line -> UInt64? in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count == 2, fields[0] == "size" else { return nil }
            return UInt64(fields[1])
        }.first
    }
}

/// The stream a run sends, as its progress file records it, so that `runstatus` can ask the source for
/// that stream's size (`SizeEstimate`) when the run did not. Names are checked again when read back.
public struct RecordedStream: Codable, Hashable, Sendable {
    public var snapshot: String
    public var base: String?
    public var recursive: Bool
    public var resumeToken: String?
    public var raw: Bool
    public var largeBlocks: Bool
    public var compressed: Bool
    public var embedded: Bool

    public init(_ send: SendSpecification) {
        snapshot = send.snapshot.description
        base = send.base?.description
        recursive = send.recursive
        resumeToken = send.resumeToken
        raw = send.format.raw
        largeBlocks = send.format.largeBlocks
        compressed = send.format.compressed
        embedded = send.format.embedded
    }

    /// The send again, its names and token validated as any name zettabee uses.
    public func specification() throws(InvalidValue) -> SendSpecification {
        var send = SendSpecification(
            snapshot: try SnapshotName(parsing: snapshot), base: try base.map { (name) throws(InvalidValue) in try SnapshotName(parsing: name) },
            recursive: recursive, resumeToken: resumeToken)
        send.format.raw = raw
        send.format.largeBlocks = largeBlocks
        send.format.compressed = compressed
        send.format.embedded = embedded
        return send
    }
}
