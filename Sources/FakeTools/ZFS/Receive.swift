import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `zfs receive [-FhMnsuv] [-d|-e] [-o p=v].. [-x p].. target` and `zfs receive -A fs`.
///
/// Per substream: read the begin record; under the lock run the destination checks in OpenZFS's
/// order and mark the receive in flight; unlock; read and verify the payload; re-lock and commit
/// (or save `-s` state, or roll back).
enum ReceiveCommand {
    struct Flags {
        var force = false
        var dryRun = false
        var resumable = false
        var verbose = false
        var discardPool = false
        var lastOnly = false
        var setProps: [String: String] = [:]
        var exclude: Set<String> = []
        /// `-u`: mount nothing.
        var noMount = false
        /// The `-o`/`-x` properties in command-line order, as given and canonical (`zfs_setup_cmdline_props`).
        var cmdline: [(given: String, name: String, value: String?)] = []
        /// Key material for `-o keyformat=… -o keylocation=file:///…`, read before taking the lock.
        var keyMaterial: Result<[UInt8], Failure>?
    }

    /// What one receive command did so far, across the substreams of a package.
    final class Run {
        /// Filesystems whose snapshots `-F` already pruned to the package's.
        var pruned = Set<String>()
        /// Filesystems a substream was committed to.
        var received: [String] = []
        /// A filesystem was created (the mount step runs, as for a package).
        var createdNew = false
        /// The top filesystem of the receive (`top_zfs`).
        var top: String?
        /// Raw packages: each filesystem's keylocation as the sender had it (`recv_fix_encryption_hierarchy`).
        var keylocations: [String: String] = [:]
        /// Mounted filesystems a full stream replaced (`-F`): unmounted first, mounted again after.
        var remount: [String] = []
    }

    /// Where a substream lands, decided by the checks.
    struct Landing {
        var fs: String
        var snap: String
        var exists: Bool
        var skip = false
        var baseGUID: UInt64 = 0
        var createParents: [String] = []
        /// How a non-raw stream creating a filesystem encrypts it.
        var cryptPlan: CryptPlan?
        /// The properties the stream's list loses to `-x` of a non-inheritable property (canmount).
        var dropped: Set<String> = []
        /// Explicit inherits (`-x`, and `-o` below the top of a package).
        var inherits: Set<String> = []
        /// `-o` values set locally (top of the receive only).
        var local: [String: String] = [:]
    }

