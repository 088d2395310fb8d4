import Foundation

/// A running initialize or update, as published in `<run-dir>/<fp>.progress.json` (replaced atomically
/// at least once a second while the run lives, removed when it ends):
///
///     {"action":"update","bytes":5242880,"elapsed":2.5,"estimatedBytes":20971520,"eta":7.5,
///      "phase":"transfer","pid":4242,"rate":2097152,"started":"2026-11-26T18:33:19Z",
///      "updated":"2026-11-26T18:33:22Z"}
///
/// `bytes` and `rate` (bytes per second) count the stream received so far; `elapsed` is the transfer's
/// seconds; `estimatedBytes` and `eta` are present only when the stream's size is known. `stream` (where
/// the source estimates sizes) is the stream being sent, for `runstatus` to ask its size when the run
/// did not.
public struct RunProgress: Codable, Hashable, Sendable {
    public var action: String
    public var pid: Int32
    public var started: Date
    public var updated: Date
    public var phase: String
    public var bytes: UInt64
    public var rate: Double
    public var elapsed: Double
    public var estimatedBytes: UInt64?
    public var eta: Double?
    public var stream: RecordedStream?

    public init(action: String, pid: Int32, started: Date) {
        self.action = action
        self.pid = pid
        self.started = started
        self.updated = started
        self.phase = "starting"
        self.bytes = 0
        self.rate = 0
        self.elapsed = 0
    }

    /// Folds in a transfer sample: rate over the whole transfer, ETA from the estimate.
    public mutating func record(bytes: UInt64, elapsed: Double) {
        self.bytes = max(self.bytes, bytes)
        self.elapsed = elapsed
        rate = elapsed > 0 ? Double(self.bytes) / elapsed : 0
        if let estimatedBytes, rate > 0 {
            eta = max(0, Double(estimatedBytes) - Double(self.bytes)) / rate
        } else {
            eta = nil
        }
    }

    /// Takes `bytes` as the stream's size (an estimate learnt later) and works out the ETA again.
    public mutating func estimate(_ bytes: UInt64) {
        estimatedBytes = bytes
        record(bytes: self.bytes, elapsed: elapsed)
    }

    public static func load(from path: String) -> RunProgress? {
        guard let data = AtomicFile.read(path) else { return nil }
        return try? StateJSON.decoder.decode(RunProgress.self, from: data)
    }

    func encoded() throws -> Data { try StateJSON.encoder.encode(self) }
}

/// Publishes a run's progress: keeps the latest `RunProgress` and rewrites the progress file every half
/// second from its own thread (so the file stays fresh between the runner's samples), and hands each
/// update to `display` (a progress bar on a terminal). `finish()` stops it and removes the file.
public final class ProgressPublisher: ReplicationObserver, @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var progress: RunProgress
    private var stopped = false
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let display: (@Sendable (RunProgress) -> Void)?
    /// A progress line is drawn: worth asking the source for the stream's size.
    public var wantsSizeEstimate: Bool { display != nil }
    private let now: @Sendable () -> Date

    public init(
        path: String, action: String, pid: Int32 = getpid(), now: @escaping @Sendable () -> Date = Date.init,
        display: (@Sendable (RunProgress) -> Void)? = nil
    ) {
        self.path = path
        self.now = now
        self.display = display
        self.progress = RunProgress(action: action, pid: pid, started: now())
        let thread = Thread { [self] in loop() }
        thread.name = "progress"
        thread.start()
    }

    public var current: RunProgress { lock.withLock { progress } }

    public func phase(_ name: String, estimatedBytes: UInt64?) {
        lock.withLock {
            progress.phase = name
            if let estimatedBytes { progress.estimatedBytes = estimatedBytes }
        }
    }

    public func sending(_ stream: RecordedStream) {
        lock.withLock { progress.stream = stream }
    }

    public func transferred(bytes: UInt64, elapsed: Double) {
        let snapshot = lock.withLock {
            progress.record(bytes: bytes, elapsed: elapsed)
            return progress
        }
        display?(snapshot)
    }

    /// Stops publishing and removes the progress file.
    public func finish() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        wake.signal()
        done.wait()
        unlink(path)
    }

    private func loop() {
        while true {
            let (snapshot, isStopped) = lock.withLock {
                progress.updated = now()
                return (progress, stopped)
            }
            if isStopped { break }
            if let data = try? snapshot.encoded() { try? AtomicFile.write(data, to: path) }
            _ = wake.wait(timeout: .now() + 0.5)
        }
        done.signal()
    }
}
