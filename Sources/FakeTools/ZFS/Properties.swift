import Foundation

/// One native property: how it is shown, set and inherited.
struct PropertyDef {
    enum Kind { case computed, choice([String]), size, number, text }
    var name: String
    var kind: Kind
    var defaultValue: String
    var inheritable: Bool
    var forSnapshots: Bool
    /// Shown right-aligned in `zfs list` (numbers).
    var numeric: Bool
    var valuesText: String

    var editable: Bool { if case .computed = kind { return false }; return true }
}

/// The native properties the fake knows, in `zfs get all` order.
enum PropertyTable {
    static let all: [PropertyDef] = {
        func ro(_ n: String, snap: Bool, numeric: Bool = false, values: String) -> PropertyDef {
            PropertyDef(name: n, kind: .computed, defaultValue: "-", inheritable: false, forSnapshots: snap,
                        numeric: numeric, valuesText: values)
        }
        func choice(_ n: String, _ values: [String], _ d: String, inherit: Bool = true) -> PropertyDef {
            PropertyDef(name: n, kind: .choice(values), defaultValue: d, inheritable: inherit, forSnapshots: false,
                        numeric: false, valuesText: values.joined(separator: " | "))
        }
        func size(_ n: String, _ d: String, inherit: Bool = false, values: String = "<size> | none") -> PropertyDef {
            PropertyDef(name: n, kind: .size, defaultValue: d, inheritable: inherit, forSnapshots: false,
                        numeric: true, valuesText: values)
        }
        let onOff = ["on", "off"]
        return [
            ro("type", snap: true, values: "filesystem | volume | snapshot | bookmark"),
            ro("creation", snap: true, values: "<date>"),
            ro("used", snap: true, numeric: true, values: "<size>"),
            ro("available", snap: false, numeric: true, values: "<size>"),
            ro("referenced", snap: true, numeric: true, values: "<size>"),
            ro("compressratio", snap: true, numeric: true, values: "<1.00x or higher if compressed>"),
            ro("mounted", snap: false, values: "yes | no"),
            size("quota", "0"),
            size("reservation", "0"),
            size("recordsize", "131072", inherit: true, values: "512 to 1M, power of 2"),
            PropertyDef(name: "mountpoint", kind: .text, defaultValue: "/", inheritable: true, forSnapshots: false,
                        numeric: false, valuesText: "<path> | legacy | none"),
            choice("sharenfs", onOff, "off"),
            choice("checksum", ["on", "off", "fletcher2", "fletcher4", "sha256", "sha512", "skein", "edonr", "blake3"], "on"),
            choice("compression", ["on", "off", "lzjb", "gzip", "gzip-[1-9]", "zle", "lz4", "zstd"], "off"),
            choice("atime", onOff, "on"),
            choice("devices", onOff, "on"),
            choice("exec", onOff, "on"),
            choice("setuid", onOff, "on"),
            choice("readonly", onOff, "off"),
            choice("zoned", onOff, "off"),
            choice("snapdir", ["hidden", "visible"], "hidden"),
            choice("canmount", ["on", "off", "noauto"], "on", inherit: false),
            choice("xattr", ["on", "off", "sa"], "on"),
            choice("copies", ["1", "2", "3"], "1"),
            choice("sharesmb", onOff, "off"),
            size("refquota", "0"),
            size("refreservation", "0"),
            choice("primarycache", ["all", "none", "metadata"], "all"),
            choice("secondarycache", ["all", "none", "metadata"], "all"),
            ro("usedbysnapshots", snap: false, numeric: true, values: "<size>"),
            ro("usedbydataset", snap: false, numeric: true, values: "<size>"),
            ro("usedbychildren", snap: false, numeric: true, values: "<size>"),
            ro("usedbyrefreservation", snap: false, numeric: true, values: "<size>"),
            choice("logbias", ["latency", "throughput"], "latency"),
            choice("dedup", ["on", "off", "verify", "sha256[,verify]"], "off"),
            choice("sync", ["standard", "always", "disabled"], "standard"),
            ro("guid", snap: true, numeric: true, values: "<uint64>"),
            ro("createtxg", snap: true, numeric: true, values: "<uint64>"),
            ro("written", snap: true, numeric: true, values: "<size>"),
            ro("logicalused", snap: false, numeric: true, values: "<size>"),
            ro("logicalreferenced", snap: true, numeric: true, values: "<size>"),
            ro("receive_resume_token", snap: false, values: "<string token>"),
            ro("defer_destroy", snap: true, values: "yes | no"),
            ro("userrefs", snap: true, numeric: true, values: "<count>"),
        ]
    }()

