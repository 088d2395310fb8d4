/// Typed values for `zfs` and `zpool` arguments beyond dataset and snapshot names.

/// A dataset or snapshot name, where a zfs subcommand takes either.
public protocol ZFSObjectName: Sendable {
    /// The name as a command argument.
    var argument: Argument { get }
}

extension DatasetName: ZFSObjectName {
    public var argument: Argument { .dataset(self) }
}

extension SnapshotName: ZFSObjectName {
    public var argument: Argument { .snapshot(self) }
}

/// A pool name such as `tank`: a dataset name without `/`.
public struct PoolName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String, field: String = "pool") throws(InvalidValue) {
        if rawValue.contains("/") {
            throw InvalidValue(field: field, value: rawValue, reason: "'/' in pool name")
        }
        if let problem = ZFSNameRules.datasetProblem(rawValue) {
            throw InvalidValue(field: field, value: rawValue, reason: problem)
        }
        self.rawValue = rawValue
    }

    /// The pool a dataset lives in.
    public init(of dataset: DatasetName) { rawValue = dataset.pool }

    public var description: String { rawValue }
    public static func < (a: PoolName, b: PoolName) -> Bool { a.rawValue < b.rawValue }
}

/// A property name: a native one (`guid`), a user property (`zettabee:source`), a pool feature
/// (`feature@async_destroy`) or `all`. Made of `[a-z0-9:._@-]`, not starting with `-`.
public struct PropertyName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String, field: String = "property") throws(InvalidValue) {
        try Check.word(rawValue, field: field, what: "property name") { scalar in
            switch scalar {
            case "a"..."z", "0"..."9", ":", ".", "_", "@", "-": return true
            default: return false
            }
        }
        if rawValue.hasPrefix("-") {
            throw InvalidValue(field: field, value: rawValue, reason: "property name must not begin with '-'")
        }
        if rawValue.utf8.count > 255 {
            throw InvalidValue(field: field, value: rawValue, reason: "property name is too long")
        }
        self.rawValue = rawValue
    }

    init(unchecked rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let all = PropertyName(unchecked: "all")
    public static let name = PropertyName(unchecked: "name")
    public static let type = PropertyName(unchecked: "type")
    public static let guid = PropertyName(unchecked: "guid")
    public static let createtxg = PropertyName(unchecked: "createtxg")
    public static let creation = PropertyName(unchecked: "creation")
    public static let used = PropertyName(unchecked: "used")
    public static let referenced = PropertyName(unchecked: "referenced")
    public static let readonly = PropertyName(unchecked: "readonly")
    public static let userrefs = PropertyName(unchecked: "userrefs")
    public static let mountpoint = PropertyName(unchecked: "mountpoint")
    public static let canmount = PropertyName(unchecked: "canmount")
    public static let receiveResumeToken = PropertyName(unchecked: "receive_resume_token")
    /// The pool property `version`.
    public static let version = PropertyName(unchecked: "version")
}

/// `name=value` for `zfs set` and `zfs receive -o`.
public struct PropertyAssignment: Hashable, Sendable {
    public let name: PropertyName
    public let value: String

    /// The value may be anything an argv word can hold, under ZFS's 8192-byte limit.
    public init(_ name: PropertyName, _ value: String) throws(InvalidValue) {
        let field = "value of property \(name.rawValue)"
        if value.unicodeScalars.contains("\0") {
            throw InvalidValue(field: field, value: value, reason: "NUL not allowed")
        }
        if value.utf8.count >= 8192 {
            throw InvalidValue(field: field, value: value, reason: "value is too long")
        }
        self.name = name
        self.value = value
    }

    /// Validates both name and value.
    public init(_ name: String, _ value: String) throws(InvalidValue) {
        try self.init(PropertyName(name), value)
    }

    public var word: String { name.rawValue + "=" + value }
}

/// A user hold tag (`zfs hold TAG snap`): one line, at most 255 bytes, not starting with `.`
/// (reserved for zfs's own holds) or `-`.
public struct HoldTag: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String, field: String = "hold tag") throws(InvalidValue) {
        if rawValue.isEmpty { throw InvalidValue(field: field, value: rawValue, reason: "empty tag") }
        if rawValue.hasPrefix(".") || rawValue.hasPrefix("-") {
            throw InvalidValue(field: field, value: rawValue, reason: "tag must not begin with '.' or '-'")
        }
        if rawValue.utf8.count > 255 {
            throw InvalidValue(field: field, value: rawValue, reason: "tag too long")
        }
        for scalar in rawValue.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7f {
            throw InvalidValue(field: field, value: rawValue, reason: "\(Check.describe(scalar)) not allowed")
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}
