import Foundation

/// Turns what zfs (or ssh, or mbuffer) wrote on stderr into one line for the operator.
///
/// zfs splits some messages over two lines (`… has been modified` / `since most recent snapshot`), so the
/// last line alone can be meaningless. The summary is the last line that starts a message, joined with
/// the continuation lines after it.
public enum ZFSErrorText {
    /// Line starts that open a message; anything else continues the previous one.
    static let openings = [
        "cannot ", "warning: ", "WARNING: ", "internal error", "Error: ", "ssh: ", "mbuffer: ", "Connection ",
        "Host key", "usage:", "invalid option", "missing ", "bad property list", "too many arguments",
        "could not ", "must ", "kex_", "Permission denied", "client_loop", "zfake",
    ]

    public static func summary(_ stderr: String) -> String? {
        let lines = stderr.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !lines.isEmpty else { return nil }
        // A usage text after an error line: report the error line.
        if let usage = lines.lastIndex(where: { $0.hasPrefix("usage:") }), usage > 0 {
            return bounded(lines[usage - 1])
        }
        var start = lines.count - 1
        while start > 0 && !openings.contains(where: { lines[start].hasPrefix($0) }) { start -= 1 }
        if !openings.contains(where: { lines[start].hasPrefix($0) }) { start = lines.count - 1 }
        var joined = lines[start...].prefix(4).joined(separator: " ")
        // zfs's advice to run `zfs send -t <long token>` by hand is not for cron mail.
        if let advice = joined.range(of: " A resuming stream can be generated") { joined = String(joined[..<advice.lowerBound]) }
        return bounded(joined)
    }

    /// At most 400 characters: a summary is one line of an error message.
    static func bounded(_ line: String) -> String {
        line.count > 400 ? String(line.prefix(397)) + "..." : line
    }
}