    static let byName: [String: PropertyDef] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Properties zfs-fuse does not have.
    static let modernOnly: Set<String> = ["receive_resume_token", "logicalused", "logicalreferenced", "sync"]

    static let aliases: [String: String] = [
        "avail": "available", "refer": "referenced", "ratio": "compressratio", "compress": "compression",
        "reserv": "reservation", "refreserv": "refreservation", "recsize": "recordsize",
        "usedsnap": "usedbysnapshots", "usedds": "usedbydataset", "usedchild": "usedbychildren",
        "usedrefreserv": "usedbyrefreservation", "lrefer": "logicalreferenced", "lused": "logicalused",
    ]

    /// The canonical name of a native property, nil if unknown.
    static func canonical(_ name: String, legacy: Bool) -> String? {
        let resolved = aliases[name] ?? name
        guard byName[resolved] != nil || resolved == "name" else { return nil }
        if legacy && modernOnly.contains(resolved) { return nil }
        return resolved
    }

    /// The column header `zfs list` prints.
    static func header(_ name: String) -> String {
        switch name {
        case "available": return "AVAIL"
        case "referenced": return "REFER"
        case "compressratio": return "RATIO"
        case "usedbysnapshots": return "USEDSNAP"
        case "usedbydataset": return "USEDDS"
        case "usedbychildren": return "USEDCHILD"
        case "usedbyrefreservation": return "USEDREFRESERV"
        case "receive_resume_token": return "RESUMETOK"
        default: return name.contains(":") ? name : name.uppercased()
        }
    }
}

/// A dataset as `list`/`get` see it: a filesystem, one of its snapshots, or a bookmark.
enum Entity {
    case filesystem(Dataset)
    case snapshot(Dataset, Snapshot)
    case bookmark(Dataset, Bookmark)

    var name: String {
        switch self {
        case .filesystem(let d): return d.name
        case .snapshot(let d, let s): return "\(d.name)@\(s.name)"
        case .bookmark(let d, let b): return "\(d.name)#\(b.name)"
        }
    }
    var typeName: String {
        switch self {
        case .filesystem: return "filesystem"
        case .snapshot: return "snapshot"
        case .bookmark: return "bookmark"
        }
    }
    var fs: Dataset {
        switch self {
        case .filesystem(let d), .snapshot(let d, _), .bookmark(let d, _): return d
        }
    }
    var createtxg: UInt64 {
        switch self {
        case .filesystem(let d): return d.createtxg
        case .snapshot(_, let s): return s.createtxg
        case .bookmark(_, let b): return b.createtxg
        }
    }
}

/// A property's value as `zfs get` reports it.
struct PropertyValue {
    var value: String
    var raw: String
    var source: String
    var received: String
}

/// Property lookups against a host state.
struct PropertyResolver {
    let state: HostState
    let legacy: Bool

    func entity(_ name: String) -> Entity? {
        let (fs, tail) = Names.split(name)
        guard let dataset = state.datasets[fs] else { return nil }
        guard let tail else { return .filesystem(dataset) }
        if name.contains("#") {
            return dataset.bookmarks.first { $0.name == tail }.map { .bookmark(dataset, $0) }
        }
        return dataset.snapshots.first { $0.name == tail }.map { .snapshot(dataset, $0) }
    }

