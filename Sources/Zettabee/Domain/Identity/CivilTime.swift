/// A calendar date and wall-clock time without a zone, computed from epoch seconds with plain
/// arithmetic (Howard Hinnant's `civil_from_days`), so formatting needs no locale or calendar.
public struct CivilTime: Hashable, Sendable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The wall-clock time `epochSeconds` after 1970-01-01 00:00:00 (already shifted to the
    /// wanted zone by the caller).
    public init(epochSeconds: Int64) {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let secondOfDay = Int(epochSeconds - days * 86400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
    }

    /// Seconds since 1970-01-01 00:00:00 of this wall-clock time read as UTC.
    public var epochSeconds: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Whether the fields name a real calendar moment (day within the month, hour < 24, ...).
    public var isValid: Bool {
        guard (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second), day >= 1
        else { return false }
        return CivilTime(epochSeconds: CivilTime(year: year, month: month, day: day, hour: 0, minute: 0, second: 0).epochSeconds).day == day
    }

    /// `YYYYmmddHHMMSS`.
    public var compactText: String {
        "\(fourDigits(year))\(twoDigits(month))\(twoDigits(day))\(twoDigits(hour))\(twoDigits(minute))\(twoDigits(second))"
    }

    /// `YYYY-mm-ddTHH:MM:SS`.
    public var isoText: String {
        "\(fourDigits(year))-\(twoDigits(month))-\(twoDigits(day))T\(twoDigits(hour)):\(twoDigits(minute)):\(twoDigits(second))"
    }

    public static func < (a: CivilTime, b: CivilTime) -> Bool { a.epochSeconds < b.epochSeconds }
}

private func fourDigits(_ value: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, 4 - text.count)) + text
}
