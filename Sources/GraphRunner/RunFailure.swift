import CommandGraph

/// Why a graph did not succeed.
public struct RunFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// This stage failed first for its own reason (not because a neighbour died or the runner stopped it).
        case stageFailed(StageID)
        /// `RunOptions.timeout` passed; the graph was torn down.
        case timedOut(seconds: Double)
        /// Nothing moved for `RunOptions.stallTimeout`; the graph was torn down.
        case stalled(seconds: Double)
        /// zettabee received this signal (SIGINT, SIGTERM or SIGHUP); the graph was torn down.
        /// `SignalTrap.pendingSignal` is set too.
        case interrupted(signal: Int32)
        /// An executable was not found (bare name) or is not executable (path). Nothing was started.
        case missingExecutable(name: String, searchedPATH: String)
        /// A stage could not be started: its input or output file could not be opened, or exec failed.
        case startFailed(StageID, reason: String)
        /// The listener of an `.afterTCPListening` start condition never appeared (timeout, or its
        /// pipeline ended first); pipeline `pipeline` was never started.
        case listenerNotReady(pipeline: Int, port: Int, reason: String)
        /// Every stage succeeded, but pipeline `pipeline` printed more than its capture keeps (`limit`
        /// bytes): its output is incomplete, so the run is not taken as a success.
        case outputTooLarge(pipeline: Int, limit: Int)
    }

    public var kind: Kind
    /// What became of every process; `nil` when nothing was started.
    public var result: GraphResult?

    public init(kind: Kind, result: GraphResult?) {
        self.kind = kind
        self.result = result
    }

    /// The stage the failure is about, if any.
    public var stage: StageResult? {
        switch kind {
        case .stageFailed(let id), .startFailed(let id, _):
            return result?.stages[id.pipeline][id.stage]
        default:
            return nil
        }
    }

    /// One line, for logs and the terminal.
    public var description: String {
        switch kind {
        case .stageFailed(let id):
            guard let stage = result?.stages[id.pipeline][id.stage] else { return "stage \(id) failed" }
            var line = "\(stage.spec.label) (\(shellQuotedCommand(stage.spec.display))) "
            if let (index, status) = stage.failedRemoteStage, stage.termination == .exited(0) {
                let labels = stage.spec.remoteStageLabels
                let remote = index < labels.count ? labels[index] : "#\(index)"
                line += status.map { "failed: remote stage \(remote) exited with status \($0)" }
                    ?? "failed: remote stage \(remote) reported no exit status"
            } else {
                line += "failed: it " + (stage.termination?.description ?? "did not end")
            }
            if let last = stage.lastStderrLine { line += ": \(last)" }
            return line
        case .timedOut(let seconds):
            return "timed out after \(formatSeconds(seconds)); all processes were stopped"
        case .stalled(let seconds):
            return "stalled: no data moved and no message for \(formatSeconds(seconds)); all processes were stopped"
        case .interrupted(let signal):
            return "interrupted by \(signalName(signal)); all processes were stopped"
        case .missingExecutable(let name, let path):
            if name.contains("/") { return "\(name) does not exist or is not executable" }
            return "\(name) not found on PATH (\(path))"
        case .startFailed(let id, let reason):
            let label = result?.stages[id.pipeline][id.stage].spec.label ?? "stage \(id)"
            return "could not start \(label): \(reason)"
        case .listenerNotReady(let pipeline, let port, let reason):
            return "pipeline \(pipeline) was not started: nothing listened on TCP port \(port) (\(reason))"
        case .outputTooLarge(let pipeline, let limit):
            let label = result?.stages[pipeline].last?.spec.label ?? "pipeline \(pipeline)"
            return "\(label) printed more than \(limit) bytes, the most that is read of it; its output is incomplete"
        }
    }

    /// Several lines: the description, then every relevant stage's quoted command and its stderr tail,
    /// indented.
    public var details: String {
        var lines = [description]
        let relevant: [StageResult]
        if let stage {
            relevant = [stage]
        } else {
            // For teardowns, show every stage that was still running or failed.
            relevant = (result?.stages.flatMap { $0 } ?? []).filter { $0.pid != nil && !$0.succeeded }
        }
        for stage in relevant {
            lines.append("\(stage.spec.label): \(stage.termination?.description ?? "still running")")
            lines.append("  command: \(shellQuotedCommand(stage.spec.display))")
            let tail = stage.stderrTail.split(separator: "\n", omittingEmptySubsequences: false)
                .drop { $0.isEmpty }
            let shown = tail.suffix(40)
            if !shown.isEmpty {
                lines.append("  stderr" + (tail.count > shown.count ? " (last \(shown.count) lines):" : ":"))
                lines += shown.map { "    \($0)" }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// The command as shell text, quoted by the command graph's one quoting function.
func shellQuotedCommand(_ words: [String]) -> String {
    ShellQuoting.join(words)
}
private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}
