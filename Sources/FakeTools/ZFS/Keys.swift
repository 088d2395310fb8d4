import Foundation

/// `zfs load-key`, `zfs unload-key` and `zfs change-key` (reference §A11). Failures print
/// `Key load error: …`, `Key unload error: …` or `Key change error: …` and exit 255. Key material is
/// read outside the state lock (from stdin or a file), then checked under it.
enum Keys {
    static func featureEnabled(_ state: HostState, _ fs: String) -> Bool {
        state.pools[Names.pool(of: fs)].map { ($0.features["encryption"] ?? "disabled") != "disabled" } ?? false
    }

    // MARK: load-key / unload-key

    static func loadOrUnload(_ ctx: ZContext, _ arguments: [String], load: Bool) throws {
        let options = try ctx.parse(arguments, modern: load ? "anrL:" : "ar", legacy: "")
        let all = options.has("a")
        let recursive = all || options.has("r")
        if !all && options.operands.isEmpty { throw ctx.usage("Missing dataset argument or -a option") }
        if all && !options.operands.isEmpty { throw ctx.usage("Cannot specify dataset with -a option") }
        let alternate = options.value("L")
        if recursive, let alternate, alternate != "prompt" {
            throw ctx.usage("alternate keylocation may only be 'prompt' with -r or -a")
        }
        let noop = options.has("n")
        let state = try ctx.store.read { $0 }
        var targets: [String] = []
        var missing = false
        if all {
            targets = state.datasets.keys.sorted(by: Ordering.names)
        }
        for operand in options.operands {
            guard state.datasets[operand] != nil, !operand.contains("@") else {
                Out.err(ctx.openError(operand) + "\n")
                missing = true
                continue
            }
            targets += options.has("r") ? [operand] + state.descendants(of: operand) : [operand]
        }
        var attempted = 0
        var failed = 0
        for fs in targets {
            if recursive {
                let now = try ctx.store.read { $0 }
                guard now.isEncryptionRoot(fs), let wrapping = now.datasets[fs]?.wrapping else { continue }
                if wrapping.loaded == load { continue }
            }
            attempted += 1
            let ok = load ? try loadOne(ctx, fs, noop: noop, alternateLocation: alternate, quiet: false) : try unloadOne(ctx, fs)
            if !ok { failed += 1 }
        }
        if noop || (recursive && attempted != 0) {
            Out.out("\(attempted - failed) / \(attempted) key(s) successfully \(load ? (noop ? "verified" : "loaded") : "unloaded")\n")
        }
        if failed != 0 { throw silentFailure(255) }
        if missing { throw silentFailure(1) }
    }

    /// Why `zfs_crypto_load_key` refuses before asking for the key; nil when it goes on.
    static func loadRefusal(_ state: HostState, _ fs: String, noop: Bool) -> String? {
        guard featureEnabled(state, fs) else { return "Encryption feature not enabled." }
        guard let crypt = state.datasets[fs]?.crypt else { return "'\(fs)' is not encrypted." }
        guard crypt.root == fs, let wrapping = state.datasets[fs]?.wrapping else {
            return "Keys must be loaded for encryption root of '\(fs)' (\(crypt.root))."
        }
        if !noop && wrapping.loaded { return "Key already loaded for '\(fs)'." }
        return nil
    }

    /// Loads (or with `noop` verifies) the key of the encryption root `fs`. Reports its own failure.
    static func loadOne(_ ctx: ZContext, _ fs: String, noop: Bool, alternateLocation: String?, quiet: Bool) throws -> Bool {
        func fail(_ reason: String) -> Bool {
            if !quiet { Out.err("Key load error: \(reason)\n") }
            return false
        }
        let state = try ctx.store.read { $0 }
        if let refusal = loadRefusal(state, fs, noop: noop) { return fail(refusal) }
        let wrapping = state.datasets[fs]!.wrapping!
        let key: [UInt8]
        switch Encryption.material(location: alternateLocation ?? wrapping.location, format: wrapping.format, dataset: fs, newKey: false) {
        case .success(let bytes): key = bytes
        case .failure(let reason): return fail(reason.message)
        }
        if let problem = Encryption.validate(format: wrapping.format, material: key, newKey: false) { return fail(problem) }
        return try ctx.store.mutate { state -> Bool in
            if let refusal = loadRefusal(state, fs, noop: noop) { return fail(refusal) }
            let current = state.datasets[fs]!.wrapping!
            let secret = Encryption.derive(format: current.format, material: key, salt: current.salt, iters: current.iters)
            guard secret == current.secret else { return fail("Incorrect key provided for '\(fs)'.") }
            if !noop { state.datasets[fs]!.wrapping!.loaded = true }
            return true
        }
    }

    /// Busy: a dataset that uses the key is mounted (or held busy).
    static func unloadRefusal(_ state: HostState, _ root: String) -> String? {
        let users = state.datasets.values.filter { $0.crypt?.root == root }
        if users.contains(where: { $0.mounted == true || $0.busy == true }) { return "'\(root)' is busy." }
        return nil
    }

