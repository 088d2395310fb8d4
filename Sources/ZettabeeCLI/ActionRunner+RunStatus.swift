import Foundation
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
        while true {
            guard let progress = RunProgress.load(from: progressPath), progress.started == first.started else { break }
            latest = progress
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
}
