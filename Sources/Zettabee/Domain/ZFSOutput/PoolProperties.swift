import CommandGraph
/// A pool's on-disk version, from `zpool get -H -o value version POOL`.
public enum PoolVersion: Hashable, Sendable {
    /// `-` (or 5000): the pool uses feature flags.
    case featureFlags
    /// A legacy version number, e.g. 23 under zfs-fuse, 28 for the last shared legacy version.
    case legacy(Int)

    public static func parse(_ output: String) throws(ZFSOutputError) -> PoolVersion {
        let value = try singleValue(output, command: "zpool get version")
        if value == "-" || value == "5000" { return .featureFlags }
        guard value.utf8.count <= 4, value.utf8.allSatisfy({ (48...57).contains($0) }), let number = Int(value), number >= 1 else {
            throw ZFSOutputError(command: "zpool get version", line: 1, message: "expected '-' or a version number, found \(UntrustedText.quoted(value))")
        }
        return .legacy(number)
    }

    /// Parses the table `zpool get version POOL` prints where `-H`/`-o` are missing (old zfs):
    /// a header, then `POOL  version  VALUE  SOURCE`.
    public static func parseTable(_ output: String, pool: String) throws(ZFSOutputError) -> PoolVersion {
        for line in output.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 3, fields[0] == Substring(pool), fields[1] == "version" {
                return try parse(String(fields[2]))
            }
        }
        throw ZFSOutputError(command: "zpool get version", line: nil, message: "no version row for pool \(UntrustedText.quoted(pool))")
    }
}

/// The state of one pool feature, from `zpool get -H -o value feature@NAME POOL`.
public enum FeatureState: String, Hashable, Sendable {
    case disabled, enabled, active
    /// zpool printed nothing: this zfs does not know the feature.
    case unknown

    public var isUsable: Bool { self == .enabled || self == .active }

    public static func parse(_ output: String) throws(ZFSOutputError) -> FeatureState {
        if output.isEmpty || output == "\n" { return .unknown }
        let value = try singleValue(output, command: "zpool get feature")
        guard let state = FeatureState(rawValue: String(value)), state != .unknown else {
            throw ZFSOutputError(command: "zpool get feature", line: 1, message: "expected disabled, enabled or active, found \(UntrustedText.quoted(value))")
        }
        return state
    }
}

/// A pool's version and the features zettabee cares about, from one
/// `zpool get -H -o value version,feature@A,feature@B.. POOL` (OpenZFS only: old zpool has no `-H`).
public struct PoolProbe: Hashable, Sendable {
    public var version: PoolVersion
    public var features: [String: FeatureState]

    /// The features asked for, in the order they are asked.
    public static let features = ["large_blocks", "embedded_data", "encryption"]

    /// The properties of the query: `version`, then `feature@NAME` for each of `features`.
    public static var properties: [String] { ["version"] + features.map { "feature@\($0)" } }

    public init(version: PoolVersion, features: [String: FeatureState] = [:]) {
        self.version = version
        self.features = features
    }

    /// One value per line in the order of `properties`. A feature a legacy-version pool cannot have
    /// reads `-`, i.e. disabled.
    public static func parse(_ output: String) throws(ZFSOutputError) -> PoolProbe {
        let command = "zpool get version,features"
        let reader = OutputLines(command: command)
        let lines = try reader.lines(output)
        guard lines.count == 1 + features.count else {
            throw reader.error(line: nil, "expected \(1 + features.count) lines, found \(lines.count)")
        }
        let version = try PoolVersion.parse(String(lines[0]) + "\n")
        return PoolProbe(version: version, features: try featureStates(lines.dropFirst(), reader: reader, firstLine: 2))
    }

    /// The answer of `zpool get -H -o value feature@A,feature@B.. POOL` for `features`, one per line.
    public static func parseFeatures(_ output: String) throws(ZFSOutputError) -> [String: FeatureState] {
        let reader = OutputLines(command: "zpool get features")
        let lines = try reader.lines(output)
        guard lines.count == features.count else {
            throw reader.error(line: nil, "expected \(features.count) lines, found \(lines.count)")
        }
        return try featureStates(lines[...], reader: reader, firstLine: 1)
    }

    private static func featureStates(_ lines: ArraySlice<Substring>, reader: OutputLines, firstLine: Int) throws(ZFSOutputError) -> [String: FeatureState] {
        var states: [String: FeatureState] = [:]
        for (index, (name, value)) in zip(features, lines).enumerated() {
            if value == "-" { states[name] = .disabled; continue }
            guard let state = FeatureState(rawValue: String(value)), state != .unknown else {
                throw reader.error(line: index + firstLine, "expected disabled, enabled or active for feature@\(name), found \(UntrustedText.quoted(value))")
            }
            states[name] = state
        }
        return states
    }

    public func usable(_ feature: String) -> Bool { features[feature]?.isUsable ?? false }
}

/// The one line a `-o value` query of one property on one pool prints.
private func singleValue(_ output: String, command: String) throws(ZFSOutputError) -> Substring {
    let reader = OutputLines(command: command)
    let lines = try reader.lines(output)
    guard lines.count == 1 else {
        throw reader.error(line: nil, lines.isEmpty ? "no output" : "expected one line, found \(lines.count)")
    }
    return lines[0]
}
