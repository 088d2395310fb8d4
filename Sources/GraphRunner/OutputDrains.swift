import CommandGraph
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lets a run stop its drain threads: firing it closes the write end of a pipe every drain also polls.
/// Used when a process has exited but a grandchild still holds its stderr or stdout open.
final class AbandonSignal: @unchecked Sendable {
    let readEnd: Int32
    private let writeEnd: Int32
    private let lock = NSLock()
    private var fired = false

    init() throws {
        (readEnd, writeEnd) = try Descriptors.makePipe()
    }

    func fire() {
        lock.withLock {
            if !fired { close(writeEnd) }
            fired = true
        }
    }

    /// Fires, then closes the read end. Call only once every drain polling it has finished.
    func dispose() {
        fire()
        close(readEnd)
    }
}

/// Reads `fd` on a dedicated thread with blocking reads until EOF or until `abandon` fires, then
/// closes it. `consume` gets each chunk; `finish` runs once at the end, before `group` is left.
func startDrain(
    fd: Int32, abandon: AbandonSignal, group: DispatchGroup, name: String,
    consume: @escaping @Sendable (UnsafeRawBufferPointer) -> Void, finish: @escaping @Sendable () -> Void
) {
    group.enter()
    let thread = Thread {
        defer {
            close(fd)
            finish()
            group.leave()
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var watched = [
            pollfd(fd: abandon.readEnd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            if poll(&watched, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if watched[0].revents != 0 { return }
            guard watched[1].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { consume(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
    thread.name = name
    thread.start()
}

/// Collects one stage's stderr: splits it into lines for the observer, records remote status markers,
/// and keeps a bounded tail of everything else.
final class StderrCollector: @unchecked Sendable {
    static let tailLimit = 64 * 1024

    private let stage: StageID
    private let observer: (@Sendable (StageID, String) -> Void)?
    private let onLine: @Sendable () -> Void
    private let lock = NSLock()
    private var partialLine: [UInt8] = []
    private var tail: [UInt8] = []
    private var statuses: [Int32?]
    private var finished = false
    private var byteCount: UInt64 = 0

    /// `onLine` is called (without the lock held) after each batch of lines, for stall detection.
    init(
        stage: StageID, remoteStageCount: Int, observer: (@Sendable (StageID, String) -> Void)?,
        onLine: @escaping @Sendable () -> Void
    ) {
        self.stage = stage
        self.observer = observer
        self.onLine = onLine
        self.statuses = Array(repeating: nil, count: remoteStageCount)
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        var lines: [String] = []
        lock.withLock {
            byteCount += UInt64(bytes.count)
            var start = bytes.startIndex
            while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                partialLine += bytes[start..<newline]
                if let line = takeLine() { lines.append(line) }
                start = newline + 1
            }
            partialLine += bytes[start...]
            // A line longer than the whole tail is passed on in pieces rather than kept growing.
            if partialLine.count >= Self.tailLimit, let line = takeLine() { lines.append(line) }
        }
        deliver(lines)
    }

    /// Passes on the last line if it had no newline. Called once the stream ended or was abandoned.
    func finish() {
        var lines: [String] = []
        lock.withLock {
            if !partialLine.isEmpty, let line = takeLine() { lines.append(line) }
            finished = true
        }
        deliver(lines)
    }

    var isFinished: Bool { lock.withLock { finished } }

    /// Every byte the stage wrote to stderr, marker lines included.
    var totalBytes: UInt64 { lock.withLock { byteCount } }

    var remoteStatuses: [Int32?] { lock.withLock { statuses } }

    /// The last `tailLimit` bytes of stderr, marker lines excluded.
    var tailText: String {
        lock.withLock { String(decoding: tail.suffix(Self.tailLimit), as: UTF8.self) }
    }

    /// Turns `partialLine` into a line: a marker is recorded, anything else joins the tail and is
    /// returned for the observer. Call with the lock held.
    private func takeLine() -> String? {
        var bytes = partialLine
        partialLine.removeAll(keepingCapacity: true)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        if let marker = RemoteStageStatus.parse(Substring(text)) {
            if statuses.indices.contains(marker.index) { statuses[marker.index] = marker.status }
            return nil
        }
        tail += bytes
        tail.append(UInt8(ascii: "\n"))
        if tail.count > 2 * Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
        return text
    }

    private func deliver(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        onLine()
        if let observer {
            for line in lines { observer(stage, line) }
        }
    }
}

/// Collects a pipeline's stdout: keeps the first `limit` bytes and drains the rest, noting that it did.
final class CaptureCollector: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var kept: [UInt8] = []
    private var dropped = false

    init(limit: Int) {
        self.limit = max(limit, 0)
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        lock.withLock {
            let room = limit - kept.count
            if room > 0 { kept += bytes.prefix(room) }
            if bytes.count > room { dropped = true }
        }
    }

    var bytes: [UInt8] { lock.withLock { kept } }
    /// More than `limit` bytes came.
    var overflowed: Bool { lock.withLock { dropped } }
}
