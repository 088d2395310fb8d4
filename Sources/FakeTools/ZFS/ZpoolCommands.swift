import Foundation

/// One column of `zpool get`/`zpool list`: a native property, a `feature@`/`unsupported@` name or a user
/// property, with its width as libzfs computes it (`zprop_width`, widened by `zpool_expand_proplist`).
struct PoolColumn {
    enum Kind { case native(PoolProperty), feature(String), user(String) }
    var kind: Kind
    var width: Int

    var name: String {
        switch kind { case .native(let p): return p.name; case .feature(let n), .user(let n): return n }
    }
}

extension ZpoolTool {
    /// `zprop_get_list` for pools: `all`, or names separated by commas (a column name in lower case
    /// stands for its property). Nil for `all`.
    static func propertyList(_ ctx: ZContext, _ text: String) throws -> [PoolColumn]? {
        if text == "all" { return nil }
        if text.isEmpty { throw usage(ctx, "bad property list: no properties specified") }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map(String.init).map { p in
            if let property = PoolProperties.lookup(p, version: ctx.version) {
                return PoolColumn(kind: .native(property), width: property.baseWidth)
            }
            if p.hasPrefix("feature@") || p.hasPrefix("unsupported@") { return PoolColumn(kind: .feature(p), width: p.count) }
            if p.contains(":") { return PoolColumn(kind: .user(p), width: p.count) }
            throw usage(ctx, "bad property list: invalid property '\(p)'")
        }
    }

    /// `zprop_expand_list` for `all`: `name`, every visible property in table order, every feature.
    static func allColumns(_ ctx: ZContext) -> [PoolColumn] {
        let name = PoolProperties.table[0]
        return [PoolColumn(kind: .native(name), width: name.baseWidth)]
            + PoolProperties.known(ctx.version).filter(\.visible).map { PoolColumn(kind: .native($0), width: $0.baseWidth) }
            + PoolFeatures.known(ctx.version).map { PoolColumn(kind: .feature("feature@" + $0), width: 8 + $0.count) }
    }

    /// A column's value on a pool; nil when nothing is printed (a feature this zpool does not know).
    static func cell(_ ctx: ZContext, _ column: PoolColumn, _ pool: Pool, _ state: HostState, parsable: Bool) -> (String, String)? {
        switch column.kind {
        case .native(let p): return PoolProperties.value(p, pool: pool, state: state, parsable: parsable)
        case .feature(let name):
            guard name.hasPrefix("feature@"),
                  let s = PoolFeatures.state(String(name.dropFirst(8)), pool: pool, in: state, version: ctx.version)
            else { return nil }
            return (s, "local")
        case .user: return ("-", "default")
        }
    }

    /// `zpool_expand_proplist`: columns that are not fixed (or all with `-p`) widen to the values.
    static func widen(_ ctx: ZContext, _ columns: inout [PoolColumn], pools: [Pool], state: HostState, parsable: Bool) {
        for i in columns.indices {
            guard case .native(let p) = columns[i].kind, p.flex || parsable else {
                if case .user = columns[i].kind { columns[i].width = max(columns[i].width, 1) }
                continue
            }
            for pool in pools {
                columns[i].width = max(columns[i].width, PoolProperties.value(p, pool: pool, state: state, parsable: parsable).0.count)
            }
        }
    }

    /// Pools in `zpool_compare` order (by name), whatever order the arguments give.
    static func sortedPools(_ state: HostState, _ names: [String]) -> [Pool] {
        Set(names).compactMap { state.pools[$0] }.sorted { Ordering.names($0.name, $1.name) }
    }

