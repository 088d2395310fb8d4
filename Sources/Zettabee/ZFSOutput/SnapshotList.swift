import CommandGraph
import Foundation

/// A snapshot's `creation` as `zfs list` prints it.
public enum CreationTime: Hashable, Sendable {
    /// Seconds since the epoch, from `-p` (or `zfs get -Hp creation`).
    case epoch(Int64)
    /// The human form `%a %b %e %k:%M %Y` in the listing host's local time, minute precision:
    /// what zfs without `list -p` (zfs-fuse) prints.
    case localMinute(CivilTime)

    /// The moment, reading a local time in `timeZone` (the listing host's zone).
    public func date(in timeZone: TimeZone) -> Date {
        switch self {
        case .epoch(let seconds):
            return Date(timeIntervalSince1970: TimeInterval(seconds))
        case .localMinute(let time):
            let asUTC = Date(timeIntervalSince1970: TimeInterval(time.epochSeconds))
            let offset = timeZone.secondsFromGMT(for: asUTC)
            return Date(timeIntervalSince1970: TimeInterval(time.epochSeconds - Int64(offset)))
        }
    }

    static let weekdays: Set<Substring> = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months: [Substring] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses `1795715940` or `Thu Nov 26 17:59 2026` (`%e`/`%k` pad with spaces).
    init?(parsing text: Substring) {
        if !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (48...57).contains($0) }), let seconds = Int64(text) {
            self = .epoch(seconds)
            return
        }
        let parts = text.split(separator: " ")
        guard parts.count == 5, CreationTime.weekdays.contains(parts[0]),
              let monthIndex = CreationTime.months.firstIndex(of: parts[1]),
              let day = smallNumber(parts[2]),
              case let clock = parts[3].split(separator: ":", omittingEmptySubsequences: false), clock.count == 2,
              clock[1].count == 2, let hour = smallNumber(clock[0]), let minute = smallNumber(clock[1]),
              parts[4].count == 4, let year = smallNumber(parts[4])
        else { return nil }
        let time = CivilTime(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: 0)
        guard time.isValid else { return nil }
        self = .localMinute(time)
    }
}

private func smallNumber(_ text: Substring) -> Int? {
    guard !text.isEmpty, text.count <= 4, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
    return Int(text)
}

/// One row of `zfs list -H -o name,guid,createtxg,creation -t snapshot`.
public struct SnapshotRow: Hashable, Sendable {
    public var snapshot: SnapshotName
    /// Identical on source and destination for the same snapshot: how the two are matched.
    public var guid: UInt64
    /// Local transaction group: orders snapshots of one filesystem.
    public var createTXG: UInt64
    public var creation: CreationTime

    public init(snapshot: SnapshotName, guid: UInt64, createTXG: UInt64, creation: CreationTime) {
        self.snapshot = snapshot
        self.guid = guid
        self.createTXG = createTXG
        self.creation = creation
    }

    /// Parses the whole listing, rows in the order printed.
    public static func parseList(_ output: String) throws(ZFSOutputError) -> [SnapshotRow] {
        let reader = OutputLines(command: "zfs list -t snapshot")
        var rows: [SnapshotRow] = []
        for (index, line) in try reader.lines(output).enumerated() {
            let number = index + 1
            let columns = try reader.columns(line, number: number, count: 4, names: "name, guid, createtxg, creation")
            let snapshot: SnapshotName
            do {
                snapshot = try SnapshotName(parsing: String(columns[0]))
            } catch {
                throw reader.error(line: number, "not a snapshot name: \(UntrustedText.quoted(columns[0])) (\(error.reason))")
            }
            guard let guid = decimal(columns[1]) else {
                throw reader.error(line: number, "guid is not a decimal number: \(UntrustedText.quoted(columns[1]))")
            }
            guard let createTXG = decimal(columns[2]) else {
                throw reader.error(line: number, "createtxg is not a decimal number: \(UntrustedText.quoted(columns[2]))")
            }
            guard let creation = CreationTime(parsing: columns[3]) else {
                throw reader.error(line: number, "creation is neither epoch seconds nor a date like 'Thu Nov 26 17:59 2026': \(UntrustedText.quoted(columns[3]))")
            }
            rows.append(SnapshotRow(snapshot: snapshot, guid: guid, createTXG: createTXG, creation: creation))
        }
        return rows
    }

    private static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return UInt64(text)
    }
}
