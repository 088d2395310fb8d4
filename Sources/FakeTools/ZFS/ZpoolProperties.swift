import Foundation

/// Pool features of OpenZFS 2.2, in `spa_feature_t` order (the order `zpool get all` prints them), and
/// the state each has on a pool `zpool create` just made.
enum PoolFeatures {
    /// Name, state on a new pool, and the release that brought the feature (older releases do not know it).
    static let table: [(name: String, fresh: String, since: ZFSVersion)] = [
        ("async_destroy", "enabled", v0), ("empty_bpobj", "active", v0), ("lz4_compress", "active", v0),
        ("multi_vdev_crash_dump", "enabled", v0), ("spacemap_histogram", "active", v0), ("enabled_txg", "active", v0),
        ("hole_birth", "active", v0), ("extensible_dataset", "active", v0), ("embedded_data", "active", v0),
        ("bookmarks", "enabled", v0), ("filesystem_limits", "enabled", v0), ("large_blocks", "enabled", v0),
        ("large_dnode", "enabled", v0), ("sha512", "enabled", v0), ("skein", "enabled", v0), ("edonr", "enabled", v0),
        ("userobj_accounting", "active", v0), ("encryption", "enabled", v0), ("project_quota", "active", v0),
        ("device_removal", "enabled", v0), ("obsolete_counts", "enabled", v0), ("zpool_checkpoint", "enabled", v0),
        ("spacemap_v2", "active", v0), ("allocation_classes", "enabled", v0), ("resilver_defer", "enabled", v0),
        ("bookmark_v2", "enabled", v0), ("redaction_bookmarks", "enabled", v0), ("redacted_datasets", "enabled", v0),
        ("bookmark_written", "enabled", v0), ("log_spacemap", "active", v0), ("livelist", "enabled", v0),
        ("device_rebuild", "enabled", v0), ("zstd_compress", "enabled", v0), ("draid", "enabled", v21),
        ("zilsaxattr", "enabled", v22), ("head_errlog", "active", v22), ("blake3", "enabled", v22),
        ("block_cloning", "enabled", v22), ("vdev_zaps_v2", "active", v22),
    ]
    private static let v0 = ZFSVersion(0, 0, 0), v21 = ZFSVersion(2, 1, 0), v22 = ZFSVersion(2, 2, 0)

    /// The features of a new feature-flag pool and their states (what the state file stores).
    static let modern: [String: String] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0.fresh) })

    /// The features a zpool of `version` knows, in table order.
    static func known(_ version: ZFSVersion) -> [String] { table.filter { $0.since <= version }.map(\.name) }

    /// A feature's state as `zpool get feature@NAME` prints it; nil for a feature this zpool does not know
    /// (zpool then prints nothing). A known feature missing from the pool is `disabled` (libzfs
    /// `zpool_prop_get_feature`). Features whose reference count follows use are `active` while in use:
    /// - `encryption` while an encrypted dataset exists;
    /// - `bookmarks` while a bookmark exists; a bookmark of 2.2 records its snapshot's written sizes
    ///   (`bookmark_written`), which makes it a v2 bookmark too, so `bookmark_written` and `bookmark_v2`
    ///   are active with it (when enabled: a bookmark made without them stays v1);
    /// - `large_blocks` while a filesystem has a recordsize above 128K (OpenZFS activates it when such a
    ///   block is written; the fake has no blocks, so the setting stands for them);
    /// - `filesystem_limits` while a dataset has a `filesystem_limit` or `snapshot_limit` set (OpenZFS
    ///   keeps counting once one was set, `none` included, until the dataset is destroyed).
    static func state(_ name: String, pool: Pool, in state: HostState, version: ZFSVersion) -> String? {
        guard table.contains(where: { $0.name == name && $0.since <= version }) else { return nil }
        guard let stored = pool.features[name], stored != "disabled" else { return "disabled" }
        if stored == "active" { return "active" }
        let enabled = { (f: String) in pool.features[f].map { $0 != "disabled" } ?? false }
        let inPool = state.datasets.values.filter { Names.pool(of: $0.name) == pool.name }
        let inUse: Bool
        switch name {
        case "encryption": inUse = state.hasEncryptedDataset(pool: pool.name)
        case "bookmarks": inUse = inPool.contains { !$0.bookmarks.isEmpty }
        case "bookmark_written", "bookmark_v2":
            inUse = enabled("bookmark_written") && inPool.contains { !$0.bookmarks.isEmpty }
        case "large_blocks":
            inUse = inPool.contains { d in
                [d.local["recordsize"], d.received["recordsize"]].contains { v in
                    v.flatMap { Human.parseSize($0) }.map { $0 > 131072 } ?? false
                }
            }
        case "filesystem_limits":
            inUse = inPool.contains(where: \.hasLimit)
        default: inUse = false
        }
        return inUse ? "active" : stored
    }
}

