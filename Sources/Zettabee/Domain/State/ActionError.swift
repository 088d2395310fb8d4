import CommandGraph

/// Why an action on a pair did not succeed: the one line the operator sees, the exit code, and the
/// Nagios status it is reported as.
public struct ActionError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// 1: the operation failed; 2: usage or configuration error.
    public var exitCode: Int32
    public var nagios: NagiosStatus
    /// Several lines for the log (commands, stderr tails).
    public var details: String?
    /// Set when the run was ended by SIGINT/SIGTERM/SIGHUP: zettabee exits 128 + signal.
    public var signal: Int32?

    public init(_ message: String, exitCode: Int32 = 1, nagios: NagiosStatus = .critical, details: String? = nil, signal: Int32? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.nagios = nagios
        self.details = details
        self.signal = signal
    }

    public var description: String { message }

    init(_ failure: CommandFailure, context: String? = nil) {
        let prefix = context.map { "\($0): " } ?? ""
        self.init(
            prefix + failure.description, nagios: .critical,
            details: "command: \(failure.command)\n\(failure.runnerMessage)\n\(failure.stderrTail)",
            signal: failure.interruptedBySignal)
    }
}
