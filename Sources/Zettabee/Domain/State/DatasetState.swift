import CommandGraph

/// One snapshot of a pair's filesystem as zettabee sees it.
public struct SnapshotRecord: Hashable, Sendable {
    public var snapshot: SnapshotName
    /// The GUID, exact (read with `zfs get -p`: old zfs prints it rounded otherwise).
    public var guid: String
    public var createTXG: UInt64
    /// Seconds since the epoch.
    public var creation: Int64?
    /// How many holds the snapshot has (`userrefs`; nil where it was not read).
    public var userRefs: Int?

    public init(snapshot: SnapshotName, guid: String, createTXG: UInt64, creation: Int64?, userRefs: Int? = nil) {
        self.snapshot = snapshot
        self.guid = guid
        self.createTXG = createTXG
        self.creation = creation
        self.userRefs = userRefs
    }
}

/// A filesystem and its own snapshots, from one `zfs get -Hp -r` on its host, with every descendant
/// filesystem and volume in the same form: a pair's source is replicated with its whole tree, so its
/// state is the whole tree.
public struct DatasetState: Hashable, Sendable {
    public var dataset: DatasetName
    public var exists: Bool
    /// The filesystem's own properties (user properties included), by name.
    public var properties: [String: PropertyValue]
    /// Its snapshots, oldest first (by createtxg).
    public var snapshots: [SnapshotRecord]
    /// Its direct child filesystems and volumes, by name: a pair with children is sent recursively.
    public var children: [String]
    /// Every filesystem and volume below it, at any depth, each with its own properties and snapshots
    /// (their own `descendants` empty), sorted by name so that parents come before their children.
    public var descendants: [DatasetState]

    public init(
        dataset: DatasetName, exists: Bool, properties: [String: PropertyValue] = [:], snapshots: [SnapshotRecord] = [],
        children: [String] = [], descendants: [DatasetState] = []
    ) {
        self.dataset = dataset
        self.exists = exists
        self.properties = properties
        self.snapshots = snapshots
        self.children = children
        self.descendants = descendants
    }

    /// The filesystem itself, then every descendant.
    public var tree: [DatasetState] { exists ? [self] + descendants : [] }

    /// The part of a descendant's name below this filesystem: `/kid` for `tank/par/kid` under `tank/par`,
    /// the empty string for the filesystem itself.
    public func relativeName(of member: DatasetState) -> String {
        String(member.dataset.rawValue.dropFirst(dataset.rawValue.count))
    }

    /// The member of the tree at `relative` (`""` for the filesystem itself), nil when absent.
    public func member(at relative: String) -> DatasetState? {
        guard exists else { return nil }
        if relative.isEmpty { return self }
        let name = dataset.rawValue + relative
        return descendants.first { $0.dataset.rawValue == name }
    }

    public static func missing(_ dataset: DatasetName) -> DatasetState { DatasetState(dataset: dataset, exists: false) }

    /// The set value of a property of the filesystem, nil when unset.
    public func value(_ property: String) -> String? { properties[property]?.value }

    public func snapshot(named name: String) -> SnapshotRecord? { snapshots.first { $0.snapshot.name == name } }

    /// What identifies a snapshot and orders it.
    public static let identityProperties = ["guid", "createtxg", "creation", "userrefs"]

    /// The properties zettabee reads for every pair dataset: identity, ordering and its own user properties.
    public static func propertiesToRead(for pair: Pair, extra: [String] = []) -> [String] {
        identityProperties + pair.properties.all + extra
    }

    /// Builds the state of `dataset` and its descendants from a `zfs get -Hp -r -o
    /// name,property,value,source` table. Rows of other datasets are ignored.
    public static func from(_ table: PropertyTable, dataset: DatasetName) throws(ZFSOutputError) -> DatasetState {
        var state = try single(table, dataset: dataset)
        guard state.exists else { return state }
        let prefix = dataset.rawValue + "/"
        let names = table.entries.keys.filter { $0.hasPrefix(prefix) && !$0.contains("@") && !$0.contains("#") }.sorted()
        state.descendants = try names.map { name throws(ZFSOutputError) in
            guard let member = try? DatasetName(name) else {
                throw ZFSOutputError(command: "zfs get", line: nil, message: "invalid dataset name '\(name)'")
            }
            return try single(table, dataset: member)
        }
        return state
    }

    /// One filesystem of the table with its own snapshots and the names of its direct children.
    static func single(_ table: PropertyTable, dataset: DatasetName) throws(ZFSOutputError) -> DatasetState {
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
                creation: properties["creation"]?.value.flatMap { Int64($0) },
                userRefs: properties["userrefs"]?.value.flatMap { Int($0) }))
        }
        snapshots.sort { ($0.createTXG, $0.snapshot.name) < ($1.createTXG, $1.snapshot.name) }
        let childPrefix = dataset.rawValue + "/"
        let children = table.entries.keys.filter {
            $0.hasPrefix(childPrefix) && !$0.contains("@") && !$0.contains("#") && !$0.dropFirst(childPrefix.count).contains("/")
        }.sorted()
        return DatasetState(dataset: dataset, exists: true, properties: own, snapshots: snapshots, children: children)
    }
}
