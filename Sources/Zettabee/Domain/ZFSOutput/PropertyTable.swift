import CommandGraph

/// Where a property's value comes from: the SOURCE column of `zfs get`.
public enum PropertySource: Hashable, Sendable {
    /// `-`: not set (user properties) or not applicable.
    case none
    case `default`
    case local
    case temporary
    case received
    /// `inherited from <dataset>`.
    case inherited(from: String)

    init?(_ text: Substring) {
        switch text {
        case "-": self = .none
        case "default": self = .default
        case "local": self = .local
        case "temporary": self = .temporary
        case "received": self = .received
        default:
            let prefix = "inherited from "
            guard text.hasPrefix(prefix), text.count > prefix.count else { return nil }
            self = .inherited(from: String(text.dropFirst(prefix.count)))
        }
    }
}

/// One row of `zfs get`: a value and its source.
public struct PropertyValue: Hashable, Sendable {
    /// The VALUE column as printed; `-` for an unset user property.
    public var text: String
    public var source: PropertySource

    public init(text: String, source: PropertySource) {
        self.text = text
        self.source = source
    }

    /// True for a user property that is not set (value `-`, source `-`).
    public var isUnset: Bool { text == "-" && source == .none }

    /// The value, or nil when unset.
    public var value: String? { isUnset ? nil : text }
}

/// The answer of `zfs get -H -o name,property,value,source PROPS DATASETS`, keyed by
/// (dataset or snapshot name, property).
public struct PropertyTable: Hashable, Sendable {
    public private(set) var entries: [String: [String: PropertyValue]] = [:]

    public init() {}

    public subscript(dataset: String, property: String) -> PropertyValue? {
        entries[dataset]?[property]
    }

    /// The set value of `property` on `dataset`; nil when unset or not listed.
    public func value(of property: String, on dataset: String) -> String? {
        self[dataset, property]?.value
    }

    /// Parses the whole output. Every line must have exactly four tab-separated columns, a valid
    /// dataset, snapshot or bookmark name, a plausible property name and a known source; a (dataset,
    /// property) listed twice is an error too.
    public static func parse(_ output: String) throws(ZFSOutputError) -> PropertyTable {
        let reader = OutputLines(command: "zfs get")
        var table = PropertyTable()
        for (index, line) in try reader.lines(output).enumerated() {
            let number = index + 1
            let columns = try reader.columns(line, number: number, count: 4, names: "name, property, value, source")
            let name = String(columns[0])
            guard isDatasetOrSnapshot(name) else {
                throw reader.error(line: number, "not a dataset or snapshot name: \(UntrustedText.quoted(name))")
            }
            let property = String(columns[1])
            guard isPropertyName(property) else {
                throw reader.error(line: number, "not a property name: \(UntrustedText.quoted(property))")
            }
            guard let source = PropertySource(columns[3]) else {
                throw reader.error(line: number, "unknown property source \(UntrustedText.quoted(columns[3]))")
            }
            guard table.entries[name]?[property] == nil else {
                throw reader.error(line: number, "property \(property) of \(UntrustedText.quoted(name)) listed twice")
            }
            table.entries[name, default: [:]][property] = PropertyValue(text: String(columns[2]), source: source)
        }
        return table
    }

    /// Adds another answer's rows (a second `zfs get` over the same datasets); its values win.
    /// `onlyListed`: rows of names this table does not list are left out (a second answer never adds a
    /// dataset or snapshot the first did not report).
    public mutating func merge(_ other: PropertyTable, onlyListed: Bool = false) {
        for (name, properties) in other.entries where !onlyListed || entries[name] != nil {
            entries[name, default: [:]].merge(properties) { _, new in new }
        }
    }

    /// A dataset, a snapshot, or a bookmark (`fs#mark`: a recursive `zfs get` on OpenZFS lists them too).
    static func isDatasetOrSnapshot(_ name: String) -> Bool {
        if name.contains("@") { return (try? SnapshotName(parsing: name)) != nil }
        let parts = name.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let mark = parts[1]
            return (try? DatasetName(String(parts[0]))) != nil && !mark.isEmpty && !mark.contains("#")
                && (try? SnapshotName(parsing: "\(parts[0])@\(mark)")) != nil
        }
        return (try? DatasetName(name)) != nil
    }

    /// Native (`compression`), user (`zettabee:fp:source`) and pool feature (`feature@x`) names.
    static func isPropertyName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count < 256
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || ":._@-".unicodeScalars.contains($0) }
    }
}