    static func run(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "FhMnsuvdeo:x:A", legacy: "vnFdue")
        if options.has("A") {
            try abort(ctx, options)
            return
        }
        guard let target = options.operands.first else { throw ctx.usage("missing snapshot argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        var flags = Flags()
        flags.force = options.has("F")
        flags.dryRun = options.has("n")
        flags.resumable = options.has("s")
        flags.verbose = options.has("v")
        flags.discardPool = options.has("d")
        flags.lastOnly = options.has("e")
        flags.noMount = options.has("u") && !ctx.legacy
        if flags.discardPool && flags.lastOnly { throw ctx.usage("-d and -e cannot be used together") }
        for (flag, argument) in options.list where flag == "o" || flag == "x" {
            let assignment = argument ?? ""
            if flag == "o" {
                guard let eq = assignment.firstIndex(of: "=") else { throw ctx.usage("missing '=' for property=value argument") }
                let given = String(assignment[..<eq])
                switch PropertySetter.validate(given, String(assignment[assignment.index(after: eq)...]),
                                               legacy: false, forSnapshot: false, creating: true) {
                case .success(let (p, v)):
                    flags.setProps[p] = v
                    flags.cmdline.append((given, p, v))
                case .failure(let reason): throw Failure("cannot receive: \(reason.message)")
                }
            } else {
                guard assignment.contains(":") ? Names.isValidUserProperty(assignment)
                        : PropertyTable.canonical(assignment, legacy: false) != nil else {
                    throw Failure("cannot receive: invalid property '\(assignment)'")
                }
                let canonical = PropertyTable.canonical(assignment, legacy: false) ?? assignment
                flags.exclude.insert(canonical)
                flags.cmdline.append((assignment, canonical, nil))
            }
        }
        let crypto = flags.setProps.filter { PropertyTable.encryptionProperties.contains($0.key) }
        if let source = CryptPlan.keySource(crypto), source.location != "prompt" {
            flags.keyMaterial = Encryption.material(location: source.location, format: source.format, dataset: nil, newKey: true)
        }
        if let rule = ctx.fault("recv-fail"), (rule.parameter("at") ?? "start") == "start" {
            throw Failure(rule.parameter("message") ?? "cannot receive: Input/output error", code: Int32(rule.intParameter("exit") ?? 1))
        }
        let reader = StreamReader(fd: 0)
        if let n = ctx.fault("recv-fail-after").flatMap({ JSONLine.int($0.parameter("bytes")) }) { reader.limit = n }
        reader.rate = ctx.fault("recv-rate").flatMap { Double($0.parameter("bytes_per_second") ?? $0.parameter("rate") ?? "") }

        let head = reader.peek(16)
        if head.count < 16 { throw Failure("cannot receive: failed to read from stream") }
        let isPackage = head.starts(with: Data(StreamFormat.packageMagic.utf8))
        guard isPackage || head.starts(with: Data(StreamFormat.beginMagic.utf8)) else {
            throw Failure("cannot receive: invalid stream (bad magic number)")
        }
        let (firstLine, complete) = reader.readLine()
        guard complete else { throw Failure("cannot receive: failed to read from stream") }
        let run = Run()
        var package: PackageHeader?
        if !isPackage {
            guard let begin = parseBegin(firstLine) else { throw Failure("cannot receive: invalid stream (bad magic number)") }
            try receiveOne(ctx, flags, begin: begin, beginBytes: firstLine.count, reader: reader, target: target, package: nil, run: run)
        } else {
            guard let json = JSONLine.decode(firstLine.dropFirst(StreamFormat.packageMagic.utf8.count)),
                  let header = PackageHeader(json: json) else {
                throw Failure("cannot receive: invalid stream (bad magic number)")
            }
            package = header
            if target.contains("@") { throw Failure("cannot receive: cannot specify snapshot name for multi-snapshot stream") }
            while true {
                let (line, complete) = reader.readLine()
                if complete && line == Data((StreamFormat.packageEnd + "\n").utf8) { break }
                guard complete, let begin = parseBegin(line) else {
                    throw Failure("cannot receive: \(ctx.legacy ? "invalid backup stream" : "incomplete stream")")
                }
                try receiveOne(ctx, flags, begin: begin, beginBytes: line.count, reader: reader, target: target,
                               package: header, run: run)
            }
        }
        let fixRoots = package.map { $0.raw && $0.recursive } ?? false
        let mountStep = !flags.noMount && (run.createdNew || package != nil || !run.remount.isEmpty)
        if !ctx.legacy && !flags.dryRun && !run.received.isEmpty && (fixRoots || mountStep) {
            try ctx.store.mutate { state in
                if fixRoots, let package { fixEncryptionHierarchy(&state, package: package, run: run) }
                // The mount step (OpenZFS 2.2.7 `zfs_receive`): a changelist of the top filesystem for
                // its mountpoint, gathered with CL_GATHER_MOUNT_ALWAYS: the top and the descendants whose
                // mountpoint is default or inherited (a child with a received or local mountpoint is left
                // out, and what is below it); each mounts unless canmount=off (noauto mounts too).
                if mountStep {
                    let targets = run.createdNew || package != nil ? run.received : run.remount
                    if let top = targets.filter({ state.datasets[$0] != nil }).min(by: { $0.count < $1.count }) {
                        for fs in Mounts.inheritingTree(state, top).reversed() where state.datasets[fs]?.mounted != true {
                            Mounts.mountAfterReceive(&state, fs)
                        }
                    }
                }
            }
        }
        if let rule = ctx.fault("recv-fail"), rule.parameter("at") == "end" {
            throw Failure(rule.parameter("message") ?? "cannot receive: Input/output error", code: Int32(rule.intParameter("exit") ?? 1))
        }
    }

    static func parseBegin(_ line: Data) -> StreamBegin? {
        guard line.starts(with: Data(StreamFormat.beginMagic.utf8)),
              let json = JSONLine.decode(line.dropFirst(StreamFormat.beginMagic.utf8.count)) else { return nil }
        return StreamBegin(json: json)
    }

    /// The destination filesystem and snapshot name of a substream.
    static func mapName(_ begin: StreamBegin, target: String, flags: Flags, package: PackageHeader?) -> (String, String) {
        let (sourceFS, sourceSnap) = Names.split(begin.toname)
        let snap = sourceSnap ?? ""
        if target.contains("@") {
            let (fs, s) = Names.split(target)
            return (fs, s ?? snap)
        }
        let top = package?.topfs ?? sourceFS
        var base = target
        if flags.discardPool {
            let components = top.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            if !components.isEmpty { base = target + "/" + components.joined(separator: "/") }
        } else if flags.lastOnly {
            base = target + "/" + (top.split(separator: "/").last.map(String.init) ?? top)
        }
        let relative = sourceFS.dropFirst(top.count)
        return (base + relative, snap)
    }

    static func prefix(_ begin: StreamBegin) -> String {
        if begin.resumeOffset > 0 { return "cannot receive resume stream" }
        return begin.isIncremental ? "cannot receive incremental stream" : "cannot receive new filesystem stream"
    }

    static func receiveOne(_ ctx: ZContext, _ flags: Flags, begin: StreamBegin, beginBytes: Int, reader: StreamReader,
                           target: String, package: PackageHeader?, run: Run) throws {
        let started = Date()
        let (fs, snap) = mapName(begin, target: target, flags: flags, package: package)
        if run.top == nil { run.top = fs }
        let prefix = self.prefix(begin)
        let pid = getpid()
        let landing = try ctx.store.mutate { state -> Landing in
            let landing = try check(ctx, state: state, flags: flags, begin: begin, fs: fs, snap: snap, prefix: prefix,
                                    isTop: run.top == fs, recursive: package?.recursive ?? false, withProps: begin.props != nil)
            if !landing.skip && !flags.dryRun {
                if landing.exists { state.datasets[fs]!.receiver = pid } else { state.pendingCreates[fs] = pid }
            }
            return landing
        }
        if flags.verbose && !landing.skip {
            Out.out("\(flags.dryRun ? "would receive" : "receiving") \(begin.isIncremental ? "incremental" : "full") stream of \(begin.toname) into \(fs)@\(snap)\n")
        }
        // Stream without the lock.
        let expected = max(0, begin.payloadLength - begin.resumeOffset)
        var checksum = Checksum()
        let enospcAt = ctx.fault("recv-enospc-after").flatMap { JSONLine.int($0.parameter("bytes")) }
        var outOfSpace = false
        var want = expected
        if let at = enospcAt, reader.consumed + want > at {
            want = max(0, at - reader.consumed)
            outOfSpace = true
        }
        let got = reader.consume(want) { checksum.update($0) }
        var outcome = "ok"
        var endBytes = 0
        if outOfSpace && got == want {
            outcome = "enospc"
        } else if got < expected {
            outcome = "truncated"
        } else {
            let (line, complete) = reader.readLine(maximum: 4096)
            endBytes = line.count
            if !complete {
                outcome = "truncated"
            } else if !line.starts(with: Data(StreamFormat.endMagic.utf8)) {
                outcome = "corrupt"
            } else {
                let end = JSONLine.decode(line.dropFirst(StreamFormat.endMagic.utf8.count)) ?? [:]
                let sum = (end["checksum"] as? String).flatMap { UInt64($0, radix: 16) }
                if JSONLine.int(end["bytes"]) != expected || sum != checksum.finish() || (end["toguid"] as? String) != "\(begin.toguid)" {
                    outcome = "corrupt"
                }
            }
        }
        if landing.skip || flags.dryRun {
            if outcome == "ok" || landing.skip { return }
        }
        // The state is saved even when the receive fails: the in-flight marker goes, `-s` state stays.
        let failure = try ctx.store.mutate { state -> Failure? in
            if state.datasets[fs]?.receiver == pid { state.datasets[fs]!.receiver = nil }
            if state.pendingCreates[fs] == pid { state.pendingCreates[fs] = nil }
            var committed = state
            do {
                try settle(ctx, &committed, flags: flags, begin: begin, landing: landing, prefix: prefix, package: package,
                           run: run, outcome: outcome, got: got)
                state = committed
                return nil
            } catch let failure as Failure {
                if flags.resumable && !ctx.legacy && outcome != "ok" && outcome != "enospc" { state = committed }
                return failure
            }
        }
        if let failure { throw failure }
        if flags.verbose {
            let seconds = Date().timeIntervalSince(started)
            let total = Int64(beginBytes) + got + Int64(endBytes)
            let rate = Int64(Double(total) / max(seconds, 0.000001))
            let modern = !ctx.legacy && ctx.version >= ZFSVersion(2, 2, 0)
            let time = modern ? String(format: "%.2f", seconds) : "\(Int64(seconds.rounded(.up)))"
            Out.out("received \(Human.size(total)) stream in \(time) seconds (\(Human.size(rate))/sec)\n")
        }
    }

    /// Commits a verified substream, or turns a failed one into its error (saving `-s` state first).
    static func settle(_ ctx: ZContext, _ state: inout HostState, flags: Flags, begin: StreamBegin, landing: Landing,
                       prefix: String, package: PackageHeader?, run: Run, outcome: String, got: Int64) throws {
            switch outcome {
            case "ok":
                try commit(ctx, &state, flags: flags, begin: begin, landing: landing, prefix: prefix, package: package, run: run)
            case "enospc":
                throw Failure("\(prefix): out of space")
            default:
                if flags.resumable && !ctx.legacy {
                    let received = outcome == "truncated" ? got : 0
                    let token = savePartial(&state, begin: begin, landing: landing, bytes: begin.resumeOffset + received)
                    throw Failure("\(prefix): checksum mismatch or incomplete stream.\nPartially received snapshot is saved.\n"
                        + "A resuming stream can be generated on the sending system by running:\n    zfs send -t \(token)")
                }
                if ctx.legacy {
                    throw Failure(outcome == "truncated" ? "\(prefix): invalid backup stream" : "\(prefix): invalid stream (checksum mismatch)")
                }
                if ctx.version < ZFSVersion(2, 0, 0) { throw Failure("\(prefix): checksum mismatch or incomplete stream") }
                throw Failure(outcome == "truncated" ? "\(prefix): incomplete stream" : "\(prefix): checksum mismatch")
            }
    }

    /// The destination checks, in OpenZFS's order (reference §A9, §A13): libzfs's own checks of the
    /// destination, the `-o`/`-x` properties, then the kernel's (stream features, keys, resume state,
    /// target snapshot, base, modifications).
    static func check(_ ctx: ZContext, state: HostState, flags: Flags, begin: StreamBegin, fs: String, snap: String,
                      prefix: String, isTop: Bool, recursive: Bool, withProps: Bool) throws -> Landing {
        let resuming = begin.resumeOffset > 0
        let wantsNewFS = !begin.isIncremental && !resuming
        let raw = begin.isRaw && !ctx.legacy
        var landing = Landing(fs: fs, snap: snap, exists: state.datasets[fs] != nil)
        // Existing-destination checks.
        if !landing.exists {
            if begin.isIncremental || resuming {
                throw Failure("\(prefix): destination '\(fs)' does not exist")
            }
            var parent = Names.parent(of: fs)
            if flags.discardPool || flags.lastOnly {
                while let p = parent, state.datasets[p] == nil, Names.parent(of: p) != nil {
                    landing.createParents.insert(p, at: 0)
                    parent = Names.parent(of: p)
                }
            }
            if let p = parent, state.datasets[p] == nil {
                if ctx.legacy { throw Failure("\(ctx.openError(fs))\n\(prefix): dataset does not exist") }
                throw Failure("\(ctx.openError(p))\n\(prefix): unable to restore to destination")
            }
            if parent == nil, state.pools[fs] == nil {
                throw Failure("\(ctx.openError(fs))\n\(prefix): unable to restore to destination")
            }
        } else if !ctx.legacy || wantsNewFS {
            let d = state.datasets[fs]!
            if wantsNewFS {
                if !flags.force { throw Failure("\(prefix): destination '\(fs)' exists\nmust specify -F to overwrite it") }
                if let first = d.snapshots.first {
                    throw Failure("\(prefix): destination has snapshots (eg. \(fs)@\(first.name))\nmust destroy them to overwrite it")
                }
            }
            if !ctx.legacy {
                let encrypted = d.crypt != nil
                if !wantsNewFS && !encrypted && raw {
                    throw Failure("\(prefix): cannot perform raw receive on top of existing unencrypted dataset")
                }
                if wantsNewFS && flags.force && (encrypted || raw) {
                    throw Failure("\(prefix): zfs receive -F cannot be used to destroy an encrypted filesystem or overwrite an "
                        + "unencrypted one with an encrypted one")
                }
                // A full stream over an existing filesystem unmounts it (and what is below it) first.
                if wantsNewFS && !flags.dryRun,
                   let busy = ([fs] + state.descendants(of: fs)).first(where: { Mounts.isMounted(state, $0) && state.datasets[$0]?.busy == true }) {
                    throw Failure("cannot unmount '\(Mounts.mountpoint(state, busy)?.raw ?? busy)': pool or dataset is busy")
                }
            }
        }
        if !ctx.legacy { try cmdlineProperties(state: state, flags: flags, begin: begin, landing: &landing, prefix: prefix, isTop: isTop,
                                               recursive: recursive, wantsNewFS: wantsNewFS) }
        // The kernel: stream features the pool must have.
        if !ctx.legacy, let pool = state.pools[Names.pool(of: fs)] {
            var needed: [String] = []
            if begin.flags.contains("raw") { needed.append("encryption") }
            if begin.flags.contains("embed") { needed.append("embedded_data") }
            if begin.flags.contains("largeblock") { needed.append("large_blocks") }
            if begin.flags.contains("lz4") { needed.append("lz4_compress") }
            if needed.contains(where: { (pool.features[$0] ?? "disabled") == "disabled" }) {
                throw Failure("\(prefix): pool must be upgraded to receive this stream.")
            }
        }
        let embedded = begin.flags.contains("embed")
        guard landing.exists else {
            if let pid = state.pendingCreates[fs], processAlive(pid) { throw Failure("\(prefix): dataset is busy") }
            if !ctx.legacy && !raw {
                landing.cryptPlan = try newFilesystemCrypt(state, flags: flags, fs: fs, prefix: prefix, isTop: isTop,
                                                           withProps: withProps, embedded: embedded)
            }
            return landing
        }
        let d = state.datasets[fs]!
        if !ctx.legacy && !raw && d.crypt != nil && !state.keyAvailable(fs) {
            throw Failure("\(prefix): inherited key must be loaded")
        }
        if let pid = d.receiver, processAlive(pid) { throw Failure("\(prefix): dataset is busy") }
        // Partial state.
        if resuming {
            guard let p = d.partial, p.toguid == begin.toguid, p.fromguid == begin.fromguid, p.bytes == begin.resumeOffset else {
                throw Failure("\(prefix): kernel modules must be upgraded to receive this stream.")
            }
            landing.snap = p.snapshotName
            landing.baseGUID = p.fromguid
            if p.fromguid != 0, !d.snapshots.contains(where: { $0.guid == p.fromguid }) {
                throw Failure("\(prefix): most recent snapshot of \(fs) does not\nmatch incremental source")
            }
            return landing
        }
        if d.partial != nil {
            throw Failure("\(prefix): destination \(fs) contains partially-complete state from \"zfs receive -s\".")
        }
        // Target snapshot already there.
        if let existing = d.snapshots.first(where: { $0.name == snap }) {
            if existing.guid == begin.toguid { landing.skip = true; return landing }
            throw Failure("cannot restore to \(fs)@\(snap): destination already exists")
        }
        if wantsNewFS && !ctx.legacy && !raw {
            // `-F` over an existing filesystem: the same encryption checks as for a new one.
            landing.cryptPlan = try newFilesystemCrypt(state, flags: flags, fs: fs, prefix: prefix, isTop: isTop,
                                                       withProps: withProps, embedded: embedded)
        }
        guard begin.isIncremental else { return landing }
        if !ctx.legacy && !raw && d.crypt != nil && embedded {
            throw Failure("\(prefix): incompatible embedded data stream feature with encrypted receive.")
        }
        // Base snapshot, then modifications since it.
        guard let baseIndex = d.snapshots.firstIndex(where: { $0.guid == begin.fromguid }) else {
            throw Failure("\(prefix): most recent snapshot of \(fs) does not\nmatch incremental source")
        }
        landing.baseGUID = begin.fromguid
        let newer = d.snapshots[(baseIndex + 1)...]
        if !flags.force {
            if d.modified || !newer.isEmpty {
                throw Failure("\(prefix): destination \(fs) has been modified\nsince most recent snapshot")
            }
        } else if newer.contains(where: { !$0.holds.isEmpty || $0.senders.contains(where: processAlive) }) {
            throw Failure("\(prefix): dataset is busy")
        }
        // A raw stream's key must be the one the destination has (checked as the stream starts).
        if raw, let crypt = d.crypt, let streamCrypt = begin.crypt, streamCrypt.keyGUID != crypt.keyGUID {
            throw Failure("\(prefix): encryption key does not match existing key")
        }
        return landing
    }

    /// `zfs_setup_cmdline_props`: what `-o` and `-x` do to this filesystem, and their refusals.
    static func cmdlineProperties(state: HostState, flags: Flags, begin: StreamBegin, landing: inout Landing, prefix: String,
                                  isTop: Bool, recursive: Bool, wantsNewFS: Bool) throws {
        let raw = begin.isRaw
        let d = state.datasets[landing.fs]
        for (given, name, value) in flags.cmdline {
            let crypto = ["encryption", "keyformat", "pbkdf2iters"].contains(name)
            if crypto && raw {
                throw Failure("\(prefix): encryption property '\(given)' cannot be set or excluded for raw streams.")
            }
            if crypto && !wantsNewFS && recursive && !raw { continue }
            if crypto && !wantsNewFS && value != nil {
                throw Failure("\(prefix): encryption property '\(given)' cannot be set for incremental streams.")
            }
            if PropertyTable.encryptionProperties.contains(name) { continue }
            if value == nil {
                // -x: an explicit inherit, unless the property is set locally; a property that cannot be
                // inherited (canmount) is dropped from the stream's list instead.
                if d?.local[name] != nil { continue }
                if !name.contains(":"), PropertyTable.byName[name]?.inheritable == false {
                    landing.dropped.insert(name)
                } else {
                    landing.inherits.insert(name)
                }
            } else if isTop {
                landing.local[name] = value
            } else {
                landing.inherits.insert(name)
            }
        }
    }

    /// How a non-raw stream encrypts the filesystem it creates: `zfs_crypto_create` with the `-o`
    /// properties (top of the receive only), a properties stream's implied `encryption=off` (unless
    /// `-o`/`-x encryption`), then the kernel's checks (an inherited key must be loaded; no embedded data
    /// into an encrypted filesystem).
    static func newFilesystemCrypt(_ state: HostState, flags: Flags, fs: String, prefix: String, isTop: Bool,
                                   withProps: Bool, embedded: Bool) throws -> CryptPlan {
        var props = isTop ? flags.setProps.filter { PropertyTable.encryptionProperties.contains($0.key) } : [:]
        let impliedOff = withProps && !flags.cmdline.contains { $0.name == "encryption" }
        if impliedOff && props.isEmpty { return .off }
        if impliedOff { props["encryption"] = "off" }
        let plan: CryptPlan
        switch CryptPlan.decide(state: state, parent: Names.parent(of: fs), props: props, stdinAvailable: false,
                                material: flags.keyMaterial) {
        case .success(let decided): plan = decided
        case .failure(.reason(let reason)): throw Failure("\(prefix): \(reason)")
        case .failure(.keyNotLoaded): throw Failure("\(prefix): inherited key must be loaded")
        }
        if case .off = plan {} else if embedded {
            throw Failure("\(prefix): incompatible embedded data stream feature with encrypted receive.")
        }
        return plan
    }

    /// Applies a verified substream.
    static func commit(_ ctx: ZContext, _ state: inout HostState, flags: Flags, begin: StreamBegin, landing: Landing,
                       prefix: String, package: PackageHeader?, run: Run) throws {
        let fs = landing.fs
        let pool = Names.pool(of: fs)
        guard state.pools[pool] != nil else { throw Failure("\(prefix): dataset does not exist") }
        var d = state.datasets[fs]
        // Space: the filesystem's referenced data becomes the stream's (as stored: compressed).
        let growth = Compression.physical(begin.referenced, begin.compressRatio)
            - (d.map { Compression.physical($0.referenced, $0.compressRatio) } ?? 0)
        if growth > 0 && state.allocated(pool: pool) + growth > state.pools[pool]!.size {
            if var existing = d, existing.partial?.createdByReceive == true {
                existing.partial = nil
                state.datasets[fs] = existing.inconsistent ? nil : existing
            }
            throw Failure("\(prefix): out of space")
        }
        let txg = state.nextTxg(pool: pool)
        var created = false
        if d == nil {
            for parent in landing.createParents where state.datasets[parent] == nil {
                var made = Dataset(name: parent, guid: GUID.make(), createtxg: txg, creation: state.now())
                if !ctx.legacy, case .success(let plan) = CryptPlan.decide(state: state, parent: Names.parent(of: parent), props: [:],
                                                                           stdinAvailable: false, material: nil) {
                    plan.apply(to: &made)
                }
                state.datasets[parent] = made
                Mounts.mountNew(&state, parent, legacy: ctx.legacy)
            }
            d = Dataset(name: fs, guid: GUID.make(), createtxg: txg, creation: state.now())
            d!.volume = begin.volume
            created = true
        }
        var dataset = d!
        let wantsNewFS = !begin.isIncremental && begin.resumeOffset == 0
        if !ctx.legacy && wantsNewFS {
            applyStreamEncryption(&dataset, begin: begin, plan: landing.cryptPlan)
            // `-F` over an existing filesystem unmounts it first; the mount step mounts it again.
            if dataset.mounted == true { run.remount.append(fs) }
            dataset.mounted = nil
        }
        if !ctx.legacy, begin.isRaw, let streamCrypt = begin.crypt, dataset.crypt?.root == fs, var wrapping = dataset.wrapping {
            // A raw stream brings the sender's current wrapping of the key.
            wrapping.format = streamCrypt.format
            wrapping.iters = streamCrypt.iters
            wrapping.salt = streamCrypt.salt
            wrapping.secret = streamCrypt.secret
            dataset.wrapping = wrapping
        }
        if begin.isIncremental {
            if flags.force {
                if let package, let sourceSnaps = package.fss[Names.split(begin.toname).0], !run.pruned.contains(fs) {
                    let keep = Set(sourceSnaps.values)
                    dataset.snapshots.removeAll { !keep.contains($0.guid) && $0.holds.isEmpty && $0.guid != landing.baseGUID }
                    run.pruned.insert(fs)
                }
                if let baseIndex = dataset.snapshots.firstIndex(where: { $0.guid == landing.baseGUID }) {
                    let newer = dataset.snapshots[(baseIndex + 1)...]
                    if newer.contains(where: { !$0.holds.isEmpty }) { throw Failure("\(prefix): dataset is busy") }
                    dataset.snapshots.removeSubrange((baseIndex + 1)...)
                }
            }
            guard dataset.snapshots.contains(where: { $0.guid == landing.baseGUID }) else {
                throw Failure("\(prefix): most recent snapshot of \(fs) does not\nmatch incremental source")
            }
        } else if begin.resumeOffset == 0 {
            dataset.snapshots = []
        }
        var snapshot = Snapshot(name: landing.snap, guid: begin.toguid, createtxg: txg, creation: begin.creation,
                                referenced: begin.referenced, written: begin.isIncremental ? begin.written : begin.referenced)
        snapshot.used = 0
        snapshot.compressRatio = begin.compressRatio
        dataset.snapshots.append(snapshot)
        dataset.snapshotsChanged = state.now()
        dataset.referenced = begin.referenced
        dataset.compressRatio = begin.compressRatio
        dataset.written = 0
        dataset.modified = false
        dataset.inconsistent = false
        dataset.partial = nil
        dataset.receiver = nil
        dataset.lastWriteTxg = txg
        if ctx.legacy {
            if let props = begin.props { dataset.received = props.filter { !flags.exclude.contains($0.key) } }
            for p in flags.exclude { dataset.received[p] = nil }
            for (p, v) in flags.setProps { dataset.local[p] = v }
        } else {
            if var props = begin.props {
                // A raw package's keylocation goes to the encryption roots afterwards; canmount under -x is dropped.
                if let location = props.removeValue(forKey: "keylocation") {
                    if package?.raw == true {
                        run.keylocations[fs] = location
                    } else if begin.crypt?.isRoot == true, dataset.crypt?.root == fs {
                        // A raw `-p` stream of an encryption root: its keylocation as the sender has it.
                        dataset.wrapping?.location = location
                    }
                }
                for p in landing.dropped { props[p] = nil }
                dataset.received = props
            }
            var masked = Set(dataset.masked ?? [])
            for p in landing.inherits {
                masked.insert(p)
                dataset.local[p] = nil
            }
            for (p, v) in landing.local {
                dataset.local[p] = v
                masked.remove(p)
            }
            dataset.masked = masked.isEmpty ? nil : masked.sorted()
            if run.top == fs, let location = flags.setProps["keylocation"], dataset.crypt?.root == fs, location != "none" {
                dataset.wrapping?.location = location
            }
        }
        state.datasets[fs] = dataset
        if !run.received.contains(fs) { run.received.append(fs) }
        if created || begin.resumeOffset > 0 && d?.partial?.createdByReceive == true { run.createdNew = true }
    }

    /// The encryption of a filesystem a full stream creates: a raw stream makes it an encryption root with
    /// the sender's key (not loaded, keylocation prompt); otherwise as the checks decided.
    static func applyStreamEncryption(_ dataset: inout Dataset, begin: StreamBegin, plan: CryptPlan?) {
        if begin.isRaw, let streamCrypt = begin.crypt {
            dataset.crypt = DatasetCrypt(suite: streamCrypt.suite, root: dataset.name, keyGUID: streamCrypt.keyGUID)
            dataset.wrapping = WrappingKey(format: streamCrypt.format, location: "prompt", iters: streamCrypt.iters,
                                           salt: streamCrypt.salt, secret: streamCrypt.secret, loaded: false)
        } else if let plan {
            plan.apply(to: &dataset)
        }
    }

    /// `recv_fix_encryption_hierarchy` after a raw `-R` package: the sender's encryption roots become
    /// roots again with the sender's keylocation; the others (but the top) inherit their parent's key.
    static func fixEncryptionHierarchy(_ state: inout HostState, package: PackageHeader, run: Run) {
        let senderRoots = Set(package.encroots)
        for fs in run.received.sorted(by: Ordering.names) {
            guard let crypt = state.datasets[fs]?.crypt else { continue }
            let top = package.topfs
            let sourceName = top + fs.dropFirst((run.top ?? fs).count)
            if senderRoots.contains(sourceName) {
                if crypt.root != fs, let wrapping = state.wrapping(of: fs) {
                    for name in [fs] + state.descendants(of: fs) where state.datasets[name]?.crypt?.root == crypt.root {
                        state.datasets[name]!.crypt!.root = fs
                    }
                    state.datasets[fs]!.wrapping = wrapping
                }
                if let location = run.keylocations[fs] { state.datasets[fs]!.wrapping?.location = location }
            } else if crypt.root == fs, fs != run.top, let parent = Names.parent(of: fs), let parentCrypt = state.datasets[parent]?.crypt {
                for name in [fs] + state.descendants(of: fs) where state.datasets[name]?.crypt?.root == fs {
                    state.datasets[name]!.crypt!.root = parentCrypt.root
                }
                state.datasets[fs]!.wrapping = nil
            }
        }
    }

    /// Saves `-s` state and returns the resume token.
    static func savePartial(_ state: inout HostState, begin: StreamBegin, landing: Landing, bytes: Int64) -> String {
        let fs = landing.fs
        var created = false
        if state.datasets[fs] == nil {
            let pool = Names.pool(of: fs)
            let txg = state.nextTxg(pool: pool)
            var d = Dataset(name: fs, guid: GUID.make(), createtxg: txg, creation: state.now())
            d.volume = begin.volume
            d.inconsistent = true
            applyStreamEncryption(&d, begin: begin, plan: landing.cryptPlan)
            state.datasets[fs] = d
            created = true
        } else if let existing = state.datasets[fs]!.partial {
            created = existing.createdByReceive
        }
        let partial = PartialReceive(
            toname: begin.toname, toguid: begin.toguid, fromguid: begin.fromguid, fromname: begin.fromname,
            kind: begin.kind, bytes: bytes, payloadLength: begin.payloadLength, creation: begin.creation,
            referenced: begin.referenced, written: begin.written, props: begin.props ?? [:],
            snapshotName: landing.snap, createdByReceive: created, flags: begin.flags.isEmpty ? nil : begin.flags,
            compressRatio: begin.compressRatio, crypt: begin.crypt)
        state.datasets[fs]!.partial = partial
        return ResumeToken.encode(ResumeToken.Contents(partial: partial))
    }

    /// `zfs receive -A fs`: drops the partial state of an interrupted `-s` receive.
    static func abort(_ ctx: ZContext, _ options: Options) throws {
        guard let fs = options.operands.first else { throw ctx.usage("missing snapshot argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        try ctx.store.mutate { state in
            guard let d = state.datasets[fs] else {
                throw Failure(ctx.openError(fs) + "\n" + Usage.zfsCommandUsage("receive", legacy: false), code: 2)
            }
            guard let partial = d.partial else {
                throw Failure("'\(fs)' does not have any resumable receive state to abort")
            }
            if partial.createdByReceive {
                state.datasets[fs] = nil
            } else {
                state.datasets[fs]!.partial = nil
            }
            _ = state.nextTxg(pool: Names.pool(of: fs))
        }
    }
}
