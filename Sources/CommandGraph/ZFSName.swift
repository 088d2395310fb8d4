/// ZFS dataset and snapshot names, validated by ZFS's own rules when they are made
/// (OpenZFS `zfs_namecheck.c`): a value of these types is always a name `zfs` would accept.

/// A value that was rejected while building a typed command: which field, what value, and why.
public struct InvalidValue: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the value was for, e.g. `source dataset` or `ssh port`.
    public var field: String
    public var value: String
    /// Why it was rejected, e.g. `invalid character '$' in name`.
    public var reason: String

    public init(field: String, value: String, reason: String) {
        self.field = field
        self.value = value
        self.reason = reason
    }

    public var description: String {
        "invalid \(field) \(InvalidValue.show(value)): \(reason)"
    }

    /// Shows a rejected value on one line, whatever it contains.
    static func show(_ value: String) -> String { UntrustedText.quoted(value) }
}

enum ZFSNameRules {
    static let maximumLength = 255
    static let reservedPoolNames: Set<String> = ["mirror", "raidz", "draid", "spare", "log"]

    static func isComponentCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", ":", " ", "-": return true
        default: return false
        }
    }

    /// The reason a filesystem/volume path (`pool/a/b`) is invalid, or nil.
    static func datasetProblem(_ name: String) -> String? {
        if name.isEmpty { return "empty name" }
        if name.utf8.count > maximumLength { return "name is too long" }
        if name.hasPrefix("/") { return "leading slash in name" }
        if name.hasSuffix("/") { return "trailing slash in name" }
        if name.contains("@") || name.contains("#") {
            return "empty component or misplaced '@' or '#' delimiter in name"
        }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            if let problem = componentProblem(component) { return problem }
        }
        let pool = components[0]
        guard let first = pool.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) else {
            return "pool name must begin with a letter"
        }
        if reservedPoolNames.contains(String(pool)) || pool.hasPrefix("raidz") || pool.hasPrefix("draid") {
            return "pool name is reserved"
        }
        return nil
    }

    static func componentProblem(_ component: Substring) -> String? {
        if component.isEmpty { return "empty component or misplaced '@' or '#' delimiter in name" }
        if component == "." { return "self reference, '.' is found in name" }
        if component == ".." { return "parent reference, '..' is found in name" }
        for scalar in component.unicodeScalars where !isComponentCharacter(scalar) {
            return scalar == "%" ? "invalid character % in name" : "invalid character '\(scalar)' in name"
        }
        return nil
    }
}

/// A filesystem or volume name such as `tank/home/alice`.
public struct DatasetName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Validates `rawValue`; `field` names the value in the error (e.g. `destination dataset`).
    public init(_ rawValue: String, field: String = "dataset") throws(InvalidValue) {
        if let problem = ZFSNameRules.datasetProblem(rawValue) {
            throw InvalidValue(field: field, value: rawValue, reason: problem)
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
    public var pool: String { String(rawValue.prefix { $0 != "/" }) }
    public var components: [String] { rawValue.split(separator: "/").map(String.init) }
    /// The last path component (`alice` for `tank/home/alice`).
    public var lastComponent: String { components.last ?? rawValue }
    /// The parent dataset, or nil for a pool's root dataset.
    public var parent: DatasetName? {
        guard let slash = rawValue.lastIndex(of: "/") else { return nil }
        return DatasetName(unchecked: String(rawValue[..<slash]))
    }

    /// `self@name`, validated.
    public func snapshot(_ name: String, field: String = "snapshot") throws(InvalidValue) -> SnapshotName {
        try SnapshotName(dataset: self, name: name, field: field)
    }

    public static func < (a: DatasetName, b: DatasetName) -> Bool { a.rawValue < b.rawValue }

    init(unchecked: String) { rawValue = unchecked }
}

/// A snapshot name such as `tank/home@monday`.
public struct SnapshotName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let dataset: DatasetName
    /// The part after `@`.
    public let name: String

    public init(dataset: DatasetName, name: String, field: String = "snapshot") throws(InvalidValue) {
        let full = dataset.rawValue + "@" + name
        if full.utf8.count > ZFSNameRules.maximumLength {
            throw InvalidValue(field: field, value: full, reason: "name is too long")
        }
        if name.contains("@") || name.contains("#") {
            throw InvalidValue(field: field, value: full, reason: "multiple '@' and/or '#' delimiters in name")
        }
        if let problem = ZFSNameRules.componentProblem(Substring(name)) {
            throw InvalidValue(field: field, value: full, reason: problem)
        }
        self.dataset = dataset
        self.name = name
    }

    /// Parses `dataset@name`.
    public init(parsing full: String, field: String = "snapshot") throws(InvalidValue) {
        guard let at = full.firstIndex(of: "@") else {
            throw InvalidValue(field: field, value: full, reason: "missing '@' delimiter in snapshot name")
        }
        let dataset: DatasetName
        do {
            dataset = try DatasetName(String(full[..<at]), field: field)
        } catch {
            throw InvalidValue(field: field, value: full, reason: error.reason)
        }
        try self.init(dataset: dataset, name: String(full[full.index(after: at)...]), field: field)
    }

    public var rawValue: String { dataset.rawValue + "@" + name }
    public var description: String { rawValue }

    public static func < (a: SnapshotName, b: SnapshotName) -> Bool { a.rawValue < b.rawValue }
}
