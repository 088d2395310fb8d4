import Foundation

/// clone, promote and rename, with OpenZFS 2.2's messages (zfs_main.c, libzfs_dataset.c).
enum CloneCommands {
    // MARK: clone

    /// `zfs clone [-p] [-o property=value]... snapshot filesystem`: a writable filesystem that starts as
    /// the snapshot's data; its `origin` names the snapshot, whose `clones` lists it.
    static func clone(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "po:", legacy: "po:")
        guard let source = options.operands.first else { throw ctx.usage("missing source dataset argument") }
        guard options.operands.count >= 2 else { throw ctx.usage("missing target dataset argument") }
        guard options.operands.count == 2 else { throw ctx.usage("too many arguments") }
        let target = options.operands[1]
        let prefix = "cannot create '\(target)'"
        var props: [String: String] = [:]
        for assignment in options.values("o") {
            guard let eq = assignment.firstIndex(of: "=") else { throw ctx.usage("missing '=' for property=value argument") }
            switch PropertySetter.validate(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]),
                                           legacy: ctx.legacy, forSnapshot: false) {
            case .success(let (p, v)): props[p] = v
            case .failure(let reason): throw Failure("\(prefix): \(reason.message)")
            }
        }
        try ctx.store.mutate { state in
            let (fs, snap) = Names.split(source)
            guard snap != nil, !source.contains("#"), let snapshot = state.snapshot(source) else {
                if state.exists(source) { throw Failure("cannot open '\(source)': operation not applicable to datasets of this type") }
                throw Failure(ctx.openError(source))
            }
            if let problem = Names.filesystemProblem(target) { throw Failure("\(prefix): \(problem)") }
            guard Names.pool(of: target) == Names.pool(of: fs) else { throw Failure("\(prefix): source and target pools differ") }
            if state.datasets[target] != nil { throw Failure("\(prefix): dataset already exists") }
            guard let parent = Names.parent(of: target) else { throw Failure("\(prefix): dataset already exists") }
            if state.datasets[parent] == nil && !options.has("p") { throw Failure("\(prefix): parent does not exist") }
            if state.datasets[parent]?.volume != nil { throw Failure("\(prefix): parent is not a filesystem") }
            let txg = createMissing(&state, upTo: parent, legacy: ctx.legacy)
            let origin = state.datasets[fs]!
            var d = Dataset(name: target, guid: GUID.make(), createtxg: txg, creation: state.now())
            d.lastWriteTxg = txg
            d.referenced = snapshot.referenced
            d.compressRatio = snapshot.compressRatio
            d.origin = source
            d.local = props
            // A clone shares its origin's data and so its encryption key (and root); a volume's is a volume.
            d.crypt = origin.crypt
            d.volume = origin.volume.map { Volume(size: $0.size, blockSize: $0.blockSize, sparse: true) }
            state.datasets[target] = d
            Mounts.mountNew(&state, target, legacy: ctx.legacy)
        }
    }

    // MARK: promote

    /// `zfs promote clone`: the origin's snapshots up to the clone's origin move to the clone, which
    /// takes the origin's place; the former origin becomes a clone of the moved snapshot.
    static func promote(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "", legacy: "")
        guard let name = options.operands.first else { throw ctx.usage("missing clone filesystem argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        try ctx.store.mutate { state in
            guard !name.contains("@"), !name.contains("#") else {
                throw Failure(state.exists(name) ? "cannot open '\(name)': operation not applicable to datasets of this type" : ctx.openError(name))
            }
            guard var clone = state.datasets[name] else { throw Failure(ctx.openError(name)) }
            guard let originName = clone.origin else { throw Failure("cannot promote '\(name)': not a cloned filesystem") }
            let (parentName, originSnap) = Names.split(originName)
            guard var parent = state.datasets[parentName], let snap = originSnap,
                  let index = parent.snapshots.firstIndex(where: { $0.name == snap }) else {
                throw Failure("cannot promote '\(name)': not a cloned filesystem")
            }
            if clone.crypt?.root != parent.crypt?.root, parent.crypt != nil {
                throw Failure("cannot promote '\(name)': cannot promote dataset outside its encryption root")
            }
            let moving = Array(parent.snapshots[...index])
            for s in moving where clone.snapshots.contains(where: { $0.name == s.name }) {
                throw Failure("cannot promote '\(name)': conflicting snapshot '\(s.name)' from parent '\(parentName)'")
            }
            parent.snapshots.removeSubrange(...index)
            clone.snapshots.insert(contentsOf: moving, at: 0)
            // Clones of the moved snapshots (the promoted one's siblings) now hang off the promoted filesystem.
            let movedNames = Set(moving.map { "\(parentName)@\($0.name)" })
            for other in state.datasets.keys where other != name {
                if let o = state.datasets[other]!.origin, movedNames.contains(o) {
                    state.datasets[other]!.origin = name + "@" + Names.split(o).1!
                }
            }
            clone.origin = parent.origin
            parent.origin = "\(name)@\(snap)"
            clone.snapshotsChanged = state.now()
            parent.snapshotsChanged = state.now()
            state.datasets[name] = clone
            state.datasets[parentName] = parent
            _ = state.nextTxg(pool: Names.pool(of: name))
        }
    }

    // MARK: rename

    /// `zfs rename [-f] fs|snap new`, `rename -p fs new`, `rename -u fs new`, `rename -r snap new`.
    /// A filesystem takes its children, snapshots and bookmarks with it; clones keep pointing at the
    /// renamed snapshots.
    static func rename(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "pruf", legacy: "pr")
        guard let source = options.operands.first else { throw ctx.usage("missing source dataset argument") }
        guard options.operands.count >= 2 else { throw ctx.usage("missing target dataset argument") }
        guard options.operands.count == 2 else { throw ctx.usage("too many arguments") }
        if options.has("r") && options.has("p") { throw ctx.usage("-p and -r options are mutually exclusive") }
        if options.has("u") && options.has("p") { throw ctx.usage("-u and -p options are mutually exclusive") }
        if options.has("r") && !source.contains("@") { throw ctx.usage("source dataset for recursive rename must be a snapshot") }
        var target = options.operands[1]
        try ctx.store.mutate { state in
            guard !source.contains("#"), state.exists(source) else {
                throw Failure(source.contains("#") ? "cannot open '\(source)': operation not applicable to datasets of this type" : ctx.openError(source))
            }
            if source == target { return }
            let (fs, snap) = Names.split(source)
            if let snap {
                // A snapshot's new name may be given as `new` or `@new`; a full one must be of the same dataset.
                if !target.contains("@") { target = fs + "@" + target } else if target.hasPrefix("@") { target = fs + target }
                let (targetFS, newSnap) = Names.split(target)
                guard targetFS == fs, let newSnap else {
                    throw Failure("cannot rename to '\(target)': snapshots must be part of same dataset")
                }
                if let problem = Names.problem(target, requireSnapshot: true) { throw Failure("cannot rename to '\(target)': \(problem)") }
                let filesystems = options.has("r") ? [fs] + state.descendants(of: fs) : [fs]
                for name in filesystems where state.datasets[name]!.snapshots.contains(where: { $0.name == snap }) {
                    if state.datasets[name]!.snapshots.contains(where: { $0.name == newSnap }) {
                        // With -r the kernel's EEXIST reads the same for the top and any child.
                        throw Failure(options.has("r")
                            ? "cannot rename '\(source)': a child dataset already has a snapshot with the new name"
                            : "cannot rename '\(source)': dataset already exists")
                    }
                }
                for name in filesystems {
                    guard let i = state.datasets[name]!.snapshots.firstIndex(where: { $0.name == snap }) else { continue }
                    state.datasets[name]!.snapshots[i].name = newSnap
                    state.snapshotsChanged(name)
                    for other in state.datasets.keys where state.datasets[other]!.origin == "\(name)@\(snap)" {
                        state.datasets[other]!.origin = "\(name)@\(newSnap)"
                    }
                }
                return
            }
            let prefix = "cannot rename to '\(target)'"
            if let problem = Names.filesystemProblem(target) { throw Failure("\(prefix): \(problem)") }
            guard let parent = Names.parent(of: target) else { throw Failure("\(prefix): datasets must be within same pool") }
            if state.pools[Names.pool(of: target)] == nil { throw Failure("cannot create '\(target)': no such pool '\(Names.pool(of: target))'") }
            if state.datasets[parent] == nil && !options.has("p") { throw Failure("cannot create '\(target)': parent does not exist") }
            guard Names.pool(of: target) == Names.pool(of: fs), Names.parent(of: fs) != nil else {
                throw Failure("\(prefix): datasets must be within same pool")
            }
            if target.hasPrefix(fs + "/") { throw Failure("\(prefix): New dataset name cannot be a descendant of current dataset name") }
            if state.datasets[target] != nil { throw Failure("cannot rename '\(fs)': dataset already exists") }
            for name in [fs] + state.descendants(of: fs) {
                if let pid = state.datasets[name]!.receiver, processAlive(pid) { throw Failure("cannot rename '\(fs)': dataset is busy") }
            }
            if let root = state.datasets[fs]!.crypt?.root, root != fs, parent != root, !parent.hasPrefix(root + "/") {
                throw Failure("cannot rename '\(fs)': cannot move encrypted child outside of its encryption root")
            }
            if options.has("p") { _ = createMissing(&state, upTo: parent, legacy: ctx.legacy) }
            moveTree(&state, from: fs, to: target)
            _ = state.nextTxg(pool: Names.pool(of: target))
        }
    }

    /// Creates `parent` and its missing ancestors (`-p`), mounted as new filesystems are, in a new txg
    /// of the pool, which it returns.
    static func createMissing(_ state: inout HostState, upTo parent: String, legacy: Bool) -> UInt64 {
        let txg = state.nextTxg(pool: Names.pool(of: parent))
        var missing: [String] = []
        var current: String? = parent
        while let n = current, state.datasets[n] == nil { missing.insert(n, at: 0); current = Names.parent(of: n) }
        for n in missing {
            var d = Dataset(name: n, guid: GUID.make(), createtxg: txg, creation: state.now())
            d.lastWriteTxg = txg
            state.datasets[n] = d
            Mounts.mountNew(&state, n, legacy: legacy)
        }
        return txg
    }

    /// Renames `from` and everything below it to `to`, with the names that point into the tree
    /// (clones' origins, encryption roots).
    static func moveTree(_ state: inout HostState, from: String, to: String) {
        func renamed(_ name: String) -> String {
            name == from ? to : (name.hasPrefix(from + "/") || name.hasPrefix(from + "@") ? to + name.dropFirst(from.count) : name)
        }
        for name in [from] + state.descendants(of: from) {
            var d = state.datasets.removeValue(forKey: name)!
            d.name = renamed(name)
            state.datasets[d.name] = d
        }
        for name in state.datasets.keys {
            if let origin = state.datasets[name]!.origin { state.datasets[name]!.origin = renamed(origin) }
            if let root = state.datasets[name]!.crypt?.root { state.datasets[name]!.crypt!.root = renamed(root) }
        }
    }
}
