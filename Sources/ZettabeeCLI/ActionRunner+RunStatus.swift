import CommandGraph
import Foundation
import GraphRunner
import Zettabee

extension ActionRunner {
    /// How often `runstatus` looks at the progress file.
    static let runStatusPollInterval = 0.25

    /// `runstatus <destination>`: follows a running initialize/update through its progress file until it
    /// ends, then prints the run's summary. Only reads files: Ctrl-C ends the watching, never the transfer.
    /// Exit 0 when the run it followed succeeded, 1 when it failed or nothing was running.
    func runStatus(_ pair: Pair) -> Int32 {
        let progressPath = files.progressPath(for: pair.fingerprint)
        let lockPath = files.lockPath(for: pair.fingerprint)
        guard case .held = PairLock.inspect(path: lockPath), let first = RunProgress.load(from: progressPath) else {
            var message = "not running"
            if let last = RunRecord.load(from: files.lastRunPath(for: pair.fingerprint)) {
                message += "; last run: \(ProgressText.summary(last)) (ended \(StatusFormatter.iso(last.end)))"
            }
            return fail(pair, ActionError(message))
        }
        let live = isatty(STDOUT_FILENO) == 1
        var shown: Date?
        var latest = first
        var size: StreamSizeAnswer?
        while true {
            guard var progress = RunProgress.load(from: progressPath), progress.started == first.started else { break }
            latest = progress
            if progress.estimatedBytes == nil, let stream = progress.stream {
                if size == nil { size = askSize(of: stream, sentBy: pair) }
                if let bytes = size?.bytes { progress.estimate(bytes) }
            }
            if progress.updated != shown {
                shown = progress.updated
                if live {
                    FileHandle.standardOutput.write(Data(("\r" + ProgressText.bar(progress) + "\u{1B}[K").utf8))
                } else {
                    terminal.out(ProgressText.line(progress))
                }
            }
            if case .held = PairLock.inspect(path: lockPath) {} else { break }
            Thread.sleep(forTimeInterval: Self.runStatusPollInterval)
        }
        if live { FileHandle.standardOutput.write(Data("\n".utf8)) }
        guard let record = RunRecord.load(from: files.lastRunPath(for: pair.fingerprint)),
              record.start.timeIntervalSince(latest.started) > -1.5
        else {
            return fail(pair, ActionError("the \(latest.action) ended without recording a result (was it killed?)"))
        }
        terminal.out(ProgressText.summary(record))
        return record.result == .success ? 0 : 1
    }

    /// Asks the source, in the background, for the size of the stream a run is sending (a run without a
    /// terminal does not ask itself): the same `zfs send -nvP` a run with a progress line runs. The
    /// watching goes on meanwhile; without an answer it shows bytes and rate only.
    func askSize(of stream: RecordedStream, sentBy pair: Pair) -> StreamSizeAnswer {
        let answer = StreamSizeAnswer()
        guard let command = try? SizeEstimate.command(for: try stream.specification()),
              let source = try? TransferPlanner.sourceLocation(of: pair, sshConfig: options.sshConfigPath)
        else { return answer }
        let debug = options.debug
        let session = HostSession(
            host: pair.source.host.rawValue, location: .remote(source), executor: executor,
            runOptions: RunOptions(timeout: 60),
            observer: { command in
                if debug { FileHandle.standardError.write(Data("zettabee: debug: run: \(command)\n".utf8)) }
            })
        let thread = Thread {
            if let output = try? session.run(command, limit: 1 << 20) { answer.set(SizeEstimate.parse(output)) }
        }
        thread.name = "size estimate"
        thread.start()
        return answer
    }
}

/// The source's answer to `runstatus`'s size question, once it arrives.
final class StreamSizeAnswer: @unchecked Sendable {
    private let lock = NSLock()
    private var answer: UInt64?
    var bytes: UInt64? { lock.withLock { answer } }
    func set(_ bytes: UInt64?) { lock.withLock { answer = bytes } }
}
