/// A length of time in whole seconds: lag and run-time thresholds, and lags shown in status.
public struct TimeSpan: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let seconds: Int

    public init(seconds: Int) {
        self.seconds = seconds
    }

    /// Parses `30` (seconds), `45s`, `30m`, `2h` or `1d`. Returns nil for anything else,
    /// including negative values and values beyond about a century.
    public init?(parsing text: some StringProtocol) {
        var unit = 1
        var digits = Substring(text)
        if let last = text.last, last.isLetter {
            switch last {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let count = Int(digits)
        else { return nil }
        let total = count.multipliedReportingOverflow(by: unit)
        guard !total.overflow, total.partialValue <= TimeSpan.maximumSeconds else { return nil }
        self.seconds = total.partialValue
    }

    /// About a hundred years: nothing zettabee measures is longer.
    static let maximumSeconds = 100 * 366 * 86400

    /// `H:MM:SS`, hours unbounded (`49:00:00` for two days and an hour).
    public var lagText: String {
        let sign = seconds < 0 ? "-" : ""
        let magnitude = seconds.magnitude
        let hours = magnitude / 3600
        let minutes = magnitude % 3600 / 60
        let secs = magnitude % 60
        return "\(sign)\(hours):\(twoDigits(minutes)):\(twoDigits(secs))"
    }

    /// The shortest config spelling: `2h`, `90m`, `45s`.
    public var description: String {
        if seconds != 0 && seconds % 86400 == 0 { return "\(seconds / 86400)d" }
        if seconds != 0 && seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds != 0 && seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }
}

func twoDigits(_ value: some BinaryInteger) -> String {
    value < 10 ? "0\(value)" : "\(value)"
}
