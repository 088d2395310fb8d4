import Foundation

/// Walking datasets for `list` and `get`: which entities a set of arguments, depth and types select.
struct Selection {
    var types: Set<String>
    var depth: Int?

    /// Entities below `root` in default order: a filesystem, its snapshots by createtxg, its bookmarks,
    /// then its children.
    func walk(_ state: HostState, from root: String) -> [Entity] {
        var result: [Entity] = []
        let filesystems = ([root] + state.descendants(of: root)).filter { name in
            depth.map { Names.depth(name, below: root) <= $0 } ?? true
        }
        for name in filesystems {
            let d = state.datasets[name]!
            let level = Names.depth(name, below: root)
            if types.contains(d.volume == nil ? "filesystem" : "volume") { result.append(.filesystem(d)) }
            if depth.map({ level + 1 <= $0 }) ?? true {
                if types.contains("snapshot") {
                    result += d.snapshots.sorted { $0.createtxg < $1.createtxg }.map { .snapshot(d, $0) }
                }
                if types.contains("bookmark") {
                    result += d.bookmarks.sorted { $0.createtxg < $1.createtxg }.map { .bookmark(d, $0) }
                }
            }
        }
        return result
    }

    static func parseTypes(_ text: String, ctx: ZContext) throws -> Set<String> {
        var types = Set<String>()
        for t in text.split(separator: ",").map(String.init) {
            switch t {
            case "filesystem", "fs": types.insert("filesystem")
            case "snapshot", "snap": types.insert("snapshot")
            case "volume", "vol": types.insert("volume")
            case "bookmark" where !ctx.legacy: types.insert("bookmark")
            case "all": types.formUnion(["filesystem", "snapshot", "volume"] + (ctx.legacy ? [] : ["bookmark"]))
            default: throw ctx.usage("invalid type '\(t)'")
            }
        }
        return types
    }
}

/// Default `zfs list` order: by filesystem name, a filesystem before its snapshots, snapshots by createtxg.
func defaultOrder(_ a: Entity, _ b: Entity) -> Bool {
    let (fa, fb) = (a.fs.name, b.fs.name)
    if fa != fb { return Ordering.names(fa, fb) }
    func rank(_ e: Entity) -> Int { if case .filesystem = e { return 0 }; if case .snapshot = e { return 1 }; return 2 }
    if rank(a) != rank(b) { return rank(a) < rank(b) }
    return a.createtxg < b.createtxg
}

/// Lays out rows: `-H` joins with tabs; otherwise a header and two-space columns, numbers right-aligned,
/// the last column unpadded.
func table(_ headers: [String], _ rows: [[String]], rightAligned: [Bool], scripted: Bool) -> String {
    if scripted { return rows.map { $0.joined(separator: "\t") + "\n" }.joined() }
    var widths = headers.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        var text = ""
        for (i, cell) in cells.enumerated() {
            let last = i == cells.count - 1
            if rightAligned[i] { text += cell.leftPad(widths[i]) } else { text += last ? cell : cell.rightPad(widths[i]) }
            if !last { text += "  " }
        }
        return text + "\n"
    }
    return line(headers) + rows.map(line).joined()
}