    /// `zpool get [-Hp] [-o "all" | field[,...]] <"all" | property[,...]> [<pool> ...]` of OpenZFS 2.2.
    static func get(_ ctx: ZContext, _ arguments: [String]) throws {
        let options: Options
        switch Options.parse(arguments, spec: "Hpo:") {
        case .success(let o): options = o
        case .failure(let reason): throw usage(ctx, reason.message)
        }
        let fieldNames = ["name", "property", "value", "source"]
        var fields = fieldNames
        if let o = options.value("o") {
            fields = []
            for token in o.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                if fields.count == 4 { throw usage(ctx, "too many fields given to -o option") }
                guard token == "all" || fieldNames.contains(token) else { throw usage(ctx, "invalid column name '\(token)'") }
                if token == "all" {
                    if !fields.isEmpty { throw usage(ctx, "\"all\" conflicts with specific fields given to -o option") }
                    fields = fieldNames
                } else {
                    fields.append(token)
                }
            }
        }
        guard let propertyText = options.operands.first else { throw usage(ctx, "missing property argument") }
        let state = try ctx.store.read { $0 }
        var names = Array(options.operands.dropFirst())
        var errors: [String] = []
        if ctx.version >= ZFSVersion(2, 2, 0) {
            if !names.isEmpty && !names.allSatisfy({ state.pools[$0] != nil }) {
                guard state.pools[names[0]] != nil else {
                    throw Failure("Cannot get properties of \(names[0]): no such pool available.")
                }
                // The rest would have to be vdevs of the first pool; the fake pools' vdevs are not named here.
                let unresolved = names.dropFirst().map { "\t\($0) (\(state.pools[$0] != nil ? "pool" : "unknown"))\n" }.joined()
                throw usage(ctx, "Expected a list of vdevs in \"\(names[0])\", but got:\n\(unresolved)")
            }
        } else {
            errors = names.filter { state.pools[$0] == nil }.map { "cannot open '\($0)': no such pool" }
        }
        let requested = try propertyList(ctx, propertyText)
        if names.isEmpty { names = Array(state.pools.keys) }
        let pools = sortedPools(state, names)
        let parsable = options.has("p")
        // The first column is `name` (zpool get's placeholder, or the head of `all`): it sizes NAME only.
        let nameProperty = PoolProperties.table[0]
        var columns = requested.map { [PoolColumn(kind: .native(nameProperty), width: nameProperty.baseWidth)] + $0 }
            ?? allColumns(ctx)
        widen(ctx, &columns, pools: pools, state: state, parsable: parsable)
        var rows: [[String]] = []
        for pool in pools {
            for column in columns.dropFirst() {
                guard let (value, source) = cell(ctx, column, pool, state, parsable: parsable) else { continue }
                let cells = ["name": pool.name, "property": column.name, "value": value, "source": source]
                rows.append(fields.map { cells[$0]! })
            }
        }
        if !rows.isEmpty {
            if options.has("H") {
                Out.out(rows.map { $0.joined(separator: "\t") + "\n" }.joined())
            } else {
                // zprop_print_headers: header widths, PROPERTY over every column, VALUE over all but the first.
                var widths = ["name": 4, "property": 8, "value": 5, "source": 6]
                for (i, column) in columns.enumerated() {
                    widths["property"] = max(widths["property"]!, column.name.count)
                    if i > 0 { widths["value"] = max(widths["value"]!, column.width) }
                    if case .native(let p) = column.kind, p.name == "name", column.width > widths["name"]! {
                        widths["name"] = column.width
                        widths["source"] = column.width + "inherited from".count
                    }
                }
                func line(_ cells: [String]) -> String {
                    cells.enumerated().map { i, cell in
                        i == cells.count - 1 ? cell : cell.rightPad(widths[fields[i]]!) + "  "
                    }.joined() + "\n"
                }
                Out.out(line(fields.map { $0.uppercased() }) + rows.map(line).joined())
            }
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }

