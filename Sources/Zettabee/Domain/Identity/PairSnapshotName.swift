import CommandGraph
import Foundation

/// The name (the part after `@`) of a snapshot zettabee takes for a pair:
/// `zettabee.<fp>.<YYYYmmddHHMMSS><ZONE>`, e.g. `zettabee.3f…c2.20261126175900UTC`.
///
/// The zone is the host's `%Z` abbreviation. zettabee itself writes UTC; installations of the
/// original wrote their local zone (`CET`, `PDT`), so any alphabetic abbreviation parses.
public struct PairSnapshotName: Hashable, Sendable, CustomStringConvertible {
    public let fingerprint: Fingerprint
    /// The wall-clock time in `zone` when the snapshot was named.
    public let time: CivilTime
    /// An alphabetic time-zone abbreviation such as `UTC` or `CET`.
    public let zone: String

    static let prefix = "zettabee."

    /// Names a snapshot for `date` in UTC, zettabee's own choice.
    public init(fingerprint: Fingerprint, date: Date) {
        self.fingerprint = fingerprint
        time = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        zone = "UTC"
    }

    /// Names a snapshot for a wall-clock `time` in `zone`; nil unless `zone` is an alphabetic
    /// abbreviation of at most ten letters and `time` a real calendar moment.
    public init?(fingerprint: Fingerprint, time: CivilTime, zone: String) {
        guard PairSnapshotName.isZone(zone), time.isValid else { return nil }
        self.fingerprint = fingerprint
        self.time = time
        self.zone = zone
    }

    /// Names a snapshot for `date` in this host's local zone, as `strftime("%Z")` names it (the
    /// original's behaviour). Falls back to UTC when the local abbreviation is not alphabetic
    /// (zones such as `+03`), since `+` is not allowed in ZFS names.
    public static func hostLocal(fingerprint: Fingerprint, date: Date) -> PairSnapshotName {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var local = tm()
        guard localtime_r(&seconds, &local) != nil, let zonePointer = local.tm_zone else {
            return PairSnapshotName(fingerprint: fingerprint, date: date)
        }
        let time = CivilTime(year: Int(local.tm_year) + 1900, month: Int(local.tm_mon) + 1, day: Int(local.tm_mday),
                             hour: Int(local.tm_hour), minute: Int(local.tm_min), second: Int(local.tm_sec))
        return PairSnapshotName(fingerprint: fingerprint, time: time, zone: String(cString: zonePointer))
            ?? PairSnapshotName(fingerprint: fingerprint, date: date)
    }

    /// Parses the part after `@`; nil when it is not a zettabee snapshot name.
    public init?(parsing name: some StringProtocol) {
        guard name.hasPrefix(PairSnapshotName.prefix) else { return nil }
        let rest = name.dropFirst(PairSnapshotName.prefix.count)
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let fingerprint = Fingerprint(parts[0]) else { return nil }
        let stamp = parts[1]
        guard stamp.utf8.count > 14 else { return nil }
        let digits = stamp.prefix(14)
        let zone = String(stamp.dropFirst(14))
        guard digits.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }), PairSnapshotName.isZone(zone) else {
            return nil
        }
        let number = { (offset: Int, length: Int) -> Int in
            Int(digits.dropFirst(offset).prefix(length))!
        }
        let time = CivilTime(
            year: number(0, 4), month: number(4, 2), day: number(6, 2),
            hour: number(8, 2), minute: number(10, 2), second: number(12, 2))
        guard time.isValid else { return nil }
        self.fingerprint = fingerprint
        self.time = time
        self.zone = zone
    }

    /// An alphabetic zone abbreviation of at most ten letters.
    static func isZone(_ text: some StringProtocol) -> Bool {
        (1...10).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
    }

    /// Whether `snapshot` is one of the pair `fingerprint`'s own snapshots.
    public static func isSnapshot(_ snapshot: SnapshotName, of fingerprint: Fingerprint) -> Bool {
        PairSnapshotName(parsing: snapshot.name)?.fingerprint == fingerprint
    }

    /// The moment the name stands for, when the zone is known to Foundation (UTC, GMT and
    /// common abbreviations); nil for an abbreviation it cannot place.
    public var date: Date? {
        let offset: Int
        if zone == "UTC" || zone == "GMT" {
            offset = 0
        } else if let timeZone = TimeZone(abbreviation: zone) {
            // Foundation maps e.g. PDT to America/Los_Angeles: take that zone's offset near the
            // named time, so a summer name gets the summer offset.
            offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(time.epochSeconds)))
        } else {
            return nil
        }
        return Date(timeIntervalSince1970: TimeInterval(time.epochSeconds - Int64(offset)))
    }

    /// `zettabee.<fp>.<YYYYmmddHHMMSS><ZONE>`.
    public var description: String { "\(PairSnapshotName.prefix)\(fingerprint).\(time.compactText)\(zone)" }

    /// This name on `dataset`.
    public func snapshot(of dataset: DatasetName) throws(InvalidValue) -> SnapshotName {
        try dataset.snapshot(description)
    }
}
