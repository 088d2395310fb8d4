import Foundation

/// The fake `zpool`: `get`, `list`, `status`, `version`, `sync` and the usage texts of OpenZFS 2.2; a
/// legacy (zfs-fuse) host keeps zfs-fuse's `get` and `list`.
enum ZpoolTool {
    static func main(_ arguments: [String]) -> Int32 {
        // `zpool -?` / `zpool --help`: the full usage on stdout, exit 0, with no world needed.
        if let first = arguments.first, first == "-?" || first == "--help" {
            Out.out(legacyFromEnvironment ? "usage: zpool command args ...\n" : ZpoolUsage.full)
            return 0
        }
        let world = FakeWorld.fromEnvironment()
        let command = arguments.first ?? ""
        let faults = Faults.firing(in: world, tool: "zpool", subcommand: command, arguments: arguments)
        let ctx = ZContext(world: world, legacy: hostIsLegacy(world), faults: faults, command: command, arguments: arguments)
        var code: Int32
        if let failed = applyCommonFaults(faults) {
            code = failed
        } else {
            do {
                let rest = Array(arguments.dropFirst())
                if ctx.legacy {
                    switch command {
                    case "get": try legacyGet(ctx, rest)
                    case "list": try legacyList(ctx, rest)
                    case "": throw Failure("missing command\nusage: zpool command args ...", code: 2)
                    default: throw Failure("unrecognized command '\(command)'\nusage: zpool command args ...", code: 2)
                    }
                } else {
                    switch command {
                    case "get": try get(ctx, rest)
                    case "list": try list(ctx, rest)
                    case "status": try ZpoolStatus.run(ctx, rest)
                    case "version", "-V", "--version": version(ctx)
                    case "sync": try sync(ctx, rest)
                    case "": throw Failure("missing command\n" + ZpoolUsage.full, code: 2)
                    // `zpool help` opens a manual page; the fake has none.
                    case _ where ZpoolUsage.commands.contains(command) || command == "help":
                        throw Failure("zfake: 'zpool \(command)' is not simulated", code: 1)
                    default: throw Failure("unrecognized command '\(command)'\n" + ZpoolUsage.full, code: 2)
                    }
                }
                code = 0
            } catch let failure as Failure {
                if !failure.message.isEmpty { Out.err(failure.message.hasSuffix("\n") ? failure.message : failure.message + "\n") }
                code = failure.code
            } catch {
                Out.err("internal error: \(error)\n")
                code = 1
            }
        }
        ctx.logCall(tool: "zpool", exitCode: code)
        return code
    }

    static func usage(_ ctx: ZContext, _ reason: String) -> Failure {
        Failure((reason.isEmpty ? "" : reason + "\n") + Usage.zpoolCommandUsage(ctx.command, legacy: ctx.legacy), code: 2)
    }

    static func missingPool(_ ctx: ZContext, _ name: String) -> String {
        if ctx.legacy || ctx.version < ZFSVersion(2, 2, 0) { return "cannot open '\(name)': no such pool" }
        return "Cannot get properties of \(name): no such pool available."
    }

    /// Value and source of a pool property as zfs-fuse prints it; nil when unknown.
    static func value(_ ctx: ZContext, _ state: HostState, _ pool: Pool, _ property: String, parsable: Bool) -> (String, String)? {
        let allocated = state.allocated(pool: pool.name)
        func size(_ n: Int64) -> String { parsable ? "\(n)" : Human.size(n, bytes: false) }
        switch property {
        case "name": return (pool.name, "-")
        case "size": return (size(pool.size), "-")
        case "allocated", "alloc": return (size(allocated), "-")
        case "free": return (size(max(0, pool.size - allocated)), "-")
        case "capacity", "cap":
            let pct = pool.size > 0 ? allocated * 100 / pool.size : 0
            return (parsable ? "\(pct)" : "\(pct)%", "-")
        case "health": return ("ONLINE", "-")
        case "guid": return ("\(pool.guid)", "-")
        case "version": return (pool.version == 5000 ? "-" : "\(pool.version)", "default")
        case "readonly" where !ctx.legacy: return ("off", "-")
        case "altroot": return ("-", "default")
        case "dedupratio", "dedup": return (parsable ? "1.00" : "1.00x", "-")
        default:
            if property.hasPrefix("feature@") && !ctx.legacy {
                let feature = String(property.dropFirst("feature@".count))
                guard var s = pool.features[feature] else { return nil }
                // `encryption` is active while an encrypted dataset exists in the pool.
                if feature == "encryption" && s != "disabled" {
                    s = state.hasEncryptedDataset(pool: pool.name) ? "active" : "enabled"
                }
                return (s, "local")
            }
            return nil
        }
    }

