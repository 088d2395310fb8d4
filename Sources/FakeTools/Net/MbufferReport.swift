import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// mbuffer's number formats, matched against mbuffer R20230301:
/// `in @  0.0 kiB/s, out @ 9089 kiB/s, 12.0 MiB total, buffer   0% full` and
/// `summary: 4096 kiByte in  1.0sec - average of 4036 kiB/s`.
enum MbufferFormat {
    /// A kiB amount as mbuffer prints it: scaled by 1024 while ≥ 10000, `%4.1f` below 100, else `%4.0f`,
    /// then a space and the unit letter followed by `i` (`" 0.0 ki"`, `"8192 ki"`, `"12.0 Mi"`).
    static func kibibytes(_ value: Double) -> String {
        let units: [Character] = ["k", "M", "G", "T", "P", "E"]
        var v = value
        var unit = 0
        while v >= 10000 && unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        let number = v < 100 ? String(format: "%4.1f", v) : String(format: "%4.0f", v)
        return "\(number) \(units[unit])i"
    }

    /// Elapsed time: `%4.1fsec`, with minutes (`%2dmin `) and hours (`%dh `) in front when needed.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%4.1fsec", seconds) }
        let minutes = Int(seconds / 60)
        let rest = seconds - Double(minutes * 60)
        if minutes < 60 { return String(format: "%2dmin %4.1fsec", minutes, rest) }
        return String(format: "%dh %2dmin %4.1fsec", minutes / 60, minutes % 60, rest)
    }

    /// One status line, without the leading `\r` (stderr) or `mbuffer: ` (log file).
    static func status(inRate: Double, outRate: Double, totalBytes: Int, fillPercent: Int) -> String {
        "in @ \(kibibytes(inRate / 1024))B/s, out @ \(kibibytes(outRate / 1024))B/s, "
            + "\(kibibytes(Double(totalBytes >> 10)))B total, buffer \(String(format: "%3d", fillPercent))% full"
    }

    static func summary(totalBytes: Int, seconds: Double) -> String {
        let average = seconds > 0 ? Double(totalBytes) / 1024 / seconds : 0
        return "summary: \(kibibytes(Double(totalBytes >> 10)))Byte in \(duration(seconds)) - average of \(kibibytes(average))B/s"
    }
}

/// Where mbuffer's words go: messages to the `-l` log file if given, else stderr, filtered by `-v`;
/// status lines to stderr (`\r`-terminated, unless `-q`) and to the log file (unless `-Q`).
final class MbufferReporter: @unchecked Sendable {
    enum Level: Int { case fatal = 1, error = 2, warning = 3, info = 4 }

    private let options: MbufferOptions
    private let logFD: Int32?
    private let lock = NSLock()
    private var statusShown = false

    init(options: MbufferOptions) {
        self.options = options
        if let path = options.logFile {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            logFD = fd >= 0 ? fd : nil
        } else {
            logFD = nil
        }
    }

    func message(_ level: Level, _ text: String) {
        guard level.rawValue <= options.verbose else { return }
        let prefix = ["", "fatal", "error", "warning", "info"][level.rawValue]
        lock.withLock { NetIO.writeAll(logFD ?? 2, "mbuffer: \(prefix): \(text)\n") }
    }

    func status(_ line: String) {
        lock.withLock {
            if !options.quiet {
                NetIO.writeAll(2, "\r" + line)
                statusShown = true
            }
            if let logFD, !options.quietLog { NetIO.writeAll(logFD, "mbuffer: \(line)\n") }
        }
    }

    /// The final summary; on stderr a newline first ends the status line if one was shown.
    func summary(_ line: String) {
        lock.withLock {
            if !options.quiet {
                NetIO.writeAll(2, (statusShown ? "\n" : "") + line + "\n")
            }
            if let logFD { NetIO.writeAll(logFD, line + "\n") }
        }
    }
}