    /// `zpool list [-gHLpPv] [-o property[,...]] [-T d|u] [pool] ...` of OpenZFS 2.2 (no intervals, no
    /// vdev rows for `-v`).
    static func list(_ ctx: ZContext, _ arguments: [String]) throws {
        let options: Options
        switch Options.parse(arguments, spec: "gHLpPvo:T:") {
        case .success(let o): options = o
        case .failure(let reason): throw usage(ctx, reason.message)
        }
        if let t = options.value("T"), t != "u" && t != "d" { throw usage(ctx, "") }
        let defaults = "name,size,allocated,free,checkpoint,expandsize,fragmentation,capacity,dedupratio,health,altroot"
        var columns = try propertyList(ctx, options.value("o") ?? defaults) ?? allColumns(ctx)
        let state = try ctx.store.read { $0 }
        let missing = options.operands.filter { state.pools[$0] == nil }
        for name in missing { Out.err("cannot open '\(name)': no such pool\n") }
        let pools = sortedPools(state, options.operands.isEmpty ? Array(state.pools.keys) : options.operands)
        let parsable = options.has("p")
        widen(ctx, &columns, pools: pools, state: state, parsable: parsable)
        func align(_ column: PoolColumn) -> Bool { if case .native(let p) = column.kind { return p.rightAligned }; return false }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let column = columns[i]
                let text = align(column) ? cell.leftPad(column.width)
                    : (i == cells.count - 1 ? cell : cell.rightPad(column.width))
                return (i > 0 ? "  " : "") + text
            }.joined() + "\n"
        }
        var out = ""
        if !pools.isEmpty {
            if let t = options.value("T") { out += timestamp(ctx, t) }
            if !options.has("H") {
                out += line(columns.map { c -> String in
                    if case .native(let p) = c.kind { return p.column }
                    return c.name.uppercased()
                })
            }
            for pool in pools {
                let cells = columns.map { cell(ctx, $0, pool, state, parsable: parsable)?.0 ?? "-" }
                out += options.has("H") ? cells.joined(separator: "\t") + "\n" : line(cells)
            }
        } else if options.operands.isEmpty && !options.has("H") {
            out = "no pools available\n"
        }
        Out.out(out)
        if !missing.isEmpty { throw silentFailure() }
    }

    /// `print_timestamp`: `-T u` seconds since the epoch, `-T d` the date as date(1) prints it.
    static func timestamp(_ ctx: ZContext, _ format: String) -> String {
        let now = (try? ctx.store.read { $0.now() }) ?? Int64(Date().timeIntervalSince1970)
        return format == "u" ? "\(now)\n" : Human.date(now, "%a %b %e %H:%M:%S %Z %Y") + "\n"
    }

    /// `zpool version` (arguments ignored): the userland and kernel module versions.
    static func version(_ ctx: ZContext) {
        let v = ctx.version.text
        Out.out("zfs-\(v)-1\nzfs-kmod-\(v)-1\n")
    }

    /// `zpool sync [pool] ...`: nothing to write back in the fake; unknown pools fail as in OpenZFS.
    static func sync(_ ctx: ZContext, _ arguments: [String]) throws {
        let state = try ctx.store.read { $0 }
        let missing = arguments.filter { state.pools[$0] == nil }
        if !missing.isEmpty { throw Failure(missing.map { "cannot open '\($0)': no such pool" }.joined(separator: "\n")) }
    }
}

/// `zpool status` of OpenZFS 2.2 for the fake's pools: healthy, one file vdev each, never scrubbed.
enum ZpoolStatus {
    /// The vdev a pool stands on: its file as `zfake ctl create-pool --vdev` gave it, else `/var/tmp/POOL.img`.
    /// `zpool_vdev_name` drops a leading `/dev/` unless `-P` asks for full paths.
    static func vdev(_ pool: Pool, fullPath: Bool) -> String {
        let path = pool.vdev ?? "/var/tmp/\(pool.name).img"
        return path.hasPrefix("/dev/") && !fullPath ? String(path.dropFirst(5)) : path
    }