    /// The value with its source; nil when the property does not apply to this kind of dataset.
    func value(_ property: String, of entity: Entity) -> PropertyValue? {
        if property.contains(":") { return userValue(property, of: entity) }
        if property == "name" { return PropertyValue(value: entity.name, raw: entity.name, source: "-", received: "-") }
        guard let def = PropertyTable.byName[property] else { return nil }
        if case .filesystem = entity {} else if !def.forSnapshots {
            return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        }
        if case .computed = def.kind {
            guard let raw = computed(property, entity) else {
                return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
            }
            return PropertyValue(value: display(def, raw, entity), raw: raw, source: "-", received: "-")
        }
        let dataset = entity.fs
        let receivedValue = dataset.received[property] ?? "-"
        var raw: String
        var source: String
        if let v = dataset.local[property] {
            raw = v; source = "local"
        } else if let v = dataset.received[property] {
            raw = v; source = "received"
        } else if def.inheritable, let (ancestor, v) = inheritedValue(property, from: dataset.name) {
            raw = v; source = "inherited from \(ancestor)"
            if property == "mountpoint", v != "none", v != "legacy" {
                let suffix = dataset.name.dropFirst(ancestor.count)
                raw = (v == "/" ? "" : v) + suffix
            }
        } else {
            raw = def.defaultValue; source = "default"
            if property == "mountpoint" { raw = "/" + dataset.name }
        }
        return PropertyValue(value: display(def, raw, entity), raw: raw, source: source, received: receivedValue)
    }

    /// The nearest ancestor's local or received value.
    func inheritedValue(_ property: String, from fs: String) -> (String, String)? {
        var current = Names.parent(of: fs)
        while let name = current {
            if let d = state.datasets[name], let v = d.local[property] ?? d.received[property] { return (name, v) }
            current = Names.parent(of: name)
        }
        return nil
    }

    func userValue(_ property: String, of entity: Entity) -> PropertyValue {
        let dataset = entity.fs
        switch entity {
        case .snapshot(_, let s):
            if let v = s.local[property] { return PropertyValue(value: v, raw: v, source: "local", received: s.received[property] ?? "-") }
            if let v = s.received[property] { return PropertyValue(value: v, raw: v, source: "received", received: v) }
            if let v = dataset.local[property] ?? dataset.received[property] {
                return PropertyValue(value: v, raw: v, source: "inherited from \(dataset.name)", received: "-")
            }
        case .bookmark:
            return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        case .filesystem:
            if let v = dataset.local[property] {
                return PropertyValue(value: v, raw: v, source: "local", received: dataset.received[property] ?? "-")
            }
            if let v = dataset.received[property] { return PropertyValue(value: v, raw: v, source: "received", received: v) }
        }
        if let (ancestor, v) = inheritedValue(property, from: dataset.name) {
            return PropertyValue(value: v, raw: v, source: "inherited from \(ancestor)", received: "-")
        }
        return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
    }

    /// Raw values of the read-only properties.
    func computed(_ property: String, _ entity: Entity) -> String? {
        switch (property, entity) {
        case ("type", _): return entity.typeName
        case ("creation", .filesystem(let d)): return "\(d.creation)"
        case ("creation", .snapshot(_, let s)): return "\(s.creation)"
        case ("creation", .bookmark(_, let b)): return "\(b.creation)"
        case ("guid", .filesystem(let d)): return "\(d.guid)"
        case ("guid", .snapshot(_, let s)): return "\(s.guid)"
        case ("guid", .bookmark(_, let b)): return "\(b.guid)"
        case ("createtxg", _): return "\(entity.createtxg)"
        case ("used", .filesystem(let d)): return "\(used(d))"
        case ("used", .snapshot(_, let s)): return "\(s.used)"
        case ("referenced", .filesystem(let d)), ("logicalreferenced", .filesystem(let d)): return "\(d.referenced)"
        case ("referenced", .snapshot(_, let s)), ("logicalreferenced", .snapshot(_, let s)): return "\(s.referenced)"
        case ("logicalused", .filesystem(let d)): return "\(used(d))"
        case ("written", .filesystem(let d)): return "\(d.written)"
        case ("written", .snapshot(_, let s)): return "\(s.written)"
        case ("available", .filesystem(let d)):
            let pool = Names.pool(of: d.name)
            return "\(max(0, (state.pools[pool]?.size ?? 0) - state.allocated(pool: pool)))"
        case ("compressratio", .filesystem), ("compressratio", .snapshot): return "1.00x"
        case ("mounted", .filesystem): return "no"
        case ("usedbysnapshots", .filesystem(let d)): return "\(d.snapshots.reduce(0) { $0 + $1.used })"
        case ("usedbydataset", .filesystem(let d)): return "\(d.referenced)"
        case ("usedbychildren", .filesystem(let d)): return "\(used(d) - d.referenced - d.snapshots.reduce(0) { $0 + $1.used })"
        case ("usedbyrefreservation", .filesystem): return "0"
        case ("receive_resume_token", .filesystem(let d)):
            return d.partial.map { ResumeToken.encode(ResumeToken.Contents(partial: $0)) } ?? "-"
        case ("defer_destroy", .snapshot(_, let s)): return s.deferDestroy ? "on" : "off"
        case ("userrefs", .snapshot(_, let s)): return "\(s.holds.count)"
        default: return nil
        }
    }

