/// What `--help` and `--version` print.
public enum HelpText {
    public static let version = "0.1.0"

    public static let usageLine = "Usage: zettabee [options] <action> [<destination>]"

    /// `zettabee <version>`.
    public static var versionLine: String { "zettabee \(version)" }

    /// The full help, ending in a newline: every action and option, one line each.
    public static var text: String {
        var lines = [
            "zettabee: replicate remote ZFS filesystems into local ones, unattended.",
            "",
            usageLine,
            "",
            "<destination> is a pair's destination as host:pool/fs, pool/fs, or its last",
            "path component when only one pair's destination ends in it.",
            "",
            "Actions:",
        ]
        let actionWidth = Action.allCases.map(\.rawValue.count).max()! + 2
        for action in Action.allCases {
            lines.append("  " + padded(action.rawValue, actionWidth) + action.summary)
        }
        lines += ["", "Options:"]
        let optionWidth = OptionSpec.allCases.map { $0.usageName.count }.max()! + 2
        for spec in OptionSpec.allCases {
            var summary = spec.summary
            if let variable = spec.environmentVariable { summary += "; env \(variable)" }
            if let actions = spec.actions { summary += " [\(actions.map(\.rawValue).joined(separator: ", "))]" }
            lines.append("  " + padded(spec.usageName, optionWidth) + summary)
        }
        lines += ["", "Options may come before or after the action; '--' ends them.",
                  "The command line overrides the environment, which overrides the defaults."]
        return lines.joined(separator: "\n") + "\n"
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
}
