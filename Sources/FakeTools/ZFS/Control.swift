import Foundation

/// `zfake ctl [--host H] COMMAND ...`: sets up and inspects the simulated world for tests. Not part of
/// the zfs command space, so `zfs` itself stays faithful.
///
///     create-pool NAME [--size SIZE] [--legacy] [--version N] [--vdev FILE]
///                                  a pool and its root filesystem; `--version` below 5000 makes a pool
///                                  without feature flags, `--vdev` the file `zpool status` shows
///                                  (default /var/tmp/NAME.img)
///     create FS [-o p=v]... [--passphrase TEXT]
///                                  a filesystem (parents created as needed), mounted like `zfs create`
///                                  mounts one. Encryption as `zfs create -o encryption=… -o keyformat=…
///                                  [-o keylocation=…] [-o pbkdf2iters=…]` has it; `--passphrase TEXT` is
///                                  the key material (no stdin or key file needed) and alone means
///                                  `-o encryption=on -o keyformat=passphrase` (keylocation prompt).
///     write FS BYTES               adds BYTES (e.g. 4G) to referenced and written; marks FS modified
///     dirty FS                     marks FS modified since its last snapshot
///     compress FS RATIO            compression ratio of FS's data and its snapshots' (e.g. 3.00;
///                                  default 1.00): compressratio, physical sizes, `send -c` streams
///     busy FS on|off               FS's mount is busy: unmount and unload-key fail with busy
///     clock EPOCH|off              fixed clock for creation times and hold timestamps
///     scale FACTOR|off             multiplies send payload sizes on this host
///     legacy on|off                the host runs zfs-fuse (pool version 23)
///     dump                         the host's state as JSON; each dataset also shows `mounted` (bool),
///                                  its effective `mountpoint` with `mountpointSource`, `canmount`
///                                  and `keystatus` (received values are in `received`)
///     fault-add JSON               appends a fault rule to the world's faults file
///     fault-clear                  removes all fault rules and their counters
enum ControlTool {
    static func main(_ arguments: [String]) -> Int32 {
        // `--help` / `-h`: the usage on stdout, exit 0, with no world needed.
        if arguments == ["--help"] || arguments == ["-h"] {
            Out.out(usage().message + "\n")
            return 0
        }
        var world = FakeWorld.fromEnvironment()
        var args = arguments
        if args.first == "--host", args.count > 1 {
            world = FakeWorld(directory: world.directory, host: args[1])
            args.removeFirst(2)
        }
        let store = StateStore(world: world)
        let code: Int32
        do {
            try run(args, world: world, store: store)
            code = 0
        } catch let failure as Failure {
            Out.err("zfake ctl: \(failure.message)\n")
            code = failure.code
        } catch {
            Out.err("zfake ctl: \(error)\n")
            code = 1
        }
        world.logCall(tool: "ctl", arguments: arguments, exitCode: code, duration: 0)
        return code
    }

    static func usage() -> Failure {
        Failure("usage: zfake ctl [--host H] create-pool NAME [--size SIZE] [--legacy] [--version N] [--vdev FILE] "
            + "| create FS [-o p=v].. [--passphrase TEXT] | write FS BYTES | dirty FS | compress FS RATIO | busy FS on|off "
            + "| clock EPOCH|off | scale F|off | legacy on|off | dump | fault-add JSON | fault-clear", code: 2)
    }

    static func size(_ text: String) throws -> Int64 {
        guard let n = Human.parseSize(text) else { throw Failure("bad size '\(text)'", code: 2) }
        return n
    }