/// `zfs list [-Hp] [-r|-d N] [-o f,..] [-s p].. [-S p].. [-t type,..] [ds..]`
enum ListCommand {
    static func run(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "Hprd:o:s:S:t:", legacy: "rHd:o:t:s:S:")
        var fields = ["name", "used", "available", "referenced", "mountpoint"]
        if var o = options.value("o") {
            // `-o space` (zprop_get_list): the space columns.
            if o == "space" && !ctx.legacy { o = "name,avail,used,usedsnap,usedds,usedrefreserv,usedchild" }
            fields = []
            for f in o.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                if f.contains(":") && Names.isValidUserProperty(f) { fields.append(f); continue }
                if PropertyTable.isWritten(f, legacy: ctx.legacy) || PropertyTable.isSpace(f, legacy: ctx.legacy) { fields.append(f); continue }
                guard let c = PropertyTable.canonical(f, legacy: ctx.legacy) else {
                    throw Failure("bad property list: invalid property '\(f)'\n" + Usage.zfsCommandUsage("list", legacy: ctx.legacy), code: 2)
                }
                fields.append(c)
            }
        }
        var sortKeys: [(String, Bool)] = []
        for (flag, value) in options.list where flag == "s" || flag == "S" {
            guard let v = value, let c = v.contains(":") ? v : PropertyTable.canonical(v, legacy: ctx.legacy) else {
                throw ctx.usage("invalid property '\(value ?? "")'")
            }
            sortKeys.append((c, flag == "s"))
        }
        let explicitTypes = options.value("t").map { try? Selection.parseTypes($0, ctx: ctx) }
        let types = try options.value("t").map { try Selection.parseTypes($0, ctx: ctx) } ?? ["filesystem", "volume"]
        _ = explicitTypes
        var depth: Int? = options.has("r") ? nil : 0
        if let d = options.value("d") {
            guard let n = Int(d), n >= 0 else { throw ctx.usage("invalid depth '\(d)'") }
            depth = n
        }
        let recursive = options.has("r") || options.has("d")
        let parsable = options.has("p")
        var errors: [String] = []
        var entities: [Entity] = []
        let state = try ctx.store.read { $0 }
        let resolver = PropertyResolver(state: state, legacy: ctx.legacy)
        if options.operands.isEmpty {
            for pool in state.pools.keys.sorted(by: Ordering.names) where state.datasets[pool] != nil {
                entities += Selection(types: types, depth: recursive ? depth : nil).walk(state, from: pool)
            }
        }
        for operand in options.operands {
            guard let entity = resolver.entity(operand) else { errors.append(ctx.openError(operand)); continue }
            switch entity {
            case .filesystem:
                var selectionDepth = recursive ? depth : 0
                // OpenZFS: `-t snapshot` or `-t bookmark` alone with a filesystem operand lists that
                // filesystem's snapshots or bookmarks (depth 1); any other mix lists the operand.
                if !recursive && (types == ["snapshot"] || (types == ["bookmark"] && !ctx.legacy)) {
                    if ctx.legacy {
                        errors.append("cannot open '\(operand)': operation not applicable to datasets of this type")
                        continue
                    }
                    selectionDepth = 1
                }
                entities += Selection(types: types, depth: selectionDepth).walk(state, from: operand)
            default:
                entities.append(entity)
            }
        }
        var seen = Set<String>()
        entities = entities.filter { seen.insert($0.name).inserted }
        entities.sort(by: defaultOrder)
        if !sortKeys.isEmpty {
            entities = entities.enumerated().sorted { x, y in
                for (key, ascending) in sortKeys {
                    let a = resolver.value(key, of: x.element)?.raw ?? "-"
                    let b = resolver.value(key, of: y.element)?.raw ?? "-"
                    if a == b { continue }
                    let less: Bool
                    if let na = Double(a), let nb = Double(b) { less = na < nb } else { less = Ordering.names(a, b) }
                    return ascending ? less : !less
                }
                return x.offset < y.offset
            }.map(\.element)
        }
        let rows = entities.map { e in
            fields.map { f -> String in
                guard let v = resolver.value(f, of: e) else { return "-" }
                return parsable ? v.raw : v.value
            }
        }
        let right = fields.map {
            PropertyTable.byName[$0]?.numeric ?? (PropertyTable.isWritten($0, legacy: ctx.legacy) || PropertyTable.isSpace($0, legacy: ctx.legacy))
        }
        if !rows.isEmpty {
            Out.out(table(fields.map { PropertyTable.header($0, legacy: ctx.legacy) }, rows, rightAligned: right, scripted: options.has("H")))
        } else if !options.has("H") && errors.isEmpty {
            if ctx.legacy { Out.out("no datasets available\n") } else { Out.err("no datasets available\n") }
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }
}

/// `zfs get [-rHp] [-d N] [-o cols] [-s srcs] [-t types] all|p[,p..] [ds..]`
enum GetCommand {
    static let columnNames = ["name", "property", "value", "received", "source"]