    func used(_ d: Dataset) -> Int64 {
        let own = d.referenced + d.snapshots.reduce(0) { $0 + $1.used }
        return own + state.datasets.values.filter { Names.parent(of: $0.name) == d.name }.reduce(0) { $0 + used($1) }
    }

    /// The human form of a raw value.
    func display(_ def: PropertyDef, _ raw: String, _ entity: Entity) -> String {
        switch def.name {
        case "creation": return Int64(raw).map(Human.creation) ?? raw
        case "guid": return legacy ? (UInt64(raw).map { Human.nicenum($0, bytes: false) } ?? raw) : raw
        case "createtxg", "userrefs", "compressratio": return raw
        case "quota", "reservation", "refquota", "refreservation":
            return raw == "0" ? "none" : (Int64(raw).map { Human.size($0) } ?? raw)
        default:
            if def.numeric, let n = Int64(raw) { return Human.size(n) }
            return raw
        }
    }
}

/// Setting and validating properties.
enum PropertySetter {
    /// Validates `name=value` for `zfs set`/`create -o`/`receive -o`, returning the canonical name and
    /// the stored value, or the reason (`invalid property 'x'`, `'used' is readonly`, ...).
    static func validate(_ name: String, _ value: String, legacy: Bool, forSnapshot: Bool) -> Result<(String, String), Failure> {
        if name.contains(":") {
            guard Names.isValidUserProperty(name) else { return .failure(Failure("invalid property '\(name)'")) }
            guard value.utf8.count < 8192 else { return .failure(Failure("property value too long")) }
            return .success((name, value))
        }
        guard let canonical = PropertyTable.canonical(name, legacy: legacy), canonical != "name",
              let def = PropertyTable.byName[canonical] else { return .failure(Failure("invalid property '\(name)'")) }
        if forSnapshot { return .failure(Failure("this property can not be modified for snapshots")) }
        switch def.kind {
        case .computed: return .failure(Failure("'\(canonical)' is readonly"))
        case .choice(let values):
            let accepted = values.contains(value) || (canonical == "compression" && value.hasPrefix("gzip-"))
            return accepted ? .success((canonical, value)) : .failure(Failure("'\(canonical)' must be one of '\(def.valuesText)'"))
        case .size:
            if value == "none" { return .success((canonical, "0")) }
            guard let n = Human.parseSize(value) else { return .failure(Failure("bad numeric value '\(value)'")) }
            return .success((canonical, "\(n)"))
        case .number:
            guard Int64(value) != nil else { return .failure(Failure("bad numeric value '\(value)'")) }
            return .success((canonical, value))
        case .text:
            if canonical == "mountpoint", !(value.hasPrefix("/") || value == "none" || value == "legacy") {
                return .failure(Failure("'mountpoint' must be an absolute path, 'none', or 'legacy'"))
            }
            return .success((canonical, value))
        }
    }
}
