/// Told what a run is doing while it runs: which phase, and how far the transfer got. Called from the
/// run's threads (the transfer's progress comes from the runner's watching thread); must be thread-safe.
public protocol ReplicationObserver: AnyObject, Sendable {
    /// A new phase began: `reading state`, `snapshot`, `transfer`, `verify`, `record base`.
    /// `estimatedBytes` is the expected stream size, when known.
    func phase(_ name: String, estimatedBytes: UInt64?)
    /// The transfer moved: bytes received so far and seconds since it started.
    func transferred(bytes: UInt64, elapsed: Double)
}