    static func run(_ args: [String], world: FakeWorld, store: StateStore) throws {
        guard let command = args.first else { throw usage() }
        let rest = Array(args.dropFirst())
        switch command {
        case "create-pool":
            guard let name = rest.first, !name.hasPrefix("-") else { throw usage() }
            if let problem = Names.problem(name) { throw Failure("invalid pool name '\(name)': \(problem)") }
            var poolSize: Int64 = 1 << 40
            var legacy = false
            var version: Int?
            var vdev: String?
            var i = 1
            while i < rest.count {
                switch rest[i] {
                case "--size" where i + 1 < rest.count: poolSize = try size(rest[i + 1]); i += 1
                case "--legacy": legacy = true
                case "--version" where i + 1 < rest.count: version = Int(rest[i + 1]); i += 1
                case "--vdev" where i + 1 < rest.count: vdev = rest[i + 1]; i += 1
                default: throw usage()
                }
                i += 1
            }
            try store.mutate { state in
                guard state.pools[name] == nil else { throw Failure("pool '\(name)' already exists") }
                if legacy { state.legacy = true }
                let v = version ?? (legacy ? 23 : 5000)
                state.pools[name] = Pool(name: name, guid: GUID.make(), size: poolSize, version: v, txg: 4,
                                         features: v == 5000 ? PoolFeatures.modern : [:], vdev: vdev)
                state.datasets[name] = Dataset(name: name, guid: GUID.make(), createtxg: 1, creation: state.now())
                Mounts.mountNew(&state, name, legacy: state.legacy || legacyFromEnvironment)
            }
        case "create":
            guard let name = rest.first else { throw usage() }
            if let problem = Names.problem(name) { throw Failure("invalid dataset name '\(name)': \(problem)") }
            var props: [String: String] = [:]
            var passphrase: String?
            var i = 1
            while i < rest.count {
                if rest[i] == "--passphrase", i + 1 < rest.count {
                    passphrase = rest[i + 1]
                    i += 2
                    continue
                }
                guard rest[i] == "-o", i + 1 < rest.count, let eq = rest[i + 1].firstIndex(of: "=") else { throw usage() }
                props[String(rest[i + 1][..<eq])] = String(rest[i + 1][rest[i + 1].index(after: eq)...])
                i += 2
            }
            if passphrase != nil {
                props["encryption"] = props["encryption"] ?? "on"
                props["keyformat"] = props["keyformat"] ?? "passphrase"
            }
            let crypto = props.filter { PropertyTable.encryptionProperties.contains($0.key) }
            let material = passphrase.map { Result<[UInt8], Failure>.success(Array($0.utf8)) }
                ?? CryptPlan.keySource(crypto).map { Encryption.material(location: $0.location, format: $0.format, dataset: nil, newKey: true) }
            try store.mutate { state in
                let pool = Names.pool(of: name)
                guard state.pools[pool] != nil else { throw Failure("no such pool '\(pool)'") }
                let legacy = state.legacy || legacyFromEnvironment
                if legacy && !crypto.isEmpty { throw Failure("a legacy host has no encryption") }
                var missing: [String] = []
                var current: String? = name
                while let n = current, state.datasets[n] == nil { missing.insert(n, at: 0); current = Names.parent(of: n) }
                let txg = state.nextTxg(pool: pool)
                for n in missing {
                    var d = Dataset(name: n, guid: GUID.make(), createtxg: txg, creation: state.now())
                    if !legacy {
                        switch CryptPlan.decide(state: state, parent: Names.parent(of: n), props: n == name ? crypto : [:],
                                                stdinAvailable: true, material: n == name ? material : nil) {
                        case .success(let plan): plan.apply(to: &d)
                        case .failure(.reason(let reason)): throw Failure("cannot create '\(n)': \(reason)")
                        case .failure(.keyNotLoaded): throw Failure("cannot create '\(n)': encryption root's key is not loaded or provided")
                        }
                    }
                    state.datasets[n] = d
                }
                for (p, v) in props where !PropertyTable.encryptionProperties.contains(p) { state.datasets[name]!.local[p] = v }
                for n in missing { Mounts.mountNew(&state, n, legacy: legacy) }
            }
        case "compress":
            guard rest.count == 2, let ratio = Double(rest[1]), ratio >= 1, ratio <= 1000 else { throw usage() }
            try store.mutate { state in
                guard state.datasets[rest[0]] != nil else { throw Failure("no such filesystem '\(rest[0])'") }
                state.datasets[rest[0]]!.compressRatio = ratio == 1 ? nil : ratio
                for i in state.datasets[rest[0]]!.snapshots.indices {
                    state.datasets[rest[0]]!.snapshots[i].compressRatio = ratio == 1 ? nil : ratio
                }
            }
        case "busy":
            guard rest.count == 2, rest[1] == "on" || rest[1] == "off" else { throw usage() }
            try store.mutate { state in
                guard state.datasets[rest[0]] != nil else { throw Failure("no such filesystem '\(rest[0])'") }
                state.datasets[rest[0]]!.busy = rest[1] == "on" ? true : nil
            }
        case "write", "dirty":
            guard let name = rest.first else { throw usage() }
            let bytes = command == "write" ? try size(rest.count > 1 ? rest[1] : "") : 0
            try store.mutate { state in
                guard var d = state.datasets[name] else { throw Failure("no such filesystem '\(name)'") }
                d.referenced += bytes
                d.written += bytes
                d.modified = true
                d.lastWriteTxg = state.nextTxg(pool: Names.pool(of: name))
                state.datasets[name] = d
            }
        case "clock":
            guard let value = rest.first else { throw usage() }
            try store.mutate { state in state.clock = value == "off" ? nil : Int64(value) }
        case "scale":
            guard let value = rest.first else { throw usage() }
            try store.mutate { state in state.sendScale = value == "off" ? nil : Double(value) }
        case "legacy":
            guard let value = rest.first, value == "on" || value == "off" else { throw usage() }
            try store.mutate { state in
                state.legacy = value == "on"
                for name in state.pools.keys {
                    state.pools[name]!.version = value == "on" ? 23 : 5000
                    state.pools[name]!.features = value == "on" ? [:] : PoolFeatures.modern
                }
                // zfs-fuse keeps no mount state here; a modern host mounts what mounts automatically.
                for name in state.datasets.keys.sorted(by: Ordering.names) {
                    state.datasets[name]!.mounted = nil
                    if value == "off" { Mounts.mountNew(&state, name, legacy: false) }
                }
            }
        case "dump":
            let state = try store.read { $0 }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            Out.out(String(decoding: try encoder.encode(DumpHost(state)), as: UTF8.self) + "\n")
        case "fault-add":
            guard let rule = rest.first, FaultRule(json: rule) != nil else { throw Failure("fault-add needs one JSON rule with tool and effect", code: 2) }
            try FileManager.default.createDirectory(atPath: world.directory, withIntermediateDirectories: true)
            try FileLock.withLock(path: world.faultsFile) {
                let existing = (try? String(contentsOfFile: world.faultsFile, encoding: .utf8)) ?? ""
                try (existing + rule + "\n").write(toFile: world.faultsFile, atomically: true, encoding: .utf8)
            }
        case "fault-clear":
            FileLock.withLock(path: world.faultsFile) {
                try? FileManager.default.removeItem(atPath: world.faultsFile)
            }
            FileLock.withLock(path: world.faultCounters) {
                try? FileManager.default.removeItem(atPath: world.faultCounters)
            }
        default:
            throw usage()
        }
    }
}

