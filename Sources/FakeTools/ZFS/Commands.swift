import Foundation

/// create, snapshot, destroy, rollback, hold, release, holds, bookmark, set, inherit.
enum Commands {
    // MARK: create

    static func create(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "Pnpuvo:b:sV:", legacy: "po:b:sV:")
        guard let name = options.operands.first else { throw ctx.usage("missing filesystem argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        let prefix = "cannot create '\(name)'"
        if let problem = Names.filesystemProblem(name) { throw Failure("\(prefix): \(problem)") }
        // A volume: -V size, -b volblocksize (16K by default), -s sparse (no refreservation).
        var volume: Volume?
        if !options.has("V") && (options.has("b") || options.has("s")) {
            throw ctx.usage("'-s' and '-b' can only be used when creating a volume")
        }
        if let text = options.value("V") {
            guard let size = Human.parseSize(text), size > 0 else { throw ctx.usage("bad volume size '\(text)': bad numeric value '\(text)'") }
            var block: Int64 = 16384
            if let b = options.value("b") {
                guard let n = Human.parseSize(b), n >= 512, n <= 131072, n & (n - 1) == 0 else {
                    throw ctx.usage("bad volume block size '\(b)': must be a power of 2 from 512B to 128K")
                }
                block = n
            }
            if size % block != 0 { throw Failure("\(prefix): volume size must be a multiple of volume block size") }
            volume = Volume(size: size, blockSize: block, sparse: options.has("s"))
        }
        var props: [String: String] = [:]
        var given: [(String, String)] = []
        for assignment in options.values("o") {
            guard let eq = assignment.firstIndex(of: "=") else { throw ctx.usage("missing '=' for property=value argument") }
            let (key, value) = (String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
            switch PropertySetter.validate(key, value, legacy: ctx.legacy, forSnapshot: false, creating: true) {
            case .success(let (p, v)): props[p] = v; given.append((key, value))
            case .failure(let reason): throw Failure("\(prefix): \(reason.message)")
            }
        }
        // -n (dry run), -v and -P (parsable) as zfs_do_create prints them.
        if !ctx.legacy && (options.has("n") || options.has("v") || options.has("P")) {
            let parsable = options.has("P"), verbose = options.has("v") || parsable, dryRun = options.has("n")
            if options.has("p"), try ctx.store.read({ $0.datasets[name] != nil }) { return }
            var text = ""
            if verbose && options.has("p") {
                text += parsable ? "create_ancestors\t\(name)\n" : dryRun ? "would create ancestors of \(name)\n" : "create ancestors of \(name)\n"
            }
            if verbose {
                text += parsable ? "create\t\(name)\n" : dryRun ? "would create \(name)\n" : "create \(name)\n"
                for (key, value) in given { text += parsable ? "property\t\(key)\t\(value)\n" : "\t\(key)=\(value)\n" }
            }
            Out.out(text)
            if dryRun { return }
        }
        // Key material of a new encryption root, read before taking the lock (stdin or a file).
        let material = CryptPlan.keySource(props).map {
            Encryption.material(location: $0.location, format: $0.format, dataset: nil, newKey: true)
        }
        try ctx.store.mutate { state in
            let pool = Names.pool(of: name)
            guard state.pools[pool] != nil else { throw Failure("\(prefix): no such pool '\(pool)'") }
            if state.datasets[name] != nil {
                if options.has("p") { return }
                throw Failure("\(prefix): dataset already exists")
            }
            guard let parent = Names.parent(of: name) else { throw Failure("\(prefix): dataset already exists") }
            if state.datasets[parent] == nil && !options.has("p") { throw Failure("\(prefix): parent does not exist") }
            if state.datasets[parent]?.volume != nil { throw Failure("\(prefix): parent is not a filesystem") }
            var missing: [String] = []
            var current: String? = name
            while let n = current, state.datasets[n] == nil { missing.insert(n, at: 0); current = Names.parent(of: n) }
            let txg = state.nextTxg(pool: pool)
            for n in missing {
                var d = Dataset(name: n, guid: GUID.make(), createtxg: txg, creation: state.now())
                d.lastWriteTxg = txg
                if !ctx.legacy {
                    let own = n == name ? props.filter { PropertyTable.encryptionProperties.contains($0.key) } : [:]
                    switch CryptPlan.decide(state: state, parent: Names.parent(of: n), props: own, stdinAvailable: true,
                                            material: n == name ? material : nil) {
                    case .success(let plan): plan.apply(to: &d)
                    case .failure(.reason(let reason)): throw Failure("cannot create '\(n)': \(reason)")
                    case .failure(.keyNotLoaded): throw Failure("cannot create '\(n)': encryption root's key is not loaded or provided")
                    }
                }
                if n == name {
                    d.local = props.filter { !PropertyTable.encryptionProperties.contains($0.key) }
                    if let volume {
                        for (key, _) in d.local where !key.contains(":") && !PropertyTable.forVolumes.contains(key) {
                            throw Failure("\(prefix): '\(key)' does not apply to datasets of this type")
                        }
                        d.volume = volume
                        if !volume.sparse && d.local["refreservation"] == nil { d.local["refreservation"] = "\(volume.size)" }
                    } else if let key = d.local.keys.first(where: { PropertyTable.volumeOnly.contains($0) }) {
                        throw Failure("\(prefix): '\(key)' does not apply to datasets of this type")
                    }
                }
                state.datasets[n] = d
                if !options.has("u") || n != name { Mounts.mountNew(&state, n, legacy: ctx.legacy) }
            }
        }
    }

    // MARK: snapshot

    static func snapshot(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "ro:", legacy: "ro:")
        guard !options.operands.isEmpty else { throw ctx.usage("missing snapshot argument") }
        if ctx.legacy && options.operands.count > 1 { throw ctx.usage("too many arguments") }
        var props: [String: String] = [:]
        for assignment in options.values("o") {
            guard let eq = assignment.firstIndex(of: "=") else { throw ctx.usage("missing '=' for property=value argument") }
            switch PropertySetter.validate(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]),
                                           legacy: ctx.legacy, forSnapshot: true) {
            case .success(let (p, v)): props[p] = v
            case .failure(let reason):
                throw Failure("cannot \(ctx.legacy ? "snapshot" : "create snapshot") '\(options.operands[0])': \(reason.message)")
            }
        }
        try ctx.store.mutate { state in
            var targets: [(String, String)] = []
            for full in options.operands {
                if let problem = Names.problem(full, requireSnapshot: true) {
                    throw Failure("cannot create snapshot '\(full)': \(problem)")
                }
                let (fs, snap) = Names.split(full)
                guard state.datasets[fs] != nil else {
                    throw ctx.legacy ? Failure(ctx.openError(fs)) : Failure(ctx.openError(fs) + "\n" + Usage.zfsCommandUsage("snapshot", legacy: false), code: 2)
                }
                let all = options.has("r") ? [fs] + state.descendants(of: fs) : [fs]
                for name in all { targets.append((name, snap!)) }
            }
            for (fs, snap) in targets where state.datasets[fs]!.snapshots.contains(where: { $0.name == snap }) {
                throw Failure("cannot create snapshot '\(fs)@\(snap)': dataset already exists")
            }
            guard let pool = targets.first.map({ Names.pool(of: $0.0) }) else { return }
            let txg = state.nextTxg(pool: pool)
            let now = state.now()
            for (fs, snap) in targets {
                var d = state.datasets[fs]!
                var s = Snapshot(name: snap, guid: GUID.make(), createtxg: txg, creation: now,
                                 referenced: d.referenced, written: d.written)
                s.local = props
                s.compressRatio = d.compressRatio
                d.snapshots.append(s)
                d.snapshotsChanged = now
                d.written = 0
                d.modified = false
                state.datasets[fs] = d
            }
        }
    }

    // MARK: destroy

    static func destroy(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "dnpRrvf", legacy: "rRfd")
        guard let target = options.operands.first else { throw ctx.usage("missing dataset argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        let (fs, tail) = Names.split(target)
        if target.contains("#") {
            try ctx.store.mutate { state in
                guard state.datasets[fs] != nil else { throw Failure(ctx.openError(fs)) }
                state.datasets[fs]!.bookmarks.removeAll { $0.name == tail }
            }
            return
        }
        if tail != nil {
            try destroySnapshots(ctx, options, fs: fs, spec: tail!)
        } else {
            try destroyFilesystem(ctx, options, fs: fs)
        }
    }

    /// Snapshots named by `spec` (`a`, `a%c`, `%c`, `a%`, comma lists) in createtxg order.
    static func resolveSpec(_ spec: String, in dataset: Dataset) -> [String] {
        var names: [String] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if let percent = item.firstIndex(of: "%") {
                let from = String(item[..<percent]), to = String(item[item.index(after: percent)...])
                let snaps = dataset.snapshots
                guard let start = from.isEmpty ? snaps.indices.first : snaps.firstIndex(where: { $0.name == from }),
                      let end = to.isEmpty ? snaps.indices.last : snaps.firstIndex(where: { $0.name == to }),
                      start <= end else { continue }
                names += snaps[start...end].map(\.name)
            } else if dataset.snapshots.contains(where: { $0.name == item }) {
                names.append(item)
            }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    static func heldMessage(_ ctx: ZContext, _ full: String) -> String {
        if ctx.legacy { return "cannot destroy '\(full)': dataset is busy" }
        if ctx.version >= ZFSVersion(2, 3, 3) {
            return "cannot destroy snapshot \(full): it's being held. Run 'zfs holds -r \(full)' to see holders."
        }
        return "cannot destroy snapshot \(full): dataset is busy"
    }

    static func destroySnapshots(_ ctx: ZContext, _ options: Options, fs: String, spec: String) throws {
        let dryRun = options.has("n")
        let report = try ctx.store.mutate { state -> String in
            guard let base = state.datasets[fs] else { throw Failure(ctx.openError(fs)) }
            if ctx.legacy, !base.snapshots.contains(where: { $0.name == spec }) {
                throw Failure(ctx.openError("\(fs)@\(spec)"))
            }
            let filesystems = options.has("r") || options.has("R") ? [fs] + state.descendants(of: fs) : [fs]
            var victims: [(String, String)] = []
            for name in filesystems {
                let names = ctx.legacy ? (state.datasets[name]!.snapshots.contains { $0.name == spec } ? [spec] : [])
                    : resolveSpec(spec, in: state.datasets[name]!)
                victims += names.map { (name, $0) }
            }
            guard !victims.isEmpty else {
                throw Failure("could not find any snapshots to destroy; check snapshot names.")
            }
            var text = ""
            var reclaim: Int64 = 0
            for (name, snap) in victims {
                let s = state.datasets[name]!.snapshots.first { $0.name == snap }!
                reclaim += s.used
                if options.has("p") { text += "destroy\t\(name)@\(snap)\n" } else if options.has("v") {
                    text += "\(dryRun ? "would" : "will") destroy \(name)@\(snap)\n"
                }
            }
            if options.has("p") { text += "reclaim\t\(reclaim)\n" } else if options.has("v") {
                text += "\(dryRun ? "would" : "will") reclaim \(Human.size(reclaim))\n"
            }
            // Clones of these snapshots: without -R (or -d) the destroy is refused and names them.
            let victimNames = Set(victims.map { "\($0.0)@\($0.1)" })
            let dependents = Commands.clones(in: state, of: victimNames)
            if !dependents.isEmpty && !options.has("R") && !options.has("d") {
                let first = victims.first { !Commands.clones(in: state, of: ["\($0.0)@\($0.1)"]).isEmpty }!
                throw Failure("cannot destroy '\(first.0)@\(first.1)': snapshot has dependent clones\n"
                    + "use '-R' to destroy the following datasets:\n" + dependents.joined(separator: "\n"))
            }
            if dryRun { return text }
            var errors: [String] = []
            for (name, snap) in victims {
                let s = state.datasets[name]!.snapshots.first { $0.name == snap }!
                let full = "\(name)@\(snap)"
                if s.senders.contains(where: processAlive) {
                    errors.append(ctx.legacy ? "cannot destroy '\(full)': dataset is busy" : "cannot destroy snapshot \(full): dataset is busy")
                } else if !s.holds.isEmpty && !options.has("d") {
                    errors.append(heldMessage(ctx, full))
                }
            }
            if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
            if options.has("R") { for name in dependents.reversed() { state.datasets[name] = nil } }
            for (name, snap) in victims {
                let index = state.datasets[name]!.snapshots.firstIndex { $0.name == snap }!
                if state.datasets[name]!.snapshots[index].holds.isEmpty {
                    state.datasets[name]!.snapshots.remove(at: index)
                    state.snapshotsChanged(name)
                } else {
                    state.datasets[name]!.snapshots[index].deferDestroy = true
                }
            }
            _ = state.nextTxg(pool: Names.pool(of: fs))
            return text
        }
        Out.out(report)
    }

    static func destroyFilesystem(_ ctx: ZContext, _ options: Options, fs: String) throws {
        let recursive = options.has("r") || options.has("R")
        let report = try ctx.store.mutate { state -> String in
            guard let dataset = state.datasets[fs] else { throw Failure(ctx.openError(fs)) }
            if Names.parent(of: fs) == nil && !recursive {
                throw Failure("cannot destroy '\(fs)': operation does not apply to pools\n"
                    + "use 'zfs destroy -r \(fs)' to destroy all datasets in the pool\n"
                    + "use 'zpool destroy \(fs)' to destroy the pool itself")
            }
            let children = state.descendants(of: fs)
            if !recursive && (!children.isEmpty || !dataset.snapshots.isEmpty) {
                let dependents = dataset.snapshots.map { "\(fs)@\($0.name)" } + children
                throw Failure("cannot destroy '\(fs)': filesystem has children\n"
                    + "use '-r' to destroy the following datasets:\n" + dependents.joined(separator: "\n"))
            }
            var all = (Names.parent(of: fs) == nil ? [] : [fs]) + children
            let rootSnaps = Names.parent(of: fs) == nil ? [fs] : []
            let tree = Set([fs] + children)
            let snapshots = Set(tree.flatMap { name in state.datasets[name]!.snapshots.map { "\(name)@\($0.name)" } })
            let dependents = Commands.clones(in: state, of: snapshots).filter { !tree.contains($0) }
            if !dependents.isEmpty {
                guard options.has("R") else {
                    throw Failure("cannot destroy '\(fs)': \(dataset.volume == nil ? "filesystem" : "volume") has dependent clones\n"
                        + "use '-R' to destroy the following datasets:\n" + dependents.joined(separator: "\n"))
                }
                all += dependents
            }
            for name in all + rootSnaps {
                let d = state.datasets[name]!
                if let pid = d.receiver, processAlive(pid) { throw Failure("cannot destroy '\(name)': dataset is busy") }
                for s in d.snapshots where !s.holds.isEmpty || s.senders.contains(where: processAlive) {
                    throw Failure(ctx.legacy ? "cannot destroy '\(name)@\(s.name)': dataset is busy"
                        : "cannot destroy snapshot \(name)@\(s.name): dataset is busy")
                }
            }
            var text = ""
            if options.has("v") || options.has("n") {
                for name in (all + rootSnaps).reversed() {
                    for s in state.datasets[name]!.snapshots.reversed() where options.has("v") {
                        text += "\(options.has("n") ? "would" : "will") destroy \(name)@\(s.name)\n"
                    }
                    if options.has("v") && all.contains(name) { text += "\(options.has("n") ? "would" : "will") destroy \(name)\n" }
                }
            }
            if options.has("n") { return text }
            for name in all { state.datasets[name] = nil }
            for name in rootSnaps where !state.datasets[name]!.snapshots.isEmpty {
                state.datasets[name]!.snapshots = []
                state.snapshotsChanged(name)
            }
            _ = state.nextTxg(pool: Names.pool(of: fs))
            return text
        }
        Out.out(report)
    }

    /// The clones of these snapshots, with everything below them (and their own clones), by name.
    static func clones(in state: HostState, of snapshots: Set<String>) -> [String] {
        var result: [String] = []
        var frontier = snapshots
        while !frontier.isEmpty {
            let found = state.datasets.values.filter { $0.origin.map(frontier.contains) ?? false }.map(\.name)
            frontier = []
            for clone in found where !result.contains(clone) {
                for name in [clone] + state.descendants(of: clone) where !result.contains(name) {
                    result.append(name)
                    frontier.formUnion(state.datasets[name]!.snapshots.map { "\(name)@\($0.name)" })
                }
            }
        }
        return result.sorted(by: Ordering.names)
    }

    // MARK: rollback

    static func rollback(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "rRf", legacy: "rRf")
        guard let target = options.operands.first else { throw ctx.usage("missing dataset argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        try ctx.store.mutate { state in
            let (fs, snap) = Names.split(target)
            guard snap != nil, let dataset = state.datasets[fs],
                  let index = dataset.snapshots.firstIndex(where: { $0.name == snap }) else {
                throw Failure(ctx.openError(target))
            }
            let newer = dataset.snapshots[(index + 1)...]
            if !newer.isEmpty && !(options.has("r") || options.has("R")) {
                throw Failure("cannot rollback to '\(target)': more recent snapshots or bookmarks exist\n"
                    + "use '-r' to force deletion of the following snapshots and bookmarks:\n"
                    + newer.map { "\(fs)@\($0.name)" }.joined(separator: "\n"))
            }
            for s in newer where !s.holds.isEmpty || s.senders.contains(where: processAlive) {
                throw Failure("cannot destroy '\(fs)@\(s.name)': dataset is busy")
            }
            var d = dataset
            if !newer.isEmpty { d.snapshotsChanged = state.now() }
            d.snapshots.removeSubrange((index + 1)...)
            d.referenced = d.snapshots[index].referenced
            d.written = 0
            d.modified = false
            d.lastWriteTxg = state.nextTxg(pool: Names.pool(of: fs))
            state.datasets[fs] = d
        }
    }

    // MARK: holds

    static func hold(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "r", legacy: "r")
        guard let tag = options.operands.first else { throw ctx.usage("missing tag argument") }
        guard options.operands.count > 1 else { throw ctx.usage("missing snapshot argument") }
        if tag.hasPrefix(".") { throw ctx.usage("tag may not start with '.'") }
        try changeHolds(ctx, options, tag: tag, adding: true)
    }

    static func release(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "r", legacy: "r")
        guard let tag = options.operands.first else { throw ctx.usage("missing tag argument") }
        guard options.operands.count > 1 else { throw ctx.usage("missing snapshot argument") }
        try changeHolds(ctx, options, tag: tag, adding: false)
    }

    static func changeHolds(_ ctx: ZContext, _ options: Options, tag: String, adding: Bool) throws {
        let errors = try ctx.store.mutate { state -> [String] in
            var errors: [String] = []
            for target in options.operands.dropFirst() {
                func fail(_ reason: String) {
                    if adding {
                        errors.append(ctx.legacy ? "cannot hold '\(target)': \(reason)" : "cannot hold snapshot '\(target)': \(reason)")
                    } else {
                        errors.append(ctx.legacy ? "cannot release '\(tag)' from '\(target)': \(reason)"
                            : "cannot release hold from snapshot '\(target)': \(reason)")
                    }
                }
                let (fs, snap) = Names.split(target)
                guard let snap, !target.contains("#") else { errors.append("'\(target)' is not a snapshot"); continue }
                guard state.snapshot(target) != nil else { fail("dataset does not exist"); continue }
                let filesystems = options.has("r") ? [fs] + state.descendants(of: fs) : [fs]
                for name in filesystems {
                    guard let index = state.datasets[name]!.snapshots.firstIndex(where: { $0.name == snap }) else { continue }
                    var s = state.datasets[name]!.snapshots[index]
                    if adding {
                        if s.holds[tag] != nil { fail("tag already exists on this dataset"); continue }
                        s.holds[tag] = state.now()
                        state.datasets[name]!.snapshots[index] = s
                    } else {
                        if s.holds[tag] == nil { fail("no such tag on this dataset"); continue }
                        s.holds[tag] = nil
                        if s.holds.isEmpty && s.deferDestroy {
                            state.datasets[name]!.snapshots.remove(at: index)
                            state.snapshotsChanged(name)
                        } else {
                            state.datasets[name]!.snapshots[index] = s
                        }
                    }
                }
            }
            return errors
        }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }

    static func holds(_ ctx: ZContext, _ arguments: [String]) throws {
        if ctx.legacy {
            Out.out("internal error: /usr/lib/zfs/pyzfs.py not found\n")
            throw silentFailure(255)
        }
        let options = try ctx.parse(arguments, modern: "rHp", legacy: "")
        guard !options.operands.isEmpty else { throw ctx.usage("missing snapshot argument") }
        var rows: [(String, String, Int64)] = []
        var errors: [String] = []
        var visited = 0
        var nameWidth = 0
        try ctx.store.read { state in
            for target in options.operands {
                let (fs, snap) = Names.split(target)
                guard let snap, !target.contains("#") else { errors.append("'\(target)' is not a snapshot"); continue }
                guard state.snapshot(target) != nil else { errors.append(ctx.openError(target)); continue }
                let filesystems = options.has("r") ? [fs] + state.descendants(of: fs) : [fs]
                for name in filesystems {
                    guard let s = state.datasets[name]!.snapshots.first(where: { $0.name == snap }) else { continue }
                    visited += 1
                    nameWidth = max(nameWidth, "\(name)@\(snap)".count)
                    for (tag, time) in s.holds.sorted(by: { $0.key < $1.key }) { rows.append(("\(name)@\(snap)", tag, time)) }
                }
            }
        }
        // print_holds: a header unless -H, even with no holds; widths are the longest name and tag seen.
        var text = ""
        let times = rows.map { options.has("p") ? "\($0.2)" : Human.date($0.2, "%a %b %e %H:%M %Y") }
        if options.has("H") {
            for (i, row) in rows.enumerated() { text += "\(row.0)\t\(row.1)\t\(times[i])\n" }
        } else {
            let tagWidth = rows.map { $0.1.count }.max() ?? 0
            text += "NAME".rightPad(nameWidth) + "  " + "TAG".rightPad(tagWidth) + "  TIMESTAMP\n"
            for (i, row) in rows.enumerated() {
                text += row.0.rightPad(nameWidth) + "  " + row.1.rightPad(tagWidth) + "  " + times[i] + "\n"
            }
        }
        Out.out(text)
        if visited == 0 { errors.append("no datasets available") }
        if !errors.isEmpty { throw Failure(errors.joined(separator: "\n")) }
    }

    // MARK: bookmark

    /// `zfs bookmark snapshot|bookmark newbookmark` (either may be short: `@snap`, `#bm`), as zfs_do_bookmark.
    static func bookmark(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "", legacy: "")
        guard options.operands.count >= 1 else { throw ctx.usage("missing source argument") }
        guard options.operands.count >= 2 else { throw ctx.usage("missing bookmark argument") }
        guard options.operands.count == 2 else { throw ctx.usage("too many arguments") }
        var source = options.operands[0]
        var target = options.operands[1]
        guard source.contains("@") || source.contains("#") else {
            throw ctx.usage("invalid source name '\(source)': must contain a '@' or '#'")
        }
        guard target.contains("#") else { throw ctx.usage("invalid bookmark name '\(target)': must contain a '#'") }
        let sourceShort = source.hasPrefix("@") || source.hasPrefix("#"), targetShort = target.hasPrefix("#")
        if sourceShort && targetShort {
            throw Failure("either source or bookmark must be specified as full dataset paths"
                + Usage.zfsCommandUsage("bookmark", legacy: false), code: 2)
        }
        if sourceShort { source = Names.split(target).0 + source }
        if targetShort { target = Names.split(source).0 + target }
        try ctx.store.mutate { state in
            let (fs, short) = Names.split(source)
            let mark: Bookmark?
            if source.contains("#") {
                mark = state.datasets[fs]?.bookmarks.first { $0.name == short }
            } else {
                mark = state.snapshot(source).map { s in
                    Bookmark(name: "", guid: s.guid, createtxg: s.createtxg, creation: s.creation,
                             referenced: s.referenced, compressRatio: s.compressRatio)
                }
            }
            guard var bookmark = mark else {
                throw Failure(ctx.openError(source) + "\n" + Usage.zfsCommandUsage("bookmark", legacy: false), code: 2)
            }
            let (targetFS, name) = Names.split(target)
            let prefix = "cannot create bookmark '\(target)'"
            guard let name, !name.isEmpty, Names.problem(targetFS) == nil else { throw Failure("\(prefix): invalid argument") }
            guard Names.pool(of: targetFS) == Names.pool(of: fs) else { throw Failure("\(prefix): bookmark is in a different pool") }
            guard state.datasets[targetFS] != nil else { throw Failure("\(prefix): dataset does not exist") }
            guard targetFS == fs else { throw Failure("\(prefix): source is not an ancestor of the new bookmark's dataset") }
            if state.datasets[fs]!.bookmarks.contains(where: { $0.name == name }) { throw Failure("\(prefix): bookmark exists") }
            bookmark.name = name
            state.datasets[fs]!.bookmarks.append(bookmark)
        }
    }

    // MARK: set / inherit

    static func set(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "u", legacy: "")
        let assignments = ctx.legacy ? Array(options.operands.prefix(1)) : Array(options.operands.prefix { $0.contains("=") })
        guard !options.operands.isEmpty else { throw ctx.usage("missing property=value argument") }
        var pairs: [(String, String)] = []
        for assignment in assignments.isEmpty ? [options.operands[0]] : assignments {
            guard let eq = assignment.firstIndex(of: "=") else { throw ctx.usage("missing '=' for property=value argument") }
            let value = String(assignment[assignment.index(after: eq)...])
            if value.isEmpty { throw ctx.usage("missing value in property=value argument") }
            pairs.append((String(assignment[..<eq]), value))
        }
        let targets = Array(options.operands.dropFirst(pairs.count))
        guard !targets.isEmpty else { throw ctx.usage("missing dataset name(s)") }
        let validationCode: Int32 = ctx.legacy ? 1 : 255
        var failure: Failure?
        try ctx.store.mutate { state in
            for target in targets {
                guard state.exists(target), !target.contains("#") else {
                    failure = Failure(ctx.openError(target)); continue
                }
                let isSnapshot = target.contains("@")
                for (name, value) in pairs {
                    switch PropertySetter.validate(name, value, legacy: ctx.legacy, forSnapshot: isSnapshot) {
                    case .failure(let reason):
                        failure = Failure("cannot set property for '\(target)': \(reason.message)", code: validationCode)
                    case .success(let (p, v)):
                        let (fs, snap) = Names.split(target)
                        let entity = snap == nil ? Entity.filesystem(state.datasets[fs]!) : nil
                        if let entity, PropertyTable.byName[p] != nil, !PropertyTable.applies(p, to: entity) {
                            failure = Failure("cannot set property for '\(target)': '\(p)' does not apply to datasets of this type",
                                              code: validationCode)
                            continue
                        }
                        if p == "volsize", snap == nil, let n = Int64(v), let old = state.datasets[fs]!.volume {
                            // A refreservation that matched the old size follows the new one (zfs_set_prop).
                            if state.datasets[fs]!.local["refreservation"] == "\(old.size)" {
                                state.datasets[fs]!.local["refreservation"] = "\(n)"
                            }
                            state.datasets[fs]!.volume!.size = n
                            continue
                        }
                        if let snap, let i = state.datasets[fs]!.snapshots.firstIndex(where: { $0.name == snap }) {
                            state.datasets[fs]!.snapshots[i].local[p] = v
                        } else if p == "keylocation" {
                            if let problem = keylocationProblem(state, fs, v) {
                                failure = Failure("cannot set property for '\(target)': \(problem)", code: validationCode)
                                continue
                            }
                            if state.datasets[fs]!.crypt != nil { state.datasets[fs]!.wrapping!.location = v }
                        } else {
                            state.datasets[fs]!.local[p] = v
                            // A local value ends an explicit inherit over a received one.
                            if let masked = state.datasets[fs]!.masked {
                                let rest = masked.filter { $0 != p }
                                state.datasets[fs]!.masked = rest.isEmpty ? nil : rest
                            }
                            Mounts.propertyChanged(&state, fs, property: p, legacy: ctx.legacy)
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
    }

    /// `zfs set keylocation=…`: `zfs_valid_proplist`'s checks, then the kernel's (roots only).
    static func keylocationProblem(_ state: HostState, _ fs: String, _ value: String) -> String? {
        let encrypted = state.datasets[fs]?.crypt != nil
        if !encrypted && value != "none" { return "keylocation must be 'none' for unencrypted datasets" }
        if encrypted && value == "none" { return "keylocation must not be 'none' for encrypted datasets" }
        if encrypted && !state.isEncryptionRoot(fs) { return "keylocation may only be set on encryption roots" }
        return nil
    }

    static func inherit(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "rS", legacy: "rS")
        guard let property = options.operands.first else { throw ctx.usage("missing property argument") }
        let targets = Array(options.operands.dropFirst())
        guard !targets.isEmpty else { throw ctx.usage("missing dataset argument") }
        var canonical = property
        if !property.contains(":") {
            guard let c = PropertyTable.canonical(property, legacy: ctx.legacy), let def = PropertyTable.byName[c] else {
                throw ctx.usage("invalid property '\(property)'")
            }
            if !def.editable || def.onetime { throw Failure(ctx.legacy ? "'\(c)' property is read-only" : "\(property) property is read-only") }
            if !def.inheritable && !(options.has("S") && !ctx.legacy) { throw Failure("'\(c)' property cannot be inherited") }
            canonical = c
        } else if !Names.isValidUserProperty(property) {
            throw ctx.usage("invalid property '\(property)'")
        }
        var failure: Failure?
        try ctx.store.mutate { state in
            for target in targets {
                guard state.exists(target), !target.contains("#") else { failure = Failure(ctx.openError(target)); continue }
                let (fs, snap) = Names.split(target)
                let filesystems = options.has("r") ? [fs] + state.descendants(of: fs) : [fs]
                for name in filesystems {
                    if let snap {
                        guard let i = state.datasets[name]!.snapshots.firstIndex(where: { $0.name == snap }) else { continue }
                        state.datasets[name]!.snapshots[i].local[canonical] = nil
                        if !options.has("S") { state.datasets[name]!.snapshots[i].received[canonical] = nil }
                    } else {
                        state.datasets[name]!.local[canonical] = nil
                        // Without -S an explicit inherit masks the received value (kept for -S and
                        // `get -o received`); -S brings it back.
                        var masked = Set(state.datasets[name]!.masked ?? [])
                        if options.has("S") || ctx.legacy {
                            masked.remove(canonical)
                            if ctx.legacy && !options.has("S") { state.datasets[name]!.received[canonical] = nil }
                        } else if state.datasets[name]!.received[canonical] != nil {
                            masked.insert(canonical)
                        }
                        state.datasets[name]!.masked = masked.isEmpty ? nil : masked.sorted()
                        if canonical == "mountpoint" || canonical == "canmount" {
                            Mounts.propertyChanged(&state, name, property: canonical, legacy: ctx.legacy)
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
    }
}
