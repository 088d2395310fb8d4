/// Several commands sent to one host as one remote line, each reporting its own exit status and
/// output separately: one round trip instead of one per command.
///
/// The line runs every command in turn (`continueAfterFailure`, for reads whose failures are answers)
/// or stops at the first that fails. After command I it prints, on stdout and on stderr,
/// `\n@zettabee-step I STATUS\n`; `RemoteSequenceOutput.split` cuts both streams back into
/// per-command parts (the leading newline ends a last line the command left open, and is removed again).
public enum RemoteSequence {
    public static let prefix = "@zettabee-step "

    /// `ssh OPTIONS -- DEST LINE` for `commands`, every word quoted by `ShellQuoting`.
    public static func lower(_ commands: [Command], on destination: SSHDestination, continueAfterFailure: Bool) -> ProcessSpec {
        let head = destination.optionArguments + ["--", destination.destination]
        let line = self.line(commands.map(\.argv), continueAfterFailure: continueAfterFailure)
        let display = self.line(commands.map(\.displayArgv), continueAfterFailure: continueAfterFailure)
        let labels = commands.map(\.label)
        return ProcessSpec(
            executable: "ssh", arguments: head + [line], display: ["ssh"] + head + [display],
            label: "ssh \(destination.host): " + labels.joined(separator: "; "))
    }

    /// The remote shell line (see the type's documentation).
    public static func line(_ commands: [[String]], continueAfterFailure: Bool) -> String {
        commands.enumerated().map { index, argv in
            let marker = "printf '\\n\(prefix)%s %s\\n' \(index) $s"
            let report = "s=$?; \(marker); \(marker) >&2"
            let stop = continueAfterFailure || index == commands.count - 1 ? "" : "; [ $s -eq 0 ] || exit $s"
            return "\(ShellQuoting.join(argv)); \(report)\(stop)"
        }.joined(separator: "; ")
    }
}

/// What one command of a remote sequence printed and how it ended.
public struct RemoteStep: Sendable, Hashable {
    public var stdout: String
    public var stderr: String
    /// nil when the command did not run (an earlier one failed and the line stopped).
    public var exitStatus: Int32?

    public init(stdout: String, stderr: String, exitStatus: Int32?) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitStatus = exitStatus
    }
}

public enum RemoteSequenceOutput {
    /// Cuts a sequence's stdout and stderr into `count` steps by their markers. Steps whose marker is
    /// missing did not run; text after the last marker (ssh's own complaints) goes to no step.
    public static func split(stdout: String, stderr: String, count: Int) -> [RemoteStep] {
        let out = parts(stdout, count: count)
        let err = parts(stderr, count: count)
        return (0..<count).map { index in
            RemoteStep(stdout: out.texts[index], stderr: err.texts[index], exitStatus: out.statuses[index] ?? err.statuses[index])
        }
    }

    private static func parts(_ text: String, count: Int) -> (texts: [String], statuses: [Int32?]) {
        var texts = Array(repeating: "", count: count)
        var statuses = [Int32?](repeating: nil, count: count)
        var current: [Substring] = []
        var step = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(RemoteSequence.prefix) {
                let fields = line.dropFirst(RemoteSequence.prefix.count).split(separator: " ")
                if fields.count == 2, let index = Int(fields[0]), let status = Int32(fields[1]), index == step, step < count {
                    // The marker's leading newline: drop the empty line it made.
                    if current.last?.isEmpty == true { current.removeLast() }
                    texts[step] = current.isEmpty ? "" : current.joined(separator: "\n") + "\n"
                    statuses[step] = status
                    step += 1
                    current = []
                    continue
                }
            }
            current.append(line)
        }
        return (texts, statuses)
    }
}
