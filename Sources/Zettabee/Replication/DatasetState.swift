import CommandGraph

/// One snapshot of a pair's filesystem as zettabee sees it.
public struct SnapshotRecord: Hashable, Sendable {
    public var snapshot: SnapshotName
    /// The GUID, exact (read with `zfs get -p`: old zfs prints it rounded otherwise).
    public var guid: String
    public var createTXG: UInt64
    /// Seconds since the epoch.
    public var creation: Int64?

    public init(snapshot: SnapshotName, guid: String, createTXG: UInt64, creation: Int64?) {
        self.snapshot = snapshot
        self.guid = guid
        self.createTXG = createTXG
        self.creation = creation
    }
}

/// A filesystem and its own snapshots, from one `zfs get -Hp -d 1` on its host.
public struct DatasetState: Hashable, Sendable {
    public var dataset: DatasetName
    public var exists: Bool
    /// The filesystem's own properties (user properties included), by name.
    public var properties: [String: PropertyValue]
    /// Its snapshots, oldest first (by createtxg).
    public var snapshots: [SnapshotRecord]
    /// Its direct child filesystems and volumes, by name: a pair with children is sent recursively.
    public var children: [String]

    public init(
        dataset: DatasetName, exists: Bool, properties: [String: PropertyValue] = [:], snapshots: [SnapshotRecord] = [],
        children: [String] = []
    ) {
        self.dataset = dataset
        self.exists = exists
        self.properties = properties
        self.snapshots = snapshots
        self.children = children
    }

    public static func missing(_ dataset: DatasetName) -> DatasetState { DatasetState(dataset: dataset, exists: false) }

    /// The set value of a property of the filesystem, nil when unset.
    public func value(_ property: String) -> String? { properties[property]?.value }

    public func snapshot(named name: String) -> SnapshotRecord? { snapshots.first { $0.snapshot.name == name } }

    /// What identifies a snapshot and orders it.
    public static let identityProperties = ["guid", "createtxg", "creation"]

    /// The properties zettabee reads for every pair dataset: identity, ordering and its own user properties.
    public static func propertiesToRead(for pair: Pair, extra: [String] = []) -> [String] {
        identityProperties + pair.properties.all + extra
    }

    /// Builds the state of `dataset` from a `zfs get -Hp -d 1 -o name,property,value,source` table.
    /// Of the other rows (depth 1 also lists the direct children), only the children's names are kept.
    public static func from(_ table: PropertyTable, dataset: DatasetName) throws(ZFSOutputError) -> DatasetState {
        guard let own = table.entries[dataset.rawValue] else { return .missing(dataset) }
        var snapshots: [SnapshotRecord] = []
        let prefix = dataset.rawValue + "@"
        for (name, properties) in table.entries where name.hasPrefix(prefix) {
            guard let snapshot = try? SnapshotName(parsing: name) else {
                throw ZFSOutputError(command: "zfs get", line: nil, message: "invalid snapshot name '\(name)'")
            }
            guard let guid = properties["guid"]?.value, guid.allSatisfy(\.isNumber),
                  let txgText = properties["createtxg"]?.value, let txg = UInt64(txgText)
            else {
                throw ZFSOutputError(
                    command: "zfs get", line: nil, message: "no exact guid/createtxg for snapshot '\(name)'")
            }
            snapshots.append(SnapshotRecord(
                snapshot: snapshot, guid: guid, createTXG: txg,
                creation: properties["creation"]?.value.flatMap { Int64($0) }))
        }
        snapshots.sort { ($0.createTXG, $0.snapshot.name) < ($1.createTXG, $1.snapshot.name) }
        let childPrefix = dataset.rawValue + "/"
        let children = table.entries.keys.filter { $0.hasPrefix(childPrefix) && !$0.contains("@") && !$0.contains("#") }.sorted()
        return DatasetState(dataset: dataset, exists: true, properties: own, snapshots: snapshots, children: children)
    }
}
