import Foundation

/// Severity of a log line; the names are log4r's, as the original wrote them.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug = "DEBUG"
    case info = "INFO"
    case warn = "WARN"
    case error = "ERROR"
    case fatal = "FATAL"

    public static func < (a: LogLevel, b: LogLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One line of a pair's log file:
/// `[2026-11-26T17:59:00Z] zettabee:<fp> [4242] INFO message`.
///
/// The timestamp is ISO 8601 in UTC with second precision and a `Z`, so lines sort as text and
/// read the same on every host. A message is kept on one line: newlines and other control
/// characters are written as `\n`, `\r`, `\t`, `\xNN`.
public enum LogLine {
    public static func format(
        date: Date, fingerprint: Fingerprint, pid: Int32, level: LogLevel, message: String
    ) -> String {
        let time = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        return "[\(time.isoText)Z] zettabee:\(fingerprint) [\(pid)] \(level.rawValue) \(oneLine(message))"
    }

    static func oneLine(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            return message
        }
        var line = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    line += "\\x" + twoDigitHex(scalar.value)
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        return line
    }

    private static func twoDigitHex(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return hex.count < 2 ? "0" + hex : hex
    }
}