    static func run(_ ctx: ZContext, _ arguments: [String]) throws {
        var args: [String] = []
        for a in arguments where a != "--power" { args.append(a) }
        let options: Options
        switch Options.parse(args, spec: "c:DegiLpPstT:vx") {
        case .success(let o): options = o
        case .failure(let reason): throw ZpoolTool.usage(ctx, reason.message)
        }
        let state = try ctx.store.read { $0 }
        let explain = options.has("x")
        let all = options.operands.isEmpty
        let missing = options.operands.filter { state.pools[$0] == nil }
        for name in missing { Out.err("cannot open '\(name)': no such pool\n") }
        let pools = ZpoolTool.sortedPools(state, all ? Array(state.pools.keys) : options.operands)
        var out = options.value("T").map { ZpoolTool.timestamp(ctx, $0) } ?? ""
        var first = true
        for pool in pools {
            // A pool below version 5000 reports its legacy format; `-x` counts that as healthy.
            let older = pool.version < 5000
            if explain {
                if !all { out += "pool '\(pool.name)' is healthy\n"; first = false }
                continue
            }
            if !first { out += "\n" }
            first = false
            out += "  pool: \(pool.name)\n state: ONLINE\n"
            if older {
                out += "status: The pool is formatted using a legacy on-disk format.  The pool can\n"
                    + "\tstill be used, but some features are unavailable.\n"
                    + "action: Upgrade the pool using 'zpool upgrade'.  Once this is done, the\n"
                    + "\tpool will no longer be accessible on software that does not support\n\tfeature flags.\n"
            }
            let device = vdev(pool, fullPath: options.has("P"))
            let width = max(10, pool.name.count, device.count + 2)
            let counters = "    0     0     0"
            out += "config:\n\n"
            out += "\t" + "NAME".rightPad(width) + "  " + "STATE".rightPad(8) + "  READ WRITE CKSUM\n"
            out += "\t" + pool.name.rightPad(width) + "  " + "ONLINE".rightPad(8) + " " + counters + "\n"
            out += "\t  " + device.rightPad(width - 2) + "  " + "ONLINE".rightPad(8) + " " + counters + "\n"
            out += "\nerrors: No known data errors\n"
        }
        Out.out(out)
        if all && state.pools.isEmpty {
            Out.err("no pools available\n")
        } else if explain && first && all {
            Out.out("all pools are healthy\n")
        }
        if !missing.isEmpty { throw silentFailure() }
    }
}

