import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One native property: how it is shown, set and inherited.
struct PropertyDef {
    /// `limit`: a count where none (UINT64_MAX) is the default, shown as `none` in both forms.
    enum Kind { case computed, choice([String]), size, number, text, limit }
    var name: String
    var kind: Kind
    var defaultValue: String
    var inheritable: Bool
    var forSnapshots: Bool
    /// Shown right-aligned in `zfs list` (numbers).
    var numeric: Bool
    var valuesText: String
    /// Set only when a dataset is created (`encryption`, `keyformat`, `pbkdf2iters`): readonly otherwise.
    var onetime = false

    var editable: Bool { if case .computed = kind { return false }; return true }
}

/// The native properties the fake knows, in `zfs get all` order: OpenZFS 2.2's zfs_prop_t order
/// (include/sys/fs/zfs.h), which zprop_iter walks unsorted for `get all`.
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
        func text(_ n: String, _ d: String, inherit: Bool, snap: Bool = true, values: String) -> PropertyDef {
            PropertyDef(name: n, kind: .text, defaultValue: d, inheritable: inherit, forSnapshots: snap,
                        numeric: false, valuesText: values)
        }
        /// Set once, at create (PROP_ONETIME: not editable, inherited by new children).
        func zpl(_ n: String, _ d: String, values: String) -> PropertyDef {
            PropertyDef(name: n, kind: .computed, defaultValue: d, inheritable: true, forSnapshots: true,
                        numeric: false, valuesText: values)
        }
        func limit(_ n: String) -> PropertyDef {
            PropertyDef(name: n, kind: .limit, defaultValue: "none", inheritable: false, forSnapshots: false,
                        numeric: true, valuesText: "<count> | none")
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
            ro("origin", snap: false, values: "<snapshot>"),
            size("quota", "0"),
            size("reservation", "0"),
            PropertyDef(name: "volsize", kind: .size, defaultValue: "0", inheritable: false, forSnapshots: true,
                        numeric: true, valuesText: "<size>"),
            PropertyDef(name: "volblocksize", kind: .size, defaultValue: "16384", inheritable: false, forSnapshots: false,
                        numeric: true, valuesText: "512 to 128k, power of 2", onetime: true),
            size("recordsize", "131072", inherit: true, values: "512 to 1M, power of 2"),
            PropertyDef(name: "mountpoint", kind: .text, defaultValue: "/", inheritable: true, forSnapshots: false,
                        numeric: false, valuesText: "<path> | legacy | none"),
            text("sharenfs", "off", inherit: true, snap: false, values: "on | off | NFS share options"),
            choice("checksum", ["on", "off", "fletcher2", "fletcher4", "sha256", "sha512", "skein", "edonr", "blake3"], "on"),
            PropertyDef(name: "compression", kind: .choice(Compression.names), defaultValue: "off", inheritable: true,
                        forSnapshots: false, numeric: false,
                        valuesText: "on | off | lzjb | gzip | gzip-[1-9] | zle | lz4 | zstd | zstd-[1-19] | "
                            + "zstd-fast | zstd-fast-[1-10,20,30,40,50,60,70,80,90,100,500,1000]"),
            choice("atime", onOff, "on"),
            choice("devices", onOff, "on"),
            choice("exec", onOff, "on"),
            choice("setuid", onOff, "on"),
            choice("readonly", onOff, "off"),
            choice("zoned", onOff, "off"),
            choice("snapdir", ["hidden", "visible"], "hidden"),
            choice("aclmode", ["discard", "groupmask", "passthrough", "restricted"], "discard"),
            choice("aclinherit", ["discard", "noallow", "restricted", "passthrough", "passthrough-x"], "restricted"),
            ro("createtxg", snap: true, numeric: true, values: "<uint64>"),
            choice("canmount", ["on", "off", "noauto"], "on", inherit: false),
            choice("xattr", ["on", "off", "dir", "sa"], "on"),
            choice("copies", ["1", "2", "3"], "1"),
            ro("version", snap: true, values: "1 | 2 | 3 | 4 | 5 | current"),
            zpl("utf8only", "off", values: "on | off"),
            zpl("normalization", "none", values: "none | formC | formD | formKC | formKD"),
            zpl("casesensitivity", "sensitive", values: "sensitive | insensitive | mixed"),
            choice("vscan", onOff, "off"),
            choice("nbmand", onOff, "off"),
            text("sharesmb", "off", inherit: true, snap: false, values: "on | off | SMB share options"),
            size("refquota", "0"),
            size("refreservation", "0"),
            ro("guid", snap: true, numeric: true, values: "<uint64>"),
            choice("primarycache", ["all", "none", "metadata"], "all"),
            choice("secondarycache", ["all", "none", "metadata"], "all"),
            ro("usedbysnapshots", snap: false, numeric: true, values: "<size>"),
            ro("usedbydataset", snap: false, numeric: true, values: "<size>"),
            ro("usedbychildren", snap: false, numeric: true, values: "<size>"),
            ro("usedbyrefreservation", snap: false, numeric: true, values: "<size>"),
            ro("defer_destroy", snap: true, values: "yes | no"),
            ro("userrefs", snap: true, numeric: true, values: "<count>"),
            choice("logbias", ["latency", "throughput"], "latency"),
            ro("objsetid", snap: true, numeric: true, values: "<uint64>"),
            PropertyDef(name: "dedup", kind: .choice(["on", "off", "verify", "sha256", "sha256,verify", "sha512", "sha512,verify",
                                                      "skein", "skein,verify", "edonr,verify", "blake3", "blake3,verify"]),
                        defaultValue: "off", inheritable: true, forSnapshots: false, numeric: false,
                        valuesText: "on | off | verify | sha256[,verify] | sha512[,verify] | skein[,verify] | edonr,verify | blake3[,verify]"),
            text("mlslabel", "none", inherit: true, values: "<sensitivity label>"),
            choice("sync", ["standard", "always", "disabled"], "standard"),
            choice("dnodesize", ["legacy", "auto", "1k", "2k", "4k", "8k", "16k"], "legacy"),
            ro("refcompressratio", snap: true, numeric: true, values: "<1.00x or higher if compressed>"),
            ro("written", snap: true, numeric: true, values: "<size>"),
            ro("clones", snap: true, values: "<dataset>[,...]"),
            ro("logicalused", snap: false, numeric: true, values: "<size>"),
            ro("logicalreferenced", snap: true, numeric: true, values: "<size>"),
            choice("volmode", ["default", "full", "geom", "dev", "none"], "default"),
            limit("filesystem_limit"),
            limit("snapshot_limit"),
            ro("filesystem_count", snap: false, numeric: true, values: "<count>"),
            ro("snapshot_count", snap: false, numeric: true, values: "<count>"),
            choice("snapdev", ["hidden", "visible"], "hidden"),
            choice("acltype", ["off", "nfsv4", "posix"], "off"),
            text("context", "none", inherit: false, values: "<selinux context>"),
            text("fscontext", "none", inherit: false, values: "<selinux fscontext>"),
            text("defcontext", "none", inherit: false, values: "<selinux defcontext>"),
            text("rootcontext", "none", inherit: false, values: "<selinux rootcontext>"),
            choice("relatime", onOff, "on"),
            choice("redundant_metadata", ["all", "most", "some", "none"], "all"),
            choice("overlay", onOff, "on"),
            ro("receive_resume_token", snap: false, values: "<string token>"),
            PropertyDef(name: "encryption", kind: .choice(Encryption.suiteValues), defaultValue: "off", inheritable: true,
                        forSnapshots: true, numeric: false, valuesText: Encryption.suiteValues.joined(separator: " | "), onetime: true),
            PropertyDef(name: "keylocation", kind: .text, defaultValue: "none", inheritable: false, forSnapshots: false,
                        numeric: false, valuesText: "prompt | <file URI> | <https URL> | <http URL>"),
            PropertyDef(name: "keyformat", kind: .choice(["none"] + Encryption.formats), defaultValue: "none", inheritable: false,
                        forSnapshots: false, numeric: false, valuesText: "none | raw | hex | passphrase", onetime: true),
            PropertyDef(name: "pbkdf2iters", kind: .number, defaultValue: "0", inheritable: false, forSnapshots: false,
                        numeric: true, valuesText: "<iters>", onetime: true),
            ro("encryptionroot", snap: true, values: "<filesystem | volume>"),
            ro("keystatus", snap: true, values: "none | unavailable | available"),
            PropertyDef(name: "special_small_blocks", kind: .size, defaultValue: "0", inheritable: true, forSnapshots: false,
                        numeric: true, valuesText: "zero or 512 to 1M, power of 2"),
            ro("redact_snaps", snap: true, values: "<snapshot>[,...]"),
            ro("snapshots_changed", snap: false, values: "<date>"),
            choice("prefetch", ["none", "metadata", "all"], "all"),
        ]
    }()

    /// Snapshot-only rows (zfs_prop.c registers them for ZFS_TYPE_SNAPSHOT alone).
    static let snapshotOnly: Set<String> = ["defer_destroy", "userrefs", "clones"]
    /// Settable properties that snapshots show too, taking their filesystem's value.
    static let snapshotInherited: Set<String> = [
        "devices", "exec", "setuid", "xattr", "nbmand", "acltype", "primarycache", "secondarycache", "prefetch",
    ]
    /// What `get all` shows of a bookmark.
    static let forBookmarks: Set<String> = ["type", "creation", "referenced", "compressratio", "createtxg", "guid", "logicalreferenced"]
    /// Rows `get all` prints only where the property has a value (libzfs's zfs_prop_get fails otherwise):
    /// `origin` of a clone, a partial receive's token, a redacted dataset's snapshots, `snapshots_changed`
    /// once a snapshot was made or destroyed.
    static let shownWhenSet: Set<String> = ["origin", "receive_resume_token", "redact_snaps", "snapshots_changed", "clones"]

    /// The rows of a volume (zfs_prop.c registers them for ZFS_TYPE_VOLUME); the others read `-` there.
    static let forVolumes: Set<String> = [
        "type", "creation", "used", "available", "referenced", "compressratio", "origin", "reservation", "volsize",
        "volblocksize", "checksum", "compression", "readonly", "createtxg", "copies", "refreservation", "guid",
        "primarycache", "secondarycache", "usedbysnapshots", "usedbydataset", "usedbychildren", "usedbyrefreservation",
        "logbias", "objsetid", "dedup", "mlslabel", "sync", "refcompressratio", "written", "logicalused",
        "logicalreferenced", "volmode", "snapshot_limit", "snapshot_count", "snapdev", "context", "fscontext",
        "defcontext", "rootcontext", "redundant_metadata", "receive_resume_token", "encryption", "keylocation",
        "keyformat", "pbkdf2iters", "encryptionroot", "keystatus", "snapshots_changed", "prefetch",
    ]
    /// Rows only a volume (and its snapshots, for `volsize`) has.
    static let volumeOnly: Set<String> = ["volsize", "volblocksize"]
    /// Snapshot rows of a filesystem's snapshots only (ZFS_TYPE_FILESYSTEM | ZFS_TYPE_SNAPSHOT).
    static let filesystemSnapshotOnly: Set<String> = [
        "devices", "exec", "setuid", "xattr", "nbmand", "acltype", "version", "utf8only", "normalization", "casesensitivity",
    ]

    /// Whether a native property applies to this entity's type (a volume, a filesystem, their snapshots).
    static func applies(_ property: String, to entity: Entity) -> Bool {
        switch entity {
        case .filesystem(let d): return d.volume == nil ? !volumeOnly.contains(property) : forVolumes.contains(property)
        case .snapshot(let d, _):
            return d.volume == nil ? property != "volsize" : !filesystemSnapshotOnly.contains(property)
        case .bookmark: return true
        }
    }

    static let byName: [String: PropertyDef] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Properties zfs-fuse does not have (or, for its filesystems' rows, that the fake does not give it).
    static let modernOnly = Set([
        "clones", "receive_resume_token", "logicalused", "logicalreferenced", "sync",
        "aclmode", "aclinherit", "version", "utf8only", "normalization", "casesensitivity", "vscan", "nbmand",
        "objsetid", "mlslabel", "dnodesize", "refcompressratio", "volmode", "filesystem_limit", "snapshot_limit",
        "filesystem_count", "snapshot_count", "snapdev", "acltype", "context", "fscontext", "defcontext",
        "rootcontext", "relatime", "redundant_metadata", "overlay", "special_small_blocks", "redact_snaps",
        "snapshots_changed", "prefetch",
    ]).union(encryptionProperties)

    /// The native encryption properties (OpenZFS ≥ 0.8).
    static let encryptionProperties: Set<String> = ["encryption", "keylocation", "keyformat", "pbkdf2iters", "encryptionroot", "keystatus"]

    /// Column names (zfs_prop.c) where they are not the property's name in capitals. libzfs also takes a
    /// column name in lower case for the property (`rdonly`, `refer`, `lused`).
    static let columnNames: [String: String] = [
        "redundant_metadata": "REDUND_MD", "compression": "COMPRESS", "dnodesize": "DNSIZE", "readonly": "RDONLY",
        "casesensitivity": "CASE", "receive_resume_token": "RESUMETOK", "encryptionroot": "ENCROOT",
        "redact_snaps": "RSNAPS", "available": "AVAIL", "referenced": "REFER", "compressratio": "RATIO",
        "refcompressratio": "REFRATIO", "usedbysnapshots": "USEDSNAP", "usedbydataset": "USEDDS",
        "usedbychildren": "USEDCHILD", "usedbyrefreservation": "USEDREFRESERV", "logicalused": "LUSED",
        "logicalreferenced": "LREFER", "filesystem_count": "FSCOUNT", "snapshot_count": "SSCOUNT",
        "reservation": "RESERV", "refreservation": "REFRESERV", "filesystem_limit": "FSLIMIT",
        "snapshot_limit": "SSLIMIT", "recordsize": "RECSIZE",
    ]

    static let aliases: [String: String] = {
        var names = ["avail": "available", "refer": "referenced", "ratio": "compressratio", "compress": "compression"]
        for (property, column) in columnNames { names[column.lowercased()] = property }
        return names
    }()

    /// `written@snap` / `written#bookmark` (OpenZFS ≥ 0.6.1 and 2.x; short or full names).
    static func isWritten(_ name: String, legacy: Bool) -> Bool {
        !legacy && (name.hasPrefix("written@") || name.hasPrefix("written#")) && name.count > 8
    }

    /// The per-user, group and project accounting properties (`userused@bob`, `groupquota@100`,
    /// `projectobjused@7`, ...; OpenZFS ≥ 0.7 for obj and project).
    static let spacePrefixes: Set<String> = [
        "userused", "groupused", "userquota", "groupquota", "userobjused", "groupobjused", "userobjquota",
        "groupobjquota", "projectused", "projectquota", "projectobjused", "projectobjquota",
    ]

    static func isSpace(_ name: String, legacy: Bool) -> Bool {
        guard !legacy, let at = name.firstIndex(of: "@"), name.index(after: at) < name.endIndex else { return false }
        return spacePrefixes.contains(String(name[..<at]))
    }

    /// The ZPL properties fixed at `zfs create` (PROP_ONETIME): readonly afterwards, shown with source `-`.
    static let createOnly: [String: [String]] = [
        "utf8only": ["on", "off"], "normalization": ["none", "formC", "formD", "formKC", "formKD"],
        "casesensitivity": ["sensitive", "insensitive", "mixed"],
    ]

    /// The canonical name of a native property, nil if unknown.
    static func canonical(_ name: String, legacy: Bool) -> String? {
        let resolved = aliases[name] ?? name
        guard byName[resolved] != nil || resolved == "name" else { return nil }
        if legacy && modernOnly.contains(resolved) { return nil }
        return resolved
    }

    /// The column header `zfs list` prints.
    static func header(_ name: String, legacy: Bool = false) -> String {
        if let column = columnNames[name] { return column }
        // OpenZFS uppercases user properties (and written@…) too; zfs-fuse printed them as given.
        return legacy && name.contains(":") ? name : name.uppercased()
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
        case .filesystem(let d): return d.volume == nil ? "filesystem" : "volume"
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
        if PropertyTable.isWritten(property, legacy: legacy) { return writtenSince(property, of: entity) }
        if PropertyTable.isSpace(property, legacy: legacy) { return space(property, of: entity) }
        guard let def = PropertyTable.byName[property] else { return nil }
        guard PropertyTable.applies(property, to: entity) else {
            return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        }
        if let volume = entity.fs.volume, PropertyTable.volumeOnly.contains(property) {
            // volsize is set (local) on the volume and read-only on its snapshots; volblocksize is fixed.
            let raw = property == "volsize" ? volume.size : volume.blockSize
            let source: String
            if case .snapshot = entity { source = "-" } else { source = property == "volsize" ? "local" : "default" }
            return PropertyValue(value: Human.size(raw, bytes: false), raw: "\(raw)", source: source, received: "-")
        }
        if case .snapshot(let dataset, _) = entity, PropertyTable.snapshotInherited.contains(property),
           var v = value(property, of: .filesystem(dataset)) {
            // A snapshot's value is its filesystem's: set there, it reads as inherited from it.
            if v.source == "local" || v.source == "received" { v.source = "inherited from \(dataset.name)" }
            v.received = "-"
            return v
        }
        if case .filesystem = entity {} else if !def.forSnapshots {
            return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        }
        if PropertyTable.encryptionProperties.contains(property) { return encryptionValue(property, of: entity) }
        if property.hasSuffix("_count"), case .filesystem(let d) = entity {
            guard let count = limitCount(property, of: d) else {
                return PropertyValue(value: "none", raw: "none", source: "default", received: "-")
            }
            return PropertyValue(value: Human.size(count, bytes: false), raw: "\(count)", source: "local", received: "-")
        }
        if case .computed = def.kind {
            guard let raw = computed(property, entity) else {
                return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
            }
            return PropertyValue(value: display(def, raw, entity), raw: raw, source: "-", received: "-")
        }
        if case .snapshot = entity {
            // mlslabel and the SELinux contexts: a snapshot has its own, never set here.
            return PropertyValue(value: def.defaultValue, raw: def.defaultValue, source: "default", received: "-")
        }
        let dataset = entity.fs
        let receivedValue = dataset.received[property] ?? "-"
        var raw: String
        var source: String
        if let v = dataset.local[property] {
            raw = v; source = "local"
        } else if let v = effectiveReceived(property, of: dataset) {
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

    /// `written@S`: what was written to a filesystem (or up to a snapshot) since snapshot or bookmark S
    /// of the same filesystem, physical bytes; source `local` as zfs get shows it, `-` when S is not
    /// an earlier snapshot or bookmark of it.
    func writtenSince(_ property: String, of entity: Entity) -> PropertyValue {
        let none = PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        let mark = property.dropFirst("written".count) // "@snap", "#bm", or "@fs@snap"
        let dataset = entity.fs
        let rest = String(mark.dropFirst())
        let separator = mark.first!
        var name = rest
        if let i = rest.lastIndex(of: separator == "@" ? "@" : "#") {
            guard rest[..<i] == dataset.name else { return none }
            name = String(rest[rest.index(after: i)...])
        } else if rest.contains("@") || rest.contains("#") {
            return none
        }
        let since: UInt64?
        if separator == "@" {
            since = dataset.snapshots.first { $0.name == name }?.createtxg
        } else {
            since = dataset.bookmarks.first { $0.name == name }?.createtxg
        }
        guard let since else { return none }
        var upTo = UInt64.max
        var total: Int64 = 0
        switch entity {
        case .filesystem(let d): total = Compression.physical(d.written, d.compressRatio)
        case .snapshot(_, let t): upTo = t.createtxg
        case .bookmark: return none
        }
        guard since < upTo else { return none }
        for snapshot in dataset.snapshots where snapshot.createtxg > since && snapshot.createtxg <= upTo {
            total += Compression.physical(snapshot.written, snapshot.compressRatio)
        }
        return PropertyValue(value: Human.size(total), raw: "\(total)", source: "local", received: "-")
    }

    /// `userused@who` and friends. Every byte and object of the fake belongs to uid, gid and project 0;
    /// quotas are recorded (`zfs set userquota@who=…`) but limit nothing. Source `local`, as zfs get shows
    /// them; `-` for a name that is no user or group here.
    func space(_ property: String, of entity: Entity) -> PropertyValue {
        let none = PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        guard let (key, id) = PropertyTable.spaceKey(property) else { return none }
        let referenced: Int64
        switch entity {
        case .filesystem(let d): referenced = Compression.physical(d.referenced, d.compressRatio)
        case .snapshot(_, let s): referenced = Compression.physical(s.referenced, s.compressRatio)
        case .bookmark: return none
        }
        let kind = String(key.prefix { $0 != "@" })
        let objects = kind.contains("obj")
        var amount: Int64
        if kind.hasSuffix("quota") {
            amount = Int64(entity.fs.local[key] ?? "0") ?? 0
            if amount == 0 { return PropertyValue(value: "none", raw: "0", source: "local", received: "-") }
        } else {
            amount = id != 0 ? 0 : (objects ? 6 + (referenced + 131_071) / 131_072 : referenced)
        }
        let shown = objects ? Human.size(amount, bytes: false) : Human.size(amount)
        return PropertyValue(value: shown, raw: "\(amount)", source: "local", received: "-")
    }

    /// A received value that no explicit inherit masks.
    func effectiveReceived(_ property: String, of dataset: Dataset) -> String? {
        guard let v = dataset.received[property], !(dataset.masked ?? []).contains(property) else { return nil }
        return v
    }

    /// The nearest ancestor's local or received value.
    func inheritedValue(_ property: String, from fs: String) -> (String, String)? {
        var current = Names.parent(of: fs)
        while let name = current {
            if let d = state.datasets[name], let v = d.local[property] ?? effectiveReceived(property, of: d) { return (name, v) }
            current = Names.parent(of: name)
        }
        return nil
    }

    /// The encryption properties (reference §A11): values from the dataset's encryption and its root's
    /// wrapping key, sources as OpenZFS shows them.
    func encryptionValue(_ property: String, of entity: Entity) -> PropertyValue {
        let dataset = entity.fs
        func row(_ value: String, _ source: String) -> PropertyValue {
            PropertyValue(value: value, raw: value, source: source, received: "-")
        }
        guard !legacy, let crypt = dataset.crypt, let wrapping = state.wrapping(of: dataset.name) else {
            switch property {
            case "encryption": return row("off", "default")
            case "keylocation", "keyformat": return row("none", "default")
            case "pbkdf2iters": return row("0", "default")
            default: return row("-", "-")
            }
        }
        switch property {
        case "encryption": return row(crypt.suite, "-")
        case "keyformat": return row(wrapping.format, "-")
        case "pbkdf2iters": return wrapping.format == "passphrase" ? row("\(wrapping.iters)", "-") : row("0", "default")
        case "keylocation": return crypt.root == dataset.name ? row(wrapping.location, "local") : row("none", "default")
        case "encryptionroot": return row(crypt.root, "-")
        default: return row(wrapping.loaded ? "available" : "unavailable", "-")
        }
    }

    func userValue(_ property: String, of entity: Entity) -> PropertyValue {
        let dataset = entity.fs
        switch entity {
        case .snapshot(_, let s):
            if let v = s.local[property] { return PropertyValue(value: v, raw: v, source: "local", received: s.received[property] ?? "-") }
            if let v = s.received[property] { return PropertyValue(value: v, raw: v, source: "received", received: v) }
            if let v = dataset.local[property] ?? effectiveReceived(property, of: dataset) {
                return PropertyValue(value: v, raw: v, source: "inherited from \(dataset.name)", received: "-")
            }
        case .bookmark:
            return PropertyValue(value: "-", raw: "-", source: "-", received: "-")
        case .filesystem:
            if let v = dataset.local[property] {
                return PropertyValue(value: v, raw: v, source: "local", received: dataset.received[property] ?? "-")
            }
            if let v = effectiveReceived(property, of: dataset) { return PropertyValue(value: v, raw: v, source: "received", received: v) }
        }
        let received: String
        if case .filesystem = entity { received = dataset.received[property] ?? "-" } else { received = "-" }
        if let (ancestor, v) = inheritedValue(property, from: dataset.name) {
            return PropertyValue(value: v, raw: v, source: "inherited from \(ancestor)", received: received)
        }
        return PropertyValue(value: "-", raw: "-", source: "-", received: received)
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
        case ("referenced", .filesystem(let d)): return "\(Compression.physical(d.referenced, d.compressRatio))"
        case ("logicalreferenced", .filesystem(let d)): return "\(d.referenced)"
        case ("referenced", .snapshot(_, let s)): return "\(Compression.physical(s.referenced, s.compressRatio))"
        case ("referenced", .bookmark(_, let b)): return b.referenced.map { "\(Compression.physical($0, b.compressRatio))" }
        case ("logicalreferenced", .bookmark(_, let b)): return b.referenced.map { "\($0)" }
        case ("compressratio", .bookmark(_, let b)):
            return b.referenced == nil ? nil : Compression.text(b.compressRatio) + (legacy ? "x" : "")
        case ("logicalreferenced", .snapshot(_, let s)): return "\(s.referenced)"
        case ("logicalused", .filesystem(let d)): return "\(used(d, logical: true))"
        case ("written", .filesystem(let d)): return "\(Compression.physical(d.written, d.compressRatio))"
        case ("written", .snapshot(_, let s)): return "\(Compression.physical(s.written, s.compressRatio))"
        case ("available", .filesystem(let d)):
            let pool = Names.pool(of: d.name)
            return "\(max(0, (state.pools[pool]?.size ?? 0) - state.allocated(pool: pool)))"
        case ("compressratio", .filesystem(let d)):
            return Compression.text(d.compressRatio) + (legacy ? "x" : "")
        case ("compressratio", .snapshot(_, let s)):
            return Compression.text(s.compressRatio) + (legacy ? "x" : "")
        case ("mounted", .filesystem(let d)): return !legacy && d.mounted == true ? "yes" : "no"
        case ("usedbysnapshots", .filesystem(let d)): return "\(d.snapshots.reduce(0) { $0 + $1.used })"
        case ("usedbydataset", .filesystem(let d)): return "\(Compression.physical(d.referenced, d.compressRatio))"
        case ("usedbychildren", .filesystem(let d)):
            return "\(used(d) - Compression.physical(d.referenced, d.compressRatio) - d.snapshots.reduce(0) { $0 + $1.used } - d.unusedRefreservation)"
        case ("usedbyrefreservation", .filesystem(let d)): return "\(d.unusedRefreservation)"
        case ("receive_resume_token", .filesystem(let d)):
            return d.partial.map { ResumeToken.encode(ResumeToken.Contents(partial: $0)) }
        case ("origin", .filesystem(let d)): return d.origin
        case ("clones", .snapshot(let d, let s)):
            let names = clones(of: "\(d.name)@\(s.name)")
            return names.isEmpty ? nil : names.joined(separator: ",")
        case ("version", .filesystem), ("version", .snapshot): return "5"
        case ("utf8only", _), ("normalization", _), ("casesensitivity", _): return zplValue(property, of: entity.fs.name)
        case ("objsetid", .filesystem(let d)): return "\(Self.objsetid(d.guid))"
        case ("objsetid", .snapshot(_, let s)): return "\(Self.objsetid(s.guid))"
        case ("refcompressratio", .filesystem(let d)): return Compression.text(d.compressRatio)
        case ("refcompressratio", .snapshot(_, let s)): return Compression.text(s.compressRatio)
        case ("snapshots_changed", .filesystem(let d)): return d.snapshotsChanged.map { "\($0)" }
        case ("redact_snaps", _): return nil // nothing is redacted
        case ("defer_destroy", .snapshot(_, let s)): return s.deferDestroy ? "on" : "off"
        case ("userrefs", .snapshot(_, let s)): return "\(s.holds.count)"
        default: return nil
        }
    }

    /// Space used by a filesystem, its snapshots and its children: physical, or logical (`logicalused`).
    func used(_ d: Dataset, logical: Bool = false) -> Int64 {
        let own = (logical ? d.referenced : Compression.physical(d.referenced, d.compressRatio)) + d.snapshots.reduce(0) { $0 + $1.used }
            + (logical ? 0 : d.unusedRefreservation)
        return own + state.datasets.values.filter { Names.parent(of: $0.name) == d.name }.reduce(0) { $0 + used($1, logical: logical) }
    }

    /// The clones of a snapshot, by name.
    func clones(of snapshot: String) -> [String] {
        state.datasets.values.filter { $0.origin == snapshot }.map(\.name).sorted(by: Ordering.names)
    }

    /// `utf8only`, `normalization`, `casesensitivity`: fixed when a filesystem is created, from `create -o`
    /// or its parent (zfs_fill_zplprops); `normalization` other than none implies `utf8only=on`.
    func zplValue(_ property: String, of fs: String) -> String {
        var current: String? = fs
        while let name = current, let d = state.datasets[name] {
            if let v = d.local[property] { return v }
            if property == "utf8only", let n = d.local["normalization"], n != "none" { return "on" }
            current = Names.parent(of: name)
        }
        return PropertyTable.byName[property]!.defaultValue
    }

    /// A stable object-set number for a dataset or snapshot (small, as OpenZFS's are).
    static func objsetid(_ guid: UInt64) -> UInt64 { 64 + guid % 1_000_000 }

    /// `filesystem_count` / `snapshot_count`: kept only below a filesystem or snapshot limit (on the
    /// dataset or an ancestor); nil shows as `none`.
    func limitCount(_ property: String, of d: Dataset) -> Int64? {
        var current: String? = d.name
        var limited = false
        while let name = current, let a = state.datasets[name] {
            if a.hasLimit { limited = true; break }
            current = Names.parent(of: name)
        }
        guard limited else { return nil }
        let below = state.descendants(of: d.name)
        if property == "filesystem_count" { return Int64(below.count) }
        return Int64(([d.name] + below).reduce(0) { $0 + (state.datasets[$1]?.snapshots.count ?? 0) })
    }

    /// The human form of a raw value.
    func display(_ def: PropertyDef, _ raw: String, _ entity: Entity) -> String {
        switch def.name {
        case "creation": return Int64(raw).map(Human.creation) ?? raw
        case "guid": return legacy ? (UInt64(raw).map { Human.nicenum($0, bytes: false) } ?? raw) : raw
        case "createtxg", "userrefs", "pbkdf2iters", "objsetid", "version": return raw
        case "compressratio": return legacy ? raw : raw + "x"
        case "refcompressratio": return raw + "x"
        case "snapshots_changed": return Int64(raw).map { Human.date($0, "%a %b %e %k:%M:%S %Y") } ?? raw
        case "filesystem_limit", "snapshot_limit": return Int64(raw).map { Human.size($0, bytes: false) } ?? raw
        // libzfs prints these with zfs_nicenum (no B); used, available, referenced and the usedby* with
        // zfs_nicebytes.
        case "written", "logicalused", "logicalreferenced", "recordsize", "special_small_blocks":
            if !legacy, let n = Int64(raw) { return Human.size(n, bytes: false) }
            return Int64(raw).map { Human.size($0) } ?? raw
        case "quota", "reservation", "refquota", "refreservation":
            return raw == "0" ? "none" : (Int64(raw).map { Human.size($0) } ?? raw)
        default:
            if def.numeric, let n = Int64(raw) { return Human.size(n) }
            return raw
        }
    }
}

extension PropertyTable {
    /// `userquota@bob` → (`userquota@1000`, 1000): the stored key and the numeric id, nil when the name
    /// is no user or group on this host (projects are numbers only).
    static func spaceKey(_ property: String) -> (String, UInt32)? {
        guard let at = property.firstIndex(of: "@") else { return nil }
        let kind = String(property[..<at])
        let who = String(property[property.index(after: at)...])
        var id: UInt32? = UInt32(who)
        if id == nil, !kind.hasPrefix("project") {
            if kind.hasPrefix("user") {
                id = getpwnam(who).map { $0.pointee.pw_uid }
            } else {
                id = getgrnam(who).map { $0.pointee.gr_gid }
            }
        }
        guard let id else { return nil }
        return ("\(kind)@\(id)", id)
    }
}

extension Compression {
    /// Every value `compression` takes in OpenZFS 2.2 (zfs_prop.c's compress_table).
    static let names: [String] = ["on", "off", "lzjb", "gzip"] + (1...9).map { "gzip-\($0)" } + ["zle", "lz4", "zstd"]
        + (1...19).map { "zstd-\($0)" } + ["zstd-fast"]
        + ([Int](1...10) + [20, 30, 40, 50, 60, 70, 80, 90, 100, 500, 1000]).map { "zstd-fast-\($0)" }
}

/// Setting and validating properties.
enum PropertySetter {
    /// Validates `name=value` for `zfs set`/`create -o`/`receive -o`, returning the canonical name and
    /// the stored value, or the reason (`invalid property 'x'`, `'used' is readonly`, ...). `creating`:
    /// the set-once properties (`encryption`, `keyformat`, `pbkdf2iters`) may be given.
    static func validate(_ name: String, _ value: String, legacy: Bool, forSnapshot: Bool,
                         creating: Bool = false) -> Result<(String, String), Failure> {
        if PropertyTable.isSpace(name, legacy: legacy) {
            let kind = String(name.prefix { $0 != "@" })
            guard kind.hasSuffix("quota") else { return .failure(Failure("'\(name)' is readonly")) }
            guard let (key, _) = PropertyTable.spaceKey(name) else { return .failure(Failure("invalid property '\(name)'")) }
            if forSnapshot { return .failure(Failure("this property can not be modified for snapshots")) }
            if value == "none" { return .success((key, "0")) }
            guard let n = Human.parseSize(value) else { return .failure(Failure("bad numeric value '\(value)'")) }
            return .success((key, "\(n)"))
        }
        if name.contains(":") {
            guard Names.isValidUserProperty(name) else { return .failure(Failure("invalid property '\(name)'")) }
            guard value.utf8.count < 8192 else { return .failure(Failure("property value too long")) }
            return .success((name, value))
        }
        guard let canonical = PropertyTable.canonical(name, legacy: legacy), canonical != "name",
              let def = PropertyTable.byName[canonical] else { return .failure(Failure("invalid property '\(name)'")) }
        if forSnapshot { return .failure(Failure("this property can not be modified for snapshots")) }
        if let values = PropertyTable.createOnly[canonical] {
            guard creating else { return .failure(Failure("'\(canonical)' is readonly")) }
            guard values.contains(value) else { return .failure(Failure("'\(canonical)' must be one of '\(def.valuesText)'")) }
            return .success((canonical, value))
        }
        if canonical == "mlslabel" { return .failure(Failure("mlslabels are unsupported")) }
        if def.onetime && !creating { return .failure(Failure("'\(canonical)' is readonly")) }
        if canonical == "pbkdf2iters" {
            guard let n = Int64(value) else { return .failure(Failure("bad numeric value '\(value)'")) }
            if n < Int64(Encryption.minimumIterations) {
                return .failure(Failure("minimum pbkdf2 iterations is \(Encryption.minimumIterations)"))
            }
            return .success((canonical, "\(n)"))
        }
        if canonical == "keylocation" {
            return Encryption.validLocation(value, encrypted: false) ? .success((canonical, value)) : .failure(Failure("invalid keylocation"))
        }
        switch def.kind {
        case .computed: return .failure(Failure("'\(canonical)' is readonly"))
        case .choice(let values):
            // Other names libzfs takes for the same value (zfs_prop.c's index tables).
            let synonyms = ["xattr": ["dir": "on"], "acltype": ["disabled": "off", "noacl": "off", "posixacl": "posix"]]
            if let canonicalValue = synonyms[canonical]?[value] { return .success((canonical, canonicalValue)) }
            let accepted = values.contains(value)
            return accepted ? .success((canonical, value)) : .failure(Failure("'\(canonical)' must be one of '\(def.valuesText)'"))
        case .size:
            if value == "none" { return .success((canonical, "0")) }
            guard let n = Human.parseSize(value) else { return .failure(Failure("bad numeric value '\(value)'")) }
            return .success((canonical, "\(n)"))
        case .limit:
            if value == "none" { return .success((canonical, "none")) }
            guard let n = Int64(value), n >= 0 else { return .failure(Failure("bad numeric value '\(value)'")) }
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
