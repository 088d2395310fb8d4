/// A typed command: the program to run and its arguments, before any decision about where it runs.

/// One argument of a command. It keeps what the argument *is* (a flag, a dataset, a secret…) so tests
/// and callers can reason about it, and knows the exact word passed to exec.
public struct Argument: Sendable, Hashable, CustomStringConvertible {
    /// What kind of argument this is.
    public enum Kind: Sendable, Hashable {
        /// A fixed word of the command's syntax: a subcommand such as `send`, an option such as `-R`.
        case flag(String)
        /// A plain value, such as an option's operand or a property assignment.
        case value(String)
        case dataset(DatasetName)
        case snapshot(SnapshotName)
        /// Several snapshots of one dataset in one word, `fs@a,b,c` (as `zfs destroy` accepts).
        case snapshotList(DatasetName, names: [String])
        /// Passed to the program as is, shown as `***` wherever commands are displayed.
        case secret(String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public static func flag(_ word: String) -> Argument { Argument(.flag(word)) }
    public static func value(_ word: String) -> Argument { Argument(.value(word)) }
    public static func dataset(_ name: DatasetName) -> Argument { Argument(.dataset(name)) }
    public static func snapshot(_ name: SnapshotName) -> Argument { Argument(.snapshot(name)) }
    public static func secret(_ word: String) -> Argument { Argument(.secret(word)) }
    public static func snapshotList(_ dataset: DatasetName, names: [String]) -> Argument {
        Argument(.snapshotList(dataset, names: names))
    }

    /// The word passed to the program.
    public var word: String {
        switch kind {
        case .flag(let word), .value(let word), .secret(let word): return word
        case .dataset(let name): return name.rawValue
        case .snapshot(let name): return name.rawValue
        case .snapshotList(let dataset, let names): return dataset.rawValue + "@" + names.joined(separator: ",")
        }
    }

    /// The word as shown to people: `***` for a secret, else `word`.
    public var displayWord: String { isSecret ? Argument.mask : word }

    public var isSecret: Bool {
        if case .secret = kind { return true }
        return false
    }

    public var description: String { displayWord }

    /// What a secret is shown as.
    public static let mask = "***"
}

/// A program and its arguments, e.g. `zfs send -i tank/a@1 tank/a@2`.
public struct Command: Sendable, Hashable, CustomStringConvertible {
    /// A bare program name (resolved on `PATH` where it runs) or an absolute path.
    public var executable: String
    public var arguments: [Argument]
    /// A short name for logs and errors, e.g. `zfs send`.
    public var label: String
    /// What the program says on stderr when its input ended early (`incomplete stream`): such a failure
    /// is a consequence of whatever fed it, which is blamed instead when it failed by itself.
    public var inputEndedEarlyMessages: [String]

    public init(_ executable: String, _ arguments: [Argument] = [], label: String? = nil, inputEndedEarlyMessages: [String] = []) {
        self.executable = executable
        self.arguments = arguments
        self.label = label ?? executable
        self.inputEndedEarlyMessages = inputEndedEarlyMessages
    }

    /// The exact argv: the executable, then every argument word.
    public var argv: [String] { [executable] + arguments.map(\.word) }
    /// The argv with secrets masked, for display only.
    public var displayArgv: [String] { [executable] + arguments.map(\.displayWord) }

    public var description: String { ShellQuoting.join(displayArgv) }
}