/// `ZFAKE_ZFS_LEGACY=1` makes every host legacy (as for zfs and zpool).
var legacyFromEnvironment: Bool {
    ProcessInfo.processInfo.environment["ZFAKE_ZFS_LEGACY"].map { !$0.isEmpty && $0 != "0" } ?? false
}

/// What `zfake ctl dump` prints: the host's state, every field as stored, and per dataset what tests ask
/// of mounts and keys (`mounted`, the effective `mountpoint`, `mountpointSource`, `canmount`, `keystatus`).
struct DumpHost: Encodable {
    let state: HostState

    init(_ state: HostState) { self.state = state }

    enum Keys: String, CodingKey { case legacy, clock, sendScale, pools, datasets, pendingCreates }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(state.legacy, forKey: .legacy)
        try c.encodeIfPresent(state.clock, forKey: .clock)
        try c.encodeIfPresent(state.sendScale, forKey: .sendScale)
        try c.encode(state.pools, forKey: .pools)
        try c.encode(state.datasets.mapValues { DumpDataset(dataset: $0, state: state) }, forKey: .datasets)
        try c.encode(state.pendingCreates, forKey: .pendingCreates)
    }
}

struct DumpDataset: Encodable {
    let dataset: Dataset
    let state: HostState

    enum Keys: String, CodingKey { case mounted, mountpoint, mountpointSource, canmount, keystatus }

    func encode(to encoder: Encoder) throws {
        try dataset.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        if dataset.mounted == nil { try c.encode(false, forKey: .mounted) }
        let legacy = state.legacy || legacyFromEnvironment
        let resolver = PropertyResolver(state: state, legacy: legacy)
        if let mp = resolver.value("mountpoint", of: .filesystem(dataset)) {
            try c.encode(mp.raw, forKey: .mountpoint)
            try c.encode(mp.source, forKey: .mountpointSource)
        }
        try c.encode(resolver.value("canmount", of: .filesystem(dataset))?.raw ?? "on", forKey: .canmount)
        let keystatus = dataset.crypt == nil ? "none" : (state.keyAvailable(dataset.name) ? "available" : "unavailable")
        try c.encode(keystatus, forKey: .keystatus)
    }
}