    static let known: Set<String> = ["name", "size", "allocated", "alloc", "free", "capacity", "cap", "health", "guid",
                                     "version", "readonly", "altroot", "dedupratio", "dedup"]

    static func legacyGet(_ ctx: ZContext, _ arguments: [String]) throws {
        var options = Options()
        if ctx.legacy {
            options.operands = arguments
        } else {
            switch Options.parse(arguments, spec: "Hpo:") {
            case .success(let o): options = o
            case .failure(let reason): throw usage(ctx, reason.message)
            }
        }
        guard let list = options.operands.first else { throw usage(ctx, "missing property name") }
        let properties = list == "all" ? ["size", "capacity", "altroot", "health", "guid", "version", "free", "allocated"]
            + (ctx.legacy ? [] : ["readonly"]) : list.split(separator: ",").map(String.init)
        for p in properties where !known.contains(p) && !(p.hasPrefix("feature@") && !ctx.legacy) || (ctx.legacy && p == "readonly") {
            throw usage(ctx, "bad property list: invalid property '\(p)'")
        }
        var columns = ["name", "property", "value", "source"]
        if let o = options.value("o") {
            columns = o == "all" ? columns : o.split(separator: ",").map(String.init)
            for c in columns where !["name", "property", "value", "source"].contains(c) {
                throw usage(ctx, "invalid column name '\(c)'")
            }
        }
        let state = try ctx.store.read { $0 }
        var pools = Array(options.operands.dropFirst())
        if pools.isEmpty { pools = state.pools.keys.sorted(by: Ordering.names) }
        var rows: [[String]] = []
        var errors: [String] = []
        for name in pools {
            guard let pool = state.pools[name] else { errors.append(missingPool(ctx, name)); continue }
            for p in properties {
                guard let (v, source) = value(ctx, state, pool, p, parsable: options.has("p")) else { continue }
                rows.append(columns.map { c in
                    switch c { case "name": return name; case "property": return p; case "value": return v; default: return source }
                })
            }
        }
        if !rows.isEmpty {
            Out.out(table(columns.map { $0.uppercased() }, rows, rightAligned: columns.map { _ in false }, scripted: options.has("H")))
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }

    static func legacyList(_ ctx: ZContext, _ arguments: [String]) throws {
        let options: Options
        switch Options.parse(arguments, spec: ctx.legacy ? "Ho:" : "gHLpPvo:T:") {
        case .success(let o): options = o
        case .failure(let reason): throw usage(ctx, reason.message)
        }
        var columns = ctx.legacy ? ["name", "size", "allocated", "free", "capacity", "dedupratio", "health", "altroot"]
            : ["name", "size", "allocated", "free", "capacity", "dedupratio", "health", "altroot"]
        if let o = options.value("o") {
            columns = o.split(separator: ",").map(String.init)
            for c in columns where !known.contains(c) && !c.hasPrefix("feature@") {
                throw usage(ctx, "bad property list: invalid property '\(c)'")
            }
        }
        let state = try ctx.store.read { $0 }
        var names = options.operands
        if names.isEmpty { names = state.pools.keys.sorted(by: Ordering.names) }
        var rows: [[String]] = []
        var errors: [String] = []
        for name in names {
            guard let pool = state.pools[name] else { errors.append("cannot open '\(name)': no such pool"); continue }
            rows.append(columns.map { value(ctx, state, pool, $0, parsable: options.has("p"))?.0 ?? "-" })
        }
        let headers = columns.map { c -> String in
            switch c { case "allocated": return "ALLOC"; case "capacity": return "CAP"; case "dedupratio": return "DEDUP"; default: return c.uppercased() }
        }
        if !rows.isEmpty {
            Out.out(table(headers, rows, rightAligned: columns.map { ["size", "allocated", "free", "capacity", "dedupratio"].contains($0) },
                          scripted: options.has("H")))
        } else if errors.isEmpty {
            Out.out("no pools available\n")
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }
}