/// One pool property of `zpool_prop.c`: name, column name, type, alignment and width rules.
struct PoolProperty {
    enum Kind { case string, number, index }
    var name: String
    var column: String
    var kind: Kind
    var visible = true
    /// `pd_always_flex`: the column widens to the values (else fixed, except with `-p`).
    var flex: Bool
    var readonly: Bool
    var values: String = ""
    var choices: [String] = []
    var since = ZFSVersion(0, 0, 0)

    var rightAligned: Bool { kind == .number }

    /// `zprop_width`: the column name, at least 5 for numbers (8 for health), the longest choice for indexes.
    var baseWidth: Int {
        switch kind {
        case .number: return name == "health" ? 8 : max(column.count, 5)
        case .index: return max(column.count, choices.map(\.count).max() ?? 0)
        case .string: return column.count
        }
    }
}

/// The pool property table of OpenZFS 2.2 in `zpool_prop_t` order, hidden properties included.
enum PoolProperties {
    private static func string(_ name: String, _ column: String, _ values: String) -> PoolProperty {
        PoolProperty(name: name, column: column, kind: .string, flex: true, readonly: false, values: values)
    }
    private static func number(_ name: String, _ column: String, _ values: String, readonly: Bool = true,
                               flex: Bool = false, since: ZFSVersion = ZFSVersion(0, 0, 0)) -> PoolProperty {
        PoolProperty(name: name, column: column, kind: .number, flex: flex, readonly: readonly, values: values, since: since)
    }
    private static func index(_ name: String, _ column: String, _ choices: [String]) -> PoolProperty {
        PoolProperty(name: name, column: column, kind: .index, flex: true, readonly: false,
                     values: choices == onOff ? "on | off" : choices.joined(separator: " | "), choices: choices)
    }
    private static func hidden(_ name: String, _ kind: PoolProperty.Kind, _ column: String, flex: Bool, readonly: Bool) -> PoolProperty {
        PoolProperty(name: name, column: column, kind: kind, visible: false, flex: flex, readonly: readonly)
    }

    static let onOff = ["off", "on"]
    static let v22 = ZFSVersion(2, 2, 0)

    static let table: [PoolProperty] = [
        hidden("name", .string, "NAME", flex: true, readonly: true),
        number("size", "SIZE", "<size>"),
        number("capacity", "CAP", "<size>"),
        string("altroot", "ALTROOT", "<path>"),
        number("health", "HEALTH", "<state>"),
        number("guid", "GUID", "<guid>", flex: true),
        number("version", "VERSION", "<version>", readonly: false),
        string("bootfs", "BOOTFS", "<filesystem>"),
        index("delegation", "DELEGATION", onOff),
        index("autoreplace", "REPLACE", onOff),
        string("cachefile", "CACHEFILE", "<file> | none"),
        index("failmode", "FAILMODE", ["wait", "continue", "panic"]),
        index("listsnapshots", "LISTSNAPS", onOff),
        index("autoexpand", "EXPAND", onOff),
        hidden("dedupditto", .number, "DEDUPDITTO", flex: false, readonly: false),
        number("dedupratio", "DEDUP", "<1.00x or higher if deduped>"),
        number("free", "FREE", "<size>"),
        number("allocated", "ALLOC", "<size>"),
        index("readonly", "RDONLY", onOff),
        number("ashift", "ASHIFT", "<ashift, 9-16, or 0=default>", readonly: false),
        string("comment", "COMMENT", "<comment-string>"),
        number("expandsize", "EXPANDSZ", "<size>"),
        number("freeing", "FREEING", "<size>"),
        number("fragmentation", "FRAG", "<percent>"),
        number("leaked", "LEAKED", "<size>"),
        hidden("maxblocksize", .number, "MAXBLOCKSIZE", flex: false, readonly: true),
        hidden("tname", .string, "TNAME", flex: true, readonly: false),
        hidden("maxdnodesize", .number, "MAXDNODESIZE", flex: false, readonly: true),
        index("multihost", "MULTIHOST", onOff),
        number("checkpoint", "CKPOINT", "<size>"),
        number("load_guid", "LOAD_GUID", "<load_guid>", flex: true),
        index("autotrim", "AUTOTRIM", onOff),
        string("compatibility", "COMPATIBILITY", "<file[,file...]> | off | legacy"),
        number("bcloneused", "BCLONE_USED", "<size>", since: v22),
        number("bclonesaved", "BCLONE_SAVED", "<size>", since: v22),
        number("bcloneratio", "BCLONE_RATIO", "<1.00x or higher if cloned>", since: v22),
    ]

