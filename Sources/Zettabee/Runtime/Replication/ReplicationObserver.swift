/// Told what a run is doing while it runs: which phase, and how far the transfer got. Called from the
/// run's threads (the transfer's progress comes from the runner's watching thread); must be thread-safe.
public protocol ReplicationObserver: AnyObject, Sendable {
    /// A new phase began: `reading state`, `snapshot`, `transfer`, `verify`, `record base`.
    /// `estimatedBytes` is the expected stream size, when known.
    func phase(_ name: String, estimatedBytes: UInt64?)
    /// The transfer moved: bytes received so far and seconds since it started.
    func transferred(bytes: UInt64, elapsed: Double)
    /// True when someone watches live (a terminal's progress line): then the source's zfs is asked for
    /// the stream's size (`zfs send -nvP`), one more command, for the percent and the ETA.
    var wantsSizeEstimate: Bool { get }
    /// The stream about to be sent, told where the source estimates sizes: recorded so that `runstatus`
    /// can ask for its size when the run did not.
    func sending(_ stream: RecordedStream)
}

extension ReplicationObserver {
    public var wantsSizeEstimate: Bool { false }
    public func sending(_ stream: RecordedStream) {}
}
