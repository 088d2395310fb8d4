import CommandGraph
/// Output of `zfs`/`zpool` that is not what zettabee asked for: which command, which line, what
/// was wrong. Parsers return this for anything unexpected; they never trap.
public struct ZFSOutputError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being read, e.g. `zfs get` or `zpool get version`.
    public var command: String
    /// 1-based line of the output, nil when the problem is the output as a whole.
    public var line: Int?
    public var message: String

    public init(command: String, line: Int?, message: String) {
        self.command = command
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "unexpected output from \(command), line \(line): \(message)" }
        return "unexpected output from \(command): \(message)"
    }
}

/// Splits command output into lines, refusing output too large to be an answer to zettabee's
/// questions. A final newline does not make an empty last line.
struct OutputLines {
    /// 64 MiB: a `zfs list` of a few hundred thousand snapshots still fits.
    static let maximumBytes = 64 << 20

    let command: String

    func lines(_ output: String) throws(ZFSOutputError) -> [Substring] {
        if output.utf8.count > OutputLines.maximumBytes {
            throw ZFSOutputError(command: command, line: nil, message: "output larger than \(OutputLines.maximumBytes >> 20) MiB")
        }
        var lines = output.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Substring($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// The tab-separated columns of `line`, exactly `count` of them.
    func columns(_ line: Substring, number: Int, count: Int, names: String) throws(ZFSOutputError) -> [Substring] {
        let columns = line.utf8.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { Substring($0) }
        guard columns.count == count else {
            throw error(line: number, "expected \(count) tab-separated columns (\(names)), found \(columns.count): \(UntrustedText.quoted(line))")
        }
        return columns
    }

    func error(line: Int?, _ message: String) -> ZFSOutputError {
        ZFSOutputError(command: command, line: line, message: message)
    }
}