    /// The properties a zpool of `version` has.
    static func known(_ version: ZFSVersion) -> [PoolProperty] { table.filter { $0.since <= version } }

    /// `zprop_name_to_prop`: a property by name, or by its column name in lower case (`cap`, `frag`).
    static func lookup(_ text: String, version: ZFSVersion) -> PoolProperty? {
        known(version).first { $0.name == text } ?? known(version).first { $0.column.lowercased() == text }
    }

    /// `load_guid` changes at every import; the fake derives a fixed one from the pool's guid.
    static func loadGUID(_ pool: Pool) -> UInt64 {
        var z = pool.guid &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z == 0 ? 1 : z
    }

    /// Value and source (`-`, `default`, `local`) as `zpool_get_prop` gives them for a healthy pool
    /// made by `zpool create` without `-o` (values kept in the pool's config carry no source; settable
    /// properties not set read as their default).
    static func value(_ property: PoolProperty, pool: Pool, state: HostState, parsable: Bool) -> (String, String) {
        let allocated = state.allocated(pool: pool.name)
        func size(_ n: Int64) -> String { parsable ? "\(n)" : Human.size(n, bytes: false) }
        let enabled = { (f: String) in pool.features[f].map { $0 != "disabled" } ?? false }
        switch property.name {
        case "name": return (pool.name, "-")
        case "size": return (size(pool.size), "-")
        case "capacity":
            let pct = pool.size > 0 ? allocated * 100 / pool.size : 0
            return (parsable ? "\(pct)" : "\(pct)%", "-")
        case "altroot", "bootfs", "cachefile", "comment", "tname": return ("-", "default")
        case "health": return ("ONLINE", "-")
        case "guid": return ("\(pool.guid)", "-")
        case "version":
            return (pool.version >= 5000 ? "-" : "\(pool.version)", pool.version == 5000 ? "default" : "local")
        case "delegation": return ("on", "default")
        case "autoreplace", "listsnapshots", "autoexpand", "multihost", "autotrim", "compatibility": return ("off", "default")
        case "failmode": return ("wait", "default")
        case "dedupditto", "ashift": return ("0", "default")
        case "dedupratio", "bcloneratio": return (parsable ? "1.00" : "1.00x", "-")
        case "free": return (size(max(0, pool.size - allocated)), "-")
        case "allocated": return (size(allocated), "-")
        case "readonly": return ("off", "-")
        case "expandsize", "checkpoint": return ("-", "-")
        case "freeing", "leaked", "bcloneused", "bclonesaved": return ("0", "-")
        // Without spacemap_histogram a pool has no fragmentation figure.
        case "fragmentation": return (enabled("spacemap_histogram") ? (parsable ? "0" : "0%") : "-", "-")
        case "maxblocksize": return (size(enabled("large_blocks") ? 16 << 20 : 128 << 10), "-")
        case "maxdnodesize": return (size(enabled("large_dnode") ? 16 << 10 : 512), "-")
        case "load_guid": return ("\(loadGUID(pool))", "-")
        default: return ("-", "-")
        }
    }
}
