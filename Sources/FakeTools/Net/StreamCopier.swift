import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes moved so far, shared between the copying thread and the status thread.
final class TransferProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var moved = 0
    private var lastMove = NetIO.now()
    let started = NetIO.now()

    var bytes: Int { lock.withLock { moved } }
    var lastActivity: Double { lock.withLock { lastMove } }

    func add(_ count: Int) {
        lock.withLock {
            moved += count
            lastMove = NetIO.now()
        }
    }
}

/// Copies input to outputs with large chunks, through splice(2) when one side is a pipe and there is a
/// single output, else read/write with a 1 MiB buffer. An optional byte limit (the drop fault) and an
/// optional rate (token bucket paced from the start) apply.
struct StreamCopier {
    enum Outcome: Equatable {
        case finished
        case limitReached
        case readError(Int32)
        case writeError(output: Int, Int32)
    }

    let input: Int32
    let outputs: [Int32]
    let limit: Int?
    let rate: Double?
    let blockSize: Int?
    let progress: TransferProgress
    /// False where the real tool writes with write(2), so that `/proc/<pid>/io` counts the stream as it
    /// counts the real tool's (splice(2) moves bytes past those counters).
    var splices = true

    func copy() -> Outcome {
        var chunk = 1 << 20
        if let rate { chunk = max(4096, min(chunk, Int(rate / 20))) }
        if let blockSize, rate != nil, blockSize > 0 { chunk = min(chunk, max(blockSize, 4096)) }
        if splices, outputs.count == 1, NetIO.splice != nil, NetIO.isPipe(input) || NetIO.isPipe(outputs[0]) {
            if let outcome = spliceLoop(chunk: chunk) { return outcome }
        }
        return readWriteLoop(chunk: chunk)
    }

    private var remainingAllowance: Int { limit.map { max(0, $0 - progress.bytes) } ?? Int.max }

    /// Waits until the rate allows `total` bytes to have been moved.
    private func pace(total: Int) {
        guard let rate else { return }
        let due = progress.started + Double(total) / rate
        NetIO.sleep(seconds: due - NetIO.now())
    }

    /// Returns nil if splice is unsupported for these descriptors before any byte moved (fall back).
    private func spliceLoop(chunk: Int) -> Outcome? {
        guard let splice = NetIO.splice else { return nil }
        for fd in [input, outputs[0]] where NetIO.isPipe(fd) { _ = fcntl(fd, NetIO.setPipeSize, Int32(1 << 20)) }
        let inputIsPipe = NetIO.isPipe(input)
        var moved = 0
        while true {
            let allowance = remainingAllowance
            if allowance == 0 { return .limitReached }
            let n = splice(input, nil, outputs[0], nil, min(chunk, allowance), NetIO.spliceMove | NetIO.spliceMore)
            if n == 0 { return .finished }
            if n < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                if code == EINVAL && moved == 0 { return nil }
                // Which side failed: a broken pipe is always the writer's; a reset is the socket's side.
                if code == EPIPE || (code == ECONNRESET && inputIsPipe) { return .writeError(output: 0, code) }
                return .readError(code)
            }
            moved += n
            progress.add(n)
            pace(total: moved)
        }
    }

    private func readWriteLoop(chunk: Int) -> Outcome {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var moved = 0
        while true {
            let allowance = remainingAllowance
            if allowance == 0 { return .limitReached }
            let n = read(input, buffer, min(chunk, allowance))
            if n == 0 { return .finished }
            if n < 0 {
                if errno == EINTR { continue }
                return .readError(errno)
            }
            for (index, fd) in outputs.enumerated() where !NetIO.writeAll(fd, buffer, n) {
                return .writeError(output: index, errno)
            }
            moved += n
            progress.add(n)
            pace(total: moved)
        }
    }
}

/// Prints a status line every half second while the copy runs, and runs the `-W` watchdog.
final class StatusMonitor: @unchecked Sendable {
    static let interval = 0.5
    private let progress: TransferProgress
    private let reporter: MbufferReporter
    private let watchdog: Double?
    private let done = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(progress: TransferProgress, reporter: MbufferReporter, watchdog: Double?) {
        self.progress = progress
        self.reporter = reporter
        self.watchdog = watchdog
    }

    func start() {
        let thread = Thread { [self] in
            var lastBytes = 0
            var lastTime = NetIO.now()
            while done.wait(timeout: .now() + StatusMonitor.interval) == .timedOut {
                let now = NetIO.now()
                let bytes = progress.bytes
                let rate = Double(bytes - lastBytes) / max(now - lastTime, 1e-6)
                reporter.status(MbufferFormat.status(inRate: rate, outRate: rate, totalBytes: bytes, fillPercent: 0))
                lastBytes = bytes
                lastTime = now
                if let watchdog, now - progress.lastActivity > watchdog {
                    reporter.message(.error, "watchdog timeout: no I/O for \(Int(watchdog)) seconds - sending SIGINT")
                    signal(SIGINT, SIG_DFL)
                    kill(getpid(), SIGINT)
                }
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        done.signal()
        finished.wait()
    }
}