    static func run(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "rHpd:o:s:t:", legacy: "rHpd:o:s:")
        guard let propertyList = options.operands.first else { throw ctx.usage("missing property argument") }
        var columns = ["name", "property", "value", "source"]
        if let o = options.value("o") {
            columns = []
            for c in o.split(separator: ",").map(String.init) {
                if c == "all" { columns = columnNames; break }
                guard columnNames.contains(c) else { throw ctx.usage("invalid column name '\(c)'") }
                columns.append(c)
            }
        }
        var sources: Set<String>?
        if let s = options.value("s") {
            var set = Set<String>()
            for source in s.split(separator: ",").map(String.init) {
                guard ["local", "default", "inherited", "received", "temporary", "none"].contains(source) else {
                    throw ctx.usage("invalid source '\(source)'")
                }
                set.insert(source)
            }
            sources = set
        }
        let all = propertyList == "all"
        var properties: [String] = []
        if !all {
            for p in propertyList.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                if p.contains(":") && Names.isValidUserProperty(p) { properties.append(p); continue }
                if PropertyTable.isWritten(p, legacy: ctx.legacy) || PropertyTable.isSpace(p, legacy: ctx.legacy) { properties.append(p); continue }
                guard let c = PropertyTable.canonical(p, legacy: ctx.legacy) else {
                    throw Failure("bad property list: invalid property '\(p)'\n" + Usage.zfsCommandUsage("get", legacy: ctx.legacy), code: 2)
                }
                properties.append(c)
            }
        }
        let types = try options.value("t").map { try Selection.parseTypes($0, ctx: ctx) }
            ?? ["filesystem", "volume", "snapshot", "bookmark"]
        var depth: Int? = options.has("r") ? nil : 0
        if let d = options.value("d") {
            guard let n = Int(d), n >= 0 else { throw ctx.usage("invalid depth '\(d)'") }
            depth = n
        }
        let recursive = options.has("r") || options.has("d")
        let state = try ctx.store.read { $0 }
        let resolver = PropertyResolver(state: state, legacy: ctx.legacy)
        var errors: [String] = []
        var entities: [Entity] = []
        let operands = Array(options.operands.dropFirst())
        if operands.isEmpty {
            for pool in state.pools.keys.sorted(by: Ordering.names) where state.datasets[pool] != nil {
                entities += Selection(types: types, depth: recursive ? depth : nil).walk(state, from: pool)
            }
        }
        for operand in operands {
            guard let entity = resolver.entity(operand) else { errors.append(ctx.openError(operand)); continue }
            if case .filesystem = entity, recursive {
                entities += Selection(types: types, depth: depth).walk(state, from: operand)
            } else if case .filesystem = entity, !ctx.legacy, types == ["snapshot"] || types == ["bookmark"] {
                // `zfs get -t snapshot|bookmark P fs`: the filesystem's snapshots or bookmarks (depth 1).
                entities += Selection(types: types, depth: 1).walk(state, from: operand)
            } else {
                entities.append(entity)
            }
        }
        var rows: [[String]] = []
        for entity in entities {
            var names = properties
            if all {
                names = ["type", "creation"] + PropertyTable.all.map(\.name).filter { $0 != "type" && $0 != "creation" }
                if ctx.legacy { names.removeAll { PropertyTable.modernOnly.contains($0) } }
                names.removeAll { !PropertyTable.applies($0, to: entity) }
                switch entity {
                case .filesystem: names.removeAll { PropertyTable.snapshotOnly.contains($0) }
                case .snapshot:
                    names = names.filter { PropertyTable.byName[$0]!.forSnapshots || PropertyTable.snapshotInherited.contains($0) }
                case .bookmark:
                    names = names.filter { PropertyTable.forBookmarks.contains($0) && resolver.value($0, of: entity)?.raw != "-" }
                }
                // Unencrypted datasets have no encryptionroot and keystatus (`get all` skips what has no value).
                if entity.fs.crypt == nil { names.removeAll { $0 == "encryptionroot" || $0 == "keystatus" } }
                // `origin` only on clones, a token only after a cut receive, ...; `clones` only on snapshots.
                names.removeAll { PropertyTable.shownWhenSet.contains($0) && resolver.computed($0, entity) == nil }
                if case .snapshot = entity {} else { names.removeAll { $0 == "clones" } }
                names += userProperties(of: entity, state: state)
            }
            for p in names {
                guard let v = resolver.value(p, of: entity) else { continue }
                if let sources {
                    let kind = v.source.hasPrefix("inherited") ? "inherited" : (v.source == "-" ? "none" : v.source)
                    if !sources.contains(kind) { continue }
                }
                rows.append(columns.map { column in
                    switch column {
                    case "name": return entity.name
                    case "property": return p
                    case "value": return options.has("p") ? v.raw : v.value
                    case "received": return v.received
                    default: return v.source
                    }
                })
            }
        }
        if !rows.isEmpty {
            Out.out(table(columns.map { $0.uppercased() }, rows, rightAligned: columns.map { _ in false },
                          scripted: options.has("H")))
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }

    /// User properties visible on an entity: set on it, received, or inherited.
    static func userProperties(of entity: Entity, state: HostState) -> [String] {
        var names = Set<String>()
        var current: String? = entity.fs.name
        while let n = current, let d = state.datasets[n] {
            names.formUnion(d.local.keys.filter { $0.contains(":") })
            names.formUnion(d.received.keys.filter { $0.contains(":") })
            current = Names.parent(of: n)
        }
        if case .snapshot(_, let s) = entity { names.formUnion(s.local.keys); names.formUnion(s.received.keys) }
        return names.sorted()
    }
}