/// The usage texts of OpenZFS 2.2's zpool (`zpool_main.c`).
enum ZpoolUsage {
    /// `get_usage` of each command, in the command table's order; nil stands for a blank line.
    static let table: [(String, String)?] = [
        ("version", "\tversion\n"),
        nil,
        ("create", "\tcreate [-fnd] [-o property=value] ... \n\t    [-O file-system-property=value] ... \n"
            + "\t    [-m mountpoint] [-R root] <pool> <vdev> ...\n"),
        ("destroy", "\tdestroy [-f] <pool>\n"),
        nil,
        ("add", "\tadd [-afgLnP] [-o property=value] <pool> <vdev> ...\n"),
        ("remove", "\tremove [-npsw] <pool> <device> ...\n"),
        nil,
        ("labelclear", "\tlabelclear [-f] <vdev>\n"),
        nil,
        ("checkpoint", "\tcheckpoint [-d [-w]] <pool> ...\n"),
        nil,
        ("list", "\tlist [-gHLpPv] [-o property[,...]] [-T d|u] [pool] ... \n\t    [interval [count]]\n"),
        ("iostat", "\tiostat [[[-c [script1,script2,...][-lq]]|[-rw]] [-T d | u] [-ghHLpPvy]\n"
            + "\t    [[pool ...]|[pool vdev ...]|[vdev ...]] [[-n] interval [count]]\n"),
        ("status", "\tstatus [--power] [-c [script1,script2,...]] [-DegiLpPstvx] [-T d|u] [pool] ...\n"
            + "\t    [interval [count]]\n"),
        nil,
        ("online", "\tonline [--power][-e] <pool> <device> ...\n"),
        ("offline", "\toffline [--power]|[[-f][-t]] <pool> <device> ...\n"),
        ("clear", "\tclear [[--power]|[-nF]] <pool> [device]\n"),
        ("reopen", "\treopen [-n] <pool>\n"),
        nil,
        ("attach", "\tattach [-fsw] [-o property=value] <pool> <device> <new-device>\n"),
        ("detach", "\tdetach <pool> <device>\n"),
        ("replace", "\treplace [-fsw] [-o property=value] <pool> <device> [new-device]\n"),
        ("split", "\tsplit [-gLnPl] [-R altroot] [-o mntopts]\n\t    [-o property=value] <pool> <newpool> [<device> ...]\n"),
        nil,
        ("initialize", "\tinitialize [-c | -s | -u] [-w] <pool> [<device> ...]\n"),
        ("resilver", "\tresilver <pool> ...\n"),
        ("scrub", "\tscrub [-s | -p] [-w] [-e] <pool> ...\n"),
        ("trim", "\ttrim [-dw] [-r <rate>] [-c | -s] <pool> [<device> ...]\n"),
        nil,
        ("import", "\timport [-d dir] [-D]\n"
            + "\timport [-o mntopts] [-o property=value] ... \n"
            + "\t    [-d dir | -c cachefile] [-D] [-l] [-f] [-m] [-N] [-R root] [-F [-n]] -a\n"
            + "\timport [-o mntopts] [-o property=value] ... \n"
            + "\t    [-d dir | -c cachefile] [-D] [-l] [-f] [-m] [-N] [-R root] [-F [-n]]\n"
            + "\t    [--rewind-to-checkpoint] <pool | id> [newpool]\n"),
        ("export", "\texport [-af] <pool> ...\n"),
        ("upgrade", "\tupgrade\n\tupgrade -v\n\tupgrade [-V version] <-a | pool ...>\n"),
        ("reguid", "\treguid <pool>\n"),
        nil,
        ("history", "\thistory [-il] [<pool>] ...\n"),
        ("events", "\tevents [-vHf [pool] | -c]\n"),
        nil,
        ("get", "\tget [-Hp] [-o \"all\" | field[,...]] <\"all\" | property[,...]> <pool> ...\n"),
        ("set", "\tset <property=value> <pool>\n\tset <vdev_property=value> <pool> <vdev>\n"),
        ("sync", "\tsync [pool] ...\n"),
        nil,
        ("wait", "\twait [-Hp] [-T d|u] [-t <activity>[,...]] <pool> [interval]\n"),
    ]

    static let commands: Set<String> = Set(table.compactMap { $0?.0 })

    /// `usage(B_TRUE)` outside a command: every command, then where to find more help.
    static let full: String = "usage: zpool command args ...\nwhere 'command' is one of the following:\n\n"
        + table.map { $0?.1 ?? "\n" }.joined()
        + "\nFor further help on a command or topic, run: zpool help [<topic>]\n"

    /// `usage(B_FALSE)` inside `command`; get, set and list add the pool property table.
    static func command(_ command: String) -> String {
        var text = "usage:\n" + (table.first { $0?.0 == command }??.1 ?? "")
        if ["get", "set", "list"].contains(command) {
            text += "\nthe following properties are supported:\n\n\t" + "PROPERTY".rightPad(19) + "  EDIT   VALUES\n\n"
            // zprop_iter ordered: read-only properties first, each group by name.
            let visible = PoolProperties.table.filter(\.visible).sorted { a, b in
                a.readonly == b.readonly ? a.name < b.name : a.readonly
            }
            for p in visible {
                text += "\t" + p.name.rightPad(19) + "  " + (p.readonly ? "  NO   " : " YES   ") + p.values + "\n"
            }
            text += "\t" + "feature@...".rightPad(19) + "   YES   disabled | enabled | active\n"
            text += "\nThe feature@ properties must be appended with a feature name.\nSee zpool-features(7).\n"
        }
        return text
    }
}
