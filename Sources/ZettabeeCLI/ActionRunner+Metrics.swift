import Foundation
import Zettabee

extension ActionRunner {
    /// `metrics [<destination>]`: every pair's (or the one pair's) Prometheus metrics on stdout. With
    /// `--metrics-dir`, also written there. Exit 1 when some pair's state could not be read (its
    /// `zettabee_pair_state{state="unknown"}` is 1 then).
    func metrics(_ pairs: [Pair]) -> Int32 {
        let statuses = readStatuses(pairs)
        terminal.out(String(MetricsFormatter.text(statuses, now: Date()).dropLast()))
        var code: Int32 = 0
        for status in statuses where status.condition == nil {
            terminal.err("zettabee: error: metrics \(status.pair.destination.dataset): \(status.problem ?? "state unknown")")
            code = 1
        }
        return publishMetrics(after: code, statuses: invocation.destination == nil ? statuses : nil)
    }

    /// With `--metrics-dir DIR` (or `ZETTABEE_METRICS_DIR`), writes every configured pair's metrics to
    /// `DIR/zettabee.prom` atomically (a temporary file beside it, renamed over it; node_exporter reads
    /// only `*.prom`). `statuses` are reused when they cover every pair, else every pair's status is read.
    /// Returns `code`, or at least 1 when the file could not be written. Nothing is written in a dry run.
    func publishMetrics(after code: Int32, statuses: [PairStatus]?) -> Int32 {
        guard let directory = options.metricsDirectory, !options.dryRun else { return code }
        let all: [PairStatus]
        if let statuses {
            all = statuses
        } else {
            switch loadConfiguredPairs() {
            case .success(let pairs): all = readStatuses(pairs)
            case .failure(let error):
                terminal.err("zettabee: error: \(subject(nil)): metrics not written: \(error.message)")
                return max(code, 1)
            }
        }
        let path = (directory as NSString).appendingPathComponent(MetricsFormatter.fileName)
        do {
            try AtomicFile.write(Data(MetricsFormatter.text(all, now: Date()).utf8), to: path)
        } catch {
            terminal.err("zettabee: error: \(subject(nil)): cannot write metrics \(path): \(describe(error))")
            return max(code, 1)
        }
        return code
    }
}
