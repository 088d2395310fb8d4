import CommandGraph
import Foundation
import Zettabee

extension ActionRunner {
    /// Reads every named pair's status: one zfs call per host (two on the destination host), hosts at once.
    func readStatuses(_ pairs: [Pair]) -> [PairStatus] {
        let debug = options.debug
        let reader = StatusReader(
            files: files, sshConfig: options.sshConfigPath, executor: executor,
            observer: { command in
                if debug { FileHandle.standardError.write(Data("zettabee: debug: run: \(command)\n".utf8)) }
            })
        return reader.read(pairs)
    }

    /// `status [<destination>] [--full-status] [-H] [--json]`. Exits 1 (with one stderr line per pair) when
    /// some pair's state could not be read.
    func status(_ pairs: [Pair]) -> Int32 {
        let statuses = readStatuses(pairs)
        if options.json {
            terminal.out(StatusFormatter.json(statuses, now: Date()))
        } else if options.scriptedOutput {
            for line in StatusFormatter.scripted(statuses, full: options.fullStatus) { terminal.out(line) }
        } else {
            let heading = isatty(STDOUT_FILENO) == 1
            for line in StatusFormatter.table(statuses, full: options.fullStatus, heading: heading) { terminal.out(line) }
        }
        var code: Int32 = 0
        for status in statuses where status.condition == nil {
            terminal.err("zettabee: error: status \(status.pair.destination.dataset): \(status.problem ?? "state unknown")")
            code = 1
        }
        return publishMetrics(after: code, statuses: invocation.destination == nil ? statuses : nil)
    }

    /// `check [<destination>]`: Nagios plugin output on stdout, exit 0/1/2/3 for the worst pair.
    func check() -> Int32 {
        switch loadPairs() {
        case .failure(let error):
            let line = error.message.split(separator: "\n").first.map(String.init) ?? error.message
            terminal.out("ZETTABEE UNKNOWN - \(line.replacingOccurrences(of: "|", with: "/"))")
            for line in error.message.split(separator: "\n") { terminal.err("zettabee: error: \(line)") }
            return Int32(NagiosStatus.unknown.rawValue)
        case .success(let pairs):
            let statuses = readStatuses(pairs)
            let (status, line) = CheckReport.render(statuses)
            terminal.out(line)
            // The exit code is the Nagios state: a metrics file that cannot be written does not change it.
            _ = publishMetrics(after: 0, statuses: invocation.destination == nil ? statuses : nil)
            return Int32(status.rawValue)
        }
    }
}
