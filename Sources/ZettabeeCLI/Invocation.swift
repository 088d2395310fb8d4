/// A parsed command line.
public enum CommandLineRequest: Hashable, Sendable {
    case run(Invocation)
    /// `-h, --help`: print `HelpText.text` to stdout, exit 0.
    case help
    /// `-V, --version`: print `HelpText.versionLine` to stdout, exit 0.
    case version
    /// `--help-man` (not in `--help`): print `HelpText.manualPage`, the manual page zettabee(8), exit 0.
    case manual
}

/// An action to perform, with its destination and options.
public struct Invocation: Hashable, Sendable {
    public var action: Action
    /// `<destination>` as typed; resolve it with `DestinationResolver`.
    public var destination: String?
    public var options: Options

    public init(action: Action, destination: String? = nil, options: Options = Options()) {
        self.action = action
        self.destination = destination
        self.options = options
    }
}

/// A command line zettabee cannot run. Printed to stderr as `Error: …`, the usage line and a
/// pointer to `--help`; the process exits with `exitCode`.
public struct UsageError: Error, Hashable, Sendable, CustomStringConvertible {
    public static let exitCode: Int32 = 2

    /// One line, without the `Error: ` prefix.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// The full text for stderr, ending in a newline.
    public var rendered: String {
        "Error: \(message)\n\(HelpText.usageLine)\nSee 'zettabee --help'.\n"
    }
}