    static func unloadOne(_ ctx: ZContext, _ fs: String) throws -> Bool {
        try ctx.store.mutate { state -> Bool in
            func fail(_ reason: String) -> Bool {
                Out.err("Key unload error: \(reason)\n")
                return false
            }
            guard featureEnabled(state, fs) else { return fail("Encryption feature not enabled.") }
            guard let crypt = state.datasets[fs]?.crypt else { return fail("'\(fs)' is not encrypted.") }
            guard crypt.root == fs, let wrapping = state.datasets[fs]?.wrapping else {
                return fail("Keys must be unloaded for encryption root of '\(fs)' (\(crypt.root)).")
            }
            guard wrapping.loaded else { return fail("Key already unloaded for '\(fs)'.") }
            if let busy = unloadRefusal(state, fs) { return fail(busy) }
            state.datasets[fs]!.wrapping!.loaded = false
            return true
        }
    }

    // MARK: change-key

    /// `zfs change-key [-l] [-o keyformat=…] [-o keylocation=…] [-o pbkdf2iters=…] fs`,
    /// `zfs change-key -i [-l] fs`.
    static func changeKey(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "lio:", legacy: "")
        var props: [String: String] = [:]
        for assignment in options.values("o") {
            guard let eq = assignment.firstIndex(of: "=") else { throw Failure("missing '=' for property=value argument") }
            let name = String(assignment[..<eq])
            if props[name] != nil { throw Failure("property '\(name)' specified multiple times") }
            props[name] = String(assignment[assignment.index(after: eq)...])
        }
        let inherit = options.has("i")
        if inherit && !props.isEmpty { throw ctx.usage("Properties not allowed for inheriting") }
        guard let fs = options.operands.first else { throw ctx.usage("Missing dataset argument") }
        guard options.operands.count == 1 else { throw ctx.usage("Too many arguments") }
        func fail(_ reason: String) -> Failure { Failure("Key change error: \(reason)", code: 255) }
        var state = try ctx.store.read { $0 }
        guard state.datasets[fs] != nil, !fs.contains("@") else {
            throw Failure(ctx.openError(fs) + "\n" + Usage.zfsCommandUsage("change-key", legacy: false), code: 2)
        }
        if options.has("l") && !state.keyAvailable(fs) {
            guard try loadOne(ctx, fs, noop: false, alternateLocation: nil, quiet: false) else { throw silentFailure(255) }
            state = try ctx.store.read { $0 }
        }
        guard featureEnabled(state, fs) else { throw fail("Encryption feature not enabled.") }
        guard let crypt = state.datasets[fs]!.crypt else { throw fail("Dataset not encrypted.") }
        let isRoot = crypt.root == fs
        var newWrapping: WrappingKey?
        if !inherit {
            var checked: [String: String] = [:]
            for (name, value) in props {
                guard ["keyformat", "keylocation", "pbkdf2iters"].contains(name) else {
                    throw fail("Only keyformat, keylocation and pbkdf2iters may be set with this command.")
                }
                switch PropertySetter.validate(name, value, legacy: false, forSnapshot: false, creating: true) {
                case .success(let (p, v)): checked[p] = v
                case .failure(let reason): throw fail(reason.message)
                }
            }
            var format = checked["keyformat"].flatMap { $0 == "none" ? nil : $0 }
            var location = checked["keylocation"]
            if isRoot {
                let current = state.datasets[fs]!.wrapping
                format = format ?? current?.format
                location = location ?? current?.location
            } else {
                guard format != nil else { throw fail("Keyformat required for new encryption root.") }
                location = location ?? "prompt"
            }
            guard let format, let location else { throw fail("Keyformat required for new encryption root.") }
            let key: [UInt8]
            switch Encryption.material(location: location, format: format, dataset: fs, newKey: true) {
            case .success(let bytes): key = bytes
            case .failure(let reason): throw fail(reason.message)
            }
            if let problem = Encryption.validate(format: format, material: key, newKey: true) { throw fail(problem) }
            if format != "passphrase" && checked["pbkdf2iters"] != nil {
                throw fail("Cannot specify pbkdf2iters with a non-passphrase keyformat.")
            }
            newWrapping = Encryption.newWrapping(format: format, location: location, iters: checked["pbkdf2iters"].flatMap { Int($0) },
                                                 material: key)
        }
        try ctx.store.mutate { state in
            guard let current = state.datasets[fs]?.crypt else { throw fail("Dataset not encrypted.") }
            if inherit {
                guard current.root == fs else { throw fail("Key inheritting can only be performed on encryption roots.") }
                guard let parent = Names.parent(of: fs) else { throw fail("Root dataset cannot inherit key.") }
                guard let parentCrypt = state.datasets[parent]?.crypt else { throw fail("Parent must be encrypted.") }
                guard state.keyAvailable(parent) else { throw fail("Parent key must be loaded.") }
                guard state.keyAvailable(fs) else { throw fail("Key must be loaded.") }
                for name in [fs] + state.descendants(of: fs) where state.datasets[name]?.crypt?.root == fs {
                    state.datasets[name]!.crypt!.root = parentCrypt.root
                }
                state.datasets[fs]!.wrapping = nil
                return
            }
            guard state.keyAvailable(fs) else { throw fail("Key must be loaded.") }
            let oldRoot = current.root
            for name in [fs] + state.descendants(of: fs) where state.datasets[name]?.crypt?.root == oldRoot {
                state.datasets[name]!.crypt!.root = fs
            }
            state.datasets[fs]!.wrapping = newWrapping
        }
    }
}
