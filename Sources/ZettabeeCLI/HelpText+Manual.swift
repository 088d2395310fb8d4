/// The manual page zettabee(8), rendered from the same tables as `--help` (`Action`, `OptionSpec`):
/// `zettabee --help-man > zettabee.8`.
extension HelpText {
    /// The hidden option that prints the manual page in roff (man(7)) and exits.
    public static let manualOption = "--help-man"

    public static var manualPage: String {
        var page = [
            ".TH ZETTABEE 8 \"\" \"zettabee \(version)\" \"System Administration\"",
            ".SH NAME",
            "zettabee \\- replicate remote ZFS filesystems into local ones, unattended",
            ".SH SYNOPSIS",
            ".B zettabee",
            "[\\fIoptions\\fR] \\fIaction\\fR [\\fIdestination\\fR]",
            ".SH DESCRIPTION",
            "zettabee replicates a filesystem on a remote source host (a \\fIpair\\fR's source) into a filesystem",
            "on this host (its destination): it snapshots the source over ssh and streams \\fBzfs send\\fR",
            "into a local \\fBzfs receive\\fR, through mbuffer or ssh. The first transfer is full",
            "(\\fBinitialize\\fR), the following ones incremental (\\fBupdate\\fR). It is meant to run from cron",
            "or a systemd timer: on success it prints nothing.",
            ".PP",
            "\\fIdestination\\fR is a pair's destination as \\fIhost\\fR:\\fIpool/fs\\fR, \\fIpool/fs\\fR, or its last",
            "path component when only one pair's destination ends in it.",
            ".SH ACTIONS",
        ]
        for action in Action.allCases {
            page += [".TP", "\\fB\(action.rawValue)\\fR" + (action == .setup ? "" : action.requiresDestination
                ? " \\fIdestination\\fR" : " [\\fIdestination\\fR]"), roff(action.summary) + "."]
        }
        page.append(".SH OPTIONS")
        for spec in OptionSpec.allCases {
            let names = [spec.short.map { "\\fB\\-\($0)\\fR" }, spec.long.map { "\\fB\\-\\-\(roff($0))\\fR" }]
                .compactMap { $0 }.joined(separator: ", ")
            var text = roff(spec.summary) + "."
            if let variable = spec.environmentVariable { text += " Environment: \\fB\(roff(variable))\\fR." }
            if let actions = spec.actions { text += " Applies to: " + actions.map(\.rawValue).joined(separator: ", ") + "." }
            page += [".TP", names + (spec.valueName.map { " \\fI\($0)\\fR" } ?? ""), text]
        }
        page += [
            ".PP",
            "Options may come before or after the action; \\fB\\-\\-\\fR ends them. An option given to an action it",
            "does not apply to is a usage error. The command line overrides the environment, which overrides the",
            "defaults.",
            ".SH ENVIRONMENT",
        ]
        for spec in OptionSpec.allCases {
            guard let variable = spec.environmentVariable, let long = spec.long else { continue }
            page += [".TP", "\\fB\(roff(variable))\\fR", "As \\fB\\-\\-\(roff(long))\\fR."]
        }
        page += [
            ".SH FILES",
            ".TP", roff(Options.defaultConfigPath), "The pairs, one a line: \\fISRCHOST:POOL/FS DSTHOST:POOL/FS key=value,...\\fR",
            ".TP", roff(Options.defaultRunDirectory), "Locks, progress and last-run records.",
            ".TP", roff(Options.defaultLogDirectory), "One log per pair, appended to; rotate it with logrotate.",
            ".SH EXIT STATUS",
            "0 success (also when another run of the pair holds its lock); 1 the operation failed; 2 usage or",
            "configuration error; 128+\\fIN\\fR after signal \\fIN\\fR. \\fBcheck\\fR exits with the Nagios state 0\\(en3.",
            ".SH EXAMPLES",
            ".nf",
            "*/15 * * * *  root  /usr/local/bin/zettabee update vault/db1/pgdata",
            "systemctl enable \\-\\-now zettabee@$(systemd\\-escape vault/db1/pgdata).timer",
            "zettabee \\-\\-metrics\\-dir /var/lib/prometheus/node\\-exporter status",
            ".fi",
            ".SH SEE ALSO",
            "\\fBzfs\\fR(8), \\fBssh\\fR(1), \\fBmbuffer\\fR(1), \\fBsend_nsca\\fR(8), \\fBsystemd-escape\\fR(1)",
        ]
        return page.joined(separator: "\n") + "\n"
    }

    /// Text for roff: backslashes escaped, hyphens as `\-` (so they stay hyphens to search and copy), and a
    /// leading `.` or `'` kept from being read as a request.
    static func roff(_ text: String) -> String {
        var escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
        if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
        return escaped
    }
}
