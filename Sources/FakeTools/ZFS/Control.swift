import Foundation

/// `zfake ctl [--host H] COMMAND ...`: sets up and inspects the simulated world for tests. Not part of
/// the zfs command space, so `zfs` itself stays faithful.
///
///     create-pool NAME [--size SIZE] [--legacy] [--version N]   a pool and its root filesystem
///     create FS [-o p=v]...        a filesystem (parents created as needed)
///     write FS BYTES               adds BYTES (e.g. 4G) to referenced and written; marks FS modified
///     dirty FS                     marks FS modified since its last snapshot
///     clock EPOCH|off              fixed clock for creation times and hold timestamps
///     scale FACTOR|off             multiplies send payload sizes on this host
///     legacy on|off                the host runs zfs-fuse (pool version 23)
///     dump                         the host's state as JSON
///     fault-add JSON               appends a fault rule to the world's faults file
///     fault-clear                  removes all fault rules and their counters
enum ControlTool {
    static func main(_ arguments: [String]) -> Int32 {
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
        Failure("usage: zfake ctl [--host H] create-pool NAME [--size SIZE] [--legacy] [--version N] | create FS [-o p=v].. "
            + "| write FS BYTES | dirty FS | clock EPOCH|off | scale F|off | legacy on|off | dump | fault-add JSON | fault-clear", code: 2)
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
            var i = 1
            while i < rest.count {
                switch rest[i] {
                case "--size" where i + 1 < rest.count: poolSize = try size(rest[i + 1]); i += 1
                case "--legacy": legacy = true
                case "--version" where i + 1 < rest.count: version = Int(rest[i + 1]); i += 1
                default: throw usage()
                }
                i += 1
            }
            try store.mutate { state in
                guard state.pools[name] == nil else { throw Failure("pool '\(name)' already exists") }
                if legacy { state.legacy = true }
                let v = version ?? (legacy ? 23 : 5000)
                state.pools[name] = Pool(name: name, guid: GUID.make(), size: poolSize, version: v, txg: 4,
                                         features: v == 5000 ? PoolFeatures.modern : [:])
                state.datasets[name] = Dataset(name: name, guid: GUID.make(), createtxg: 1, creation: state.now())
            }
        case "create":
            guard let name = rest.first else { throw usage() }
            if let problem = Names.problem(name) { throw Failure("invalid dataset name '\(name)': \(problem)") }
            var props: [String: String] = [:]
            var i = 1
            while i < rest.count {
                guard rest[i] == "-o", i + 1 < rest.count, let eq = rest[i + 1].firstIndex(of: "=") else { throw usage() }
                props[String(rest[i + 1][..<eq])] = String(rest[i + 1][rest[i + 1].index(after: eq)...])
                i += 2
            }
            try store.mutate { state in
                let pool = Names.pool(of: name)
                guard state.pools[pool] != nil else { throw Failure("no such pool '\(pool)'") }
                var missing: [String] = []
                var current: String? = name
                while let n = current, state.datasets[n] == nil { missing.insert(n, at: 0); current = Names.parent(of: n) }
                let txg = state.nextTxg(pool: pool)
                for n in missing { state.datasets[n] = Dataset(name: n, guid: GUID.make(), createtxg: txg, creation: state.now()) }
                for (p, v) in props { state.datasets[name]!.local[p] = v }
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
            }
        case "dump":
            let state = try store.read { $0 }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            Out.out(String(decoding: try encoder.encode(state), as: UTF8.self) + "\n")
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
