import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One snapshot (full or incremental from `from`) inside a send.
struct SendItem {
    var fs: String
    var snapshot: Snapshot
    var from: Snapshot?
    var fromBookmark: Bookmark?
    var payloadLength: Int64
    var props: [String: String]?
    /// The stream's feature flags (`raw`, `compressed`, `largeblock`, `embed`).
    var flags: [String] = []
    /// What a raw stream carries of the dataset's key.
    var crypt: StreamCrypt?
    /// A non-raw send of an encrypted dataset whose key is not loaded (fails when it starts).
    var keyMissing = false

    /// The sent dataset is a volume: the stream says so (a receive makes a volume).
    var volume: Volume?

    var toname: String { "\(fs)@\(snapshot.name)" }
    var fromguid: UInt64 { from?.guid ?? fromBookmark?.guid ?? 0 }
    var fromShort: String { from.map { "@\($0.name)" } ?? fromBookmark.map { "#\($0.name)" } ?? "" }

    func begin(resumeOffset: Int64 = 0) -> StreamBegin {
        var b = StreamBegin(kind: fromguid == 0 ? "full" : "incremental", toname: toname, toguid: snapshot.guid,
                            creation: snapshot.creation, payloadLength: payloadLength,
                            referenced: snapshot.referenced, written: snapshot.written)
        b.fromguid = fromguid
        b.fromname = from.map { "\(fs)@\($0.name)" } ?? ""
        b.resumeOffset = resumeOffset
        b.props = props
        b.flags = flags
        b.compressRatio = snapshot.compressRatio
        b.crypt = crypt
        b.volume = volume
        return b
    }
}

/// Why a stream stopped early.
enum StreamStop: Error {
    case brokenPipe
    case ioError
    case truncated
}

/// Writes the stream to stdout, applying the send fault knobs (fail/kill/truncate/stall after N bytes,
/// corrupt byte N, rate limit) and calling `tick` after every write for progress lines.
final class StreamWriter {
    let fd: Int32 = 1
    private(set) var sent: Int64 = 0
    var failAfter: Int64?
    var killAfter: Int64?
    var killSignal: Int32 = SIGKILL
    var truncateAt: Int64?
    var stallAfter: Int64?
    var corruptAt: Int64?
    var rate: Double?
    var tick: () -> Void = {}
    /// Runs right before the process kills itself (to record the call).
    var beforeKill: () -> Void = {}
    private let started = Date()
    private var scratch = [UInt8](repeating: 0, count: StreamFormat.blockSize)

    init() { enlargePipe(fd) }

    func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard var p = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            if truncateAt == sent { throw StreamStop.truncated }
            if failAfter == sent { throw StreamStop.ioError }
            if killAfter == sent { beforeKill(); kill(getpid(), killSignal); pause() }
            if stallAfter == sent { while true { tick(); usleep(200_000) } }
            var n = remaining
            for threshold in [truncateAt, failAfter, killAfter, stallAfter] {
                if let t = threshold, t > sent { n = min(n, Int(t - sent)) }
            }
            if let rate, rate > 0 { n = min(n, max(4096, Int(rate / 20))) }
            if let c = corruptAt, c >= sent, c < sent + Int64(n) {
                n = min(n, scratch.count)
                scratch.withUnsafeMutableBytes { s in
                    s.baseAddress!.copyMemory(from: p, byteCount: n)
                    s[Int(c - sent)] ^= 0xff
                }
                try scratch.withUnsafeBytes { try writeAll($0.baseAddress!, n) }
            } else {
                try writeAll(p, n)
            }
            sent += Int64(n)
            p += n
            remaining -= n
            if let rate, rate > 0 {
                let due = Double(sent) / rate - Date().timeIntervalSince(started)
                if due > 0 { usleep(UInt32(min(due, 60) * 1_000_000)) }
            }
            tick()
        }
    }

    private func writeAll(_ p: UnsafeRawPointer, _ count: Int) throws {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, p + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw errno == EPIPE ? StreamStop.brokenPipe : StreamStop.ioError
            }
            done += n
        }
    }
}

/// `zfs send`.
enum SendCommand {
    static func scale(_ state: HostState) -> Double {
        if let s = ProcessInfo.processInfo.environment["ZFAKE_SEND_SCALE"].flatMap(Double.init) { return s }
        return state.sendScale ?? 1
    }

    static func run(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "DLPRbcehnpvVwsi:I:t:", legacy: "RDpvi:I:")
        if let token = options.value("t") {
            try resume(ctx, options, token: token)
            return
        }
        guard let target = options.operands.first else { throw ctx.usage("missing snapshot argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        guard target.contains("@") else { throw ctx.usage("argument must be a snapshot") }
        let dryRun = options.has("n")
        let (items, package) = try ctx.store.mutate { state -> ([SendItem], PackageHeader?) in
            let plan = try makePlan(ctx, options, target: target, state: state)
            if !dryRun {
                for item in plan.0 { register(&state, item, pid: getpid(), adding: true) }
            }
            return plan
        }
        defer {
            if !dryRun { unregister(ctx, items) }
        }
        try stream(ctx, options, items: items, package: package, resumeOffset: 0)
    }

    /// Resolves the snapshots to send (under the lock).
    static func makePlan(_ ctx: ZContext, _ options: Options, target: String, state: HostState) throws -> ([SendItem], PackageHeader?) {
        let (fs, snapName) = Names.split(target)
        guard let dataset = state.datasets[fs], let to = dataset.snapshots.first(where: { $0.name == snapName }) else {
            throw Failure(ctx.legacy ? "WARNING: could not send \(target): does not exist" : ctx.openError(target))
        }
        let incrementalFlag: Character? = options.has("I") ? "I" : (options.has("i") ? "i" : nil)
        var fromName: String?
        if let flag = incrementalFlag {
            var f = options.value(flag)!
            if !f.contains("@") && !f.contains("#") { f = "@" + f }
            if f.hasPrefix("@") || f.hasPrefix("#") { f = fs + f }
            fromName = f
        }
        let scale = self.scale(state)
        let features = StreamFeatures(options, legacy: ctx.legacy)
        let withProps = options.has("R") || options.has("p") || options.has("b")
        func props(_ d: Dataset) -> [String: String]? {
            guard withProps else { return nil }
            return sentProperties(d, state: state, raw: features.raw, receivedOnly: options.has("b"))
        }
        func payload(_ d: Dataset, _ from: UInt64?, _ to: Snapshot) -> Int64 {
            payloadBytes(d, from: from, to: to, scale: scale, compressed: features.compressed)
        }
        /// Items for one filesystem: from `from` (exclusive) to `to`, every snapshot or just the end.
        func items(_ d: Dataset, from: Snapshot?, bookmark: Bookmark?, to: Snapshot, all: Bool) -> [SendItem] {
            let baseTxg = from?.createtxg ?? bookmark?.createtxg
            var chain = d.snapshots.filter { ($0.createtxg > (baseTxg ?? 0) || (baseTxg == nil)) && $0.createtxg <= to.createtxg }
            if !all { chain = [to] }
            var result: [SendItem] = []
            var previous = from
            var previousBookmark = bookmark
            for s in chain {
                let base = previous?.createtxg ?? previousBookmark?.createtxg
                var item = SendItem(fs: d.name, snapshot: s, from: previous, fromBookmark: previousBookmark,
                                    payloadLength: payload(d, base, s), props: props(d))
                item.volume = d.volume
                features.apply(to: &item, state: state)
                result.append(item)
                previous = s
                previousBookmark = nil
            }
            return result
        }
        var from: Snapshot?
        var fromBookmark: Bookmark?
        if let fromName {
            let (ffs, fsnap) = Names.split(fromName)
            let short = fromName.contains("#") ? "#" + fsnap! : "@" + fsnap!
            if fromName.contains("#") && !ctx.legacy && incrementalFlag == "i" {
                fromBookmark = state.datasets[ffs]?.bookmarks.first { $0.name == fsnap }
            } else {
                from = state.datasets[ffs]?.snapshots.first { $0.name == fsnap }
            }
            if from == nil && fromBookmark == nil {
                if incrementalFlag == "I" {
                    throw Failure("WARNING: could not send \(target):\nincremental source (\(fromName)) does not exist")
                }
                throw Failure("warning: cannot send '\(target)': incremental source (\(short)) does not exist")
            }
            let baseTxg = from?.createtxg ?? fromBookmark!.createtxg
            if ffs != fs || baseTxg >= to.createtxg {
                if incrementalFlag == "I" {
                    throw Failure("WARNING: could not send \(target):\nincremental source (\(fromName)) is not earlier than it")
                }
                throw Failure("warning: cannot send '\(target)': not an earlier snapshot from the same fs")
            }
        }
        let all = incrementalFlag == "I"
        // Sends with properties (and -R) refuse encrypted datasets without -w (`send_iterate_fs`).
        if !ctx.legacy && !features.raw && (withProps || options.has("h")) {
            let covered = options.has("R") ? [fs] + state.descendants(of: fs) : [fs]
            if let encrypted = covered.first(where: { state.datasets[$0]?.crypt != nil
                && state.datasets[$0]!.snapshots.contains { $0.name == snapName } }) {
                throw Failure("cannot send \(target): encrypted dataset \(encrypted) may not be sent with properties without the raw flag\n"
                    + "warning: cannot send '\(target)': backup failed")
            }
        }
        if options.has("R") {
            var result: [SendItem] = []
            var fss: [String: [String: UInt64]] = [:]
            var encroots: [String] = []
            for name in [fs] + state.descendants(of: fs) {
                let d = state.datasets[name]!
                guard let childTo = d.snapshots.first(where: { $0.name == snapName }) else { continue }
                if state.isEncryptionRoot(name) { encroots.append(name) }
                fss[name] = Dictionary(d.snapshots.filter { $0.createtxg <= childTo.createtxg }.map { ($0.name, $0.guid) }) { a, _ in a }
                let childFrom = from.flatMap { f in d.snapshots.first { $0.name == f.name && $0.createtxg < childTo.createtxg } }
                if childFrom == nil {
                    result += items(d, from: nil, bookmark: nil, to: childTo, all: true)
                } else {
                    result += items(d, from: childFrom, bookmark: nil, to: childTo, all: all)
                }
            }
            var header = PackageHeader(topfs: fs, fromsnap: from?.name ?? "", tosnap: snapName!, recursive: true, fss: fss)
            header.raw = features.raw
            header.encroots = encroots
            return (result, header)
        }
        let list = items(dataset, from: from, bookmark: fromBookmark, to: to, all: from != nil ? all : false)
        if all {
            let snaps = Dictionary(dataset.snapshots.map { ($0.name, $0.guid) }) { a, _ in a }
            var header = PackageHeader(topfs: fs, fromsnap: from?.name ?? "", tosnap: snapName!, recursive: false, fss: [fs: snaps])
            header.raw = features.raw
            header.encroots = state.isEncryptionRoot(fs) ? [fs] : []
            return (list, header)
        }
        return (list, nil)
    }

    /// What a send with properties carries of a dataset (`send_iterate_prop`): every settable property
    /// set locally or received (the effective one; a masked received value is not sent), with `-b` only
    /// received ones; a raw send adds an encryption root's keylocation.
    static func sentProperties(_ d: Dataset, state: HostState, raw: Bool, receivedOnly: Bool) -> [String: String] {
        let masked = Set(d.masked ?? [])
        var result = d.received.filter { !masked.contains($0.key) }
        if !receivedOnly { result.merge(d.local) { $1 } }
        if raw, !receivedOnly, state.isEncryptionRoot(d.name), let wrapping = d.wrapping { result["keylocation"] = wrapping.location }
        return result
    }

    /// Payload bytes of a full (`from` nil) or incremental send: logical, or with -c/-w the compressed
    /// (physical) bytes, times the scale.
    static func payloadBytes(_ d: Dataset, from: UInt64?, to: Snapshot, scale: Double, compressed: Bool) -> Int64 {
        func bytes(_ logical: Int64, _ ratio: Double?) -> Int64 {
            let scaled = Int64((Double(logical) * scale).rounded())
            return compressed ? Compression.physical(scaled, ratio) : scaled
        }
        guard let from else { return bytes(to.referenced, to.compressRatio) }
        return d.snapshots.filter { $0.createtxg > from && $0.createtxg <= to.createtxg }
            .reduce(0) { $0 + bytes($1.written, $1.compressRatio) }
    }

    static func register(_ state: inout HostState, _ item: SendItem, pid: Int32, adding: Bool) {
        guard let i = state.datasets[item.fs]?.snapshots.firstIndex(where: { $0.guid == item.snapshot.guid }) else { return }
        state.datasets[item.fs]!.snapshots[i].senders.removeAll { $0 == pid || !processAlive($0) }
        if adding { state.datasets[item.fs]!.snapshots[i].senders.append(pid) }
    }

    static func unregister(_ ctx: ZContext, _ items: [SendItem]) {
        _ = try? ctx.store.mutate { state in
            for item in items { register(&state, item, pid: getpid(), adding: false) }
        }
    }

    /// Estimate lines as OpenZFS 2.2's send_print_verbose writes them. A single send (no `-R`, no `-I`,
    /// or a resume) goes through zfs_send_one and names its incremental source in full (`p/fs@a`,
    /// `p/fs#bm`); `-I`/`-R` name it short (`a` with -P, `@a` without). The human form leaves out
    /// ` estimated size is …` for a size of zero.
    static func estimates(_ ctx: ZContext, _ items: [SendItem], parsable: Bool, resumeOffset: Int64,
                          single: Bool = false) -> String {
        let factor = Double(ctx.fault("estimate-factor")?.parameter("factor") ?? "1") ?? 1
        var text = ""
        var total: Int64 = 0
        for item in items {
            let size = Int64((Double(max(0, item.payloadLength - resumeOffset)) * factor).rounded())
            total += size
            let fullFrom = item.fs + item.fromShort
            if parsable {
                text += item.fromguid == 0 ? "full\t\(item.toname)\t\(size)\n"
                    : "incremental\t\(single ? fullFrom : String(item.fromShort.dropFirst()))\t\(item.toname)\t\(size)\n"
            } else {
                text += item.fromguid == 0 ? "full send of \(item.toname)"
                    : "send from \(single ? fullFrom : item.fromShort) to \(item.toname)"
                text += size != 0 ? " estimated size is \(Human.size(size))\n" : "\n"
            }
        }
        text += parsable ? "size\t\(total)\n" : "total estimated size is \(Human.size(total))\n"
        return text
    }

    /// Writes the stream (or, with -n, only the estimates).
    static func stream(_ ctx: ZContext, _ options: Options, items: [SendItem], package: PackageHeader?, resumeOffset: Int64,
                       resumed: Bool = false) throws {
        let verbose = !ctx.legacy && (options.has("v") || options.has("P"))
        let parsable = options.has("P")
        let single = resumed || !(options.has("R") || options.has("I"))
        if options.has("n") {
            if verbose { Out.out(estimates(ctx, items, parsable: parsable, resumeOffset: resumeOffset, single: single)) }
            return
        }
        if !ctx.legacy && isatty(1) != 0 {
            throw Failure("Error: Stream can not be written to a terminal.\nYou must redirect standard output.")
        }
        if verbose { Out.err(estimates(ctx, items, parsable: parsable, resumeOffset: resumeOffset, single: single)) }
        let writer = StreamWriter()
        configure(writer, ctx)
        signal(SIGPIPE, SIG_IGN)
        var current = items.first?.toname ?? ""
        do {
            if let package { try writer.write(package.encoded()) }
            for item in items {
                current = item.toname
                if options.has("v") && !ctx.legacy {
                    if !parsable { Out.err("TIME        SENT   SNAPSHOT \(item.toname)\n") }
                    var last = Date()
                    let startedAt = writer.sent
                    writer.tick = {
                        let now = Date()
                        guard now.timeIntervalSince(last) >= 1 else { return }
                        last = now
                        let clock = Human.date(Int64(now.timeIntervalSince1970), "%H:%M:%S")
                        let bytes = writer.sent - startedAt
                        Out.err(parsable ? "\(clock)\t\(bytes)\t\(item.toname)\n"
                            : "\(clock)   \(Human.size(bytes, bytes: false).leftPad(5))   \(item.toname)\n")
                    }
                }
                if item.keyMissing {
                    let reason = package != nil || resumed ? "source key must be loaded" : "dataset key must be loaded"
                    throw Failure("warning: cannot send '\(item.toname)': \(reason)", code: resumed ? 255 : 1)
                }
                try sendOne(item, writer: writer, resumeOffset: item.toname == items.first?.toname ? resumeOffset : 0)
            }
            if package != nil { try writer.write(Data((StreamFormat.packageEnd + "\n").utf8)) }
        } catch StreamStop.truncated {
            return
        } catch StreamStop.ioError {
            throw Failure("warning: cannot send '\(current)': Input/output error")
        } catch StreamStop.brokenPipe {
            let mode = ctx.fault("sigpipe")?.parameter("mode") ?? (ctx.legacy ? "message" : "signal")
            if mode == "signal" {
                unregister(ctx, items)
                ctx.logCall(exitCode: 128 + SIGPIPE)
                signal(SIGPIPE, SIG_DFL)
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, SIGPIPE)
                sigprocmask(SIG_UNBLOCK, &set, nil)
                kill(getpid(), SIGPIPE)
                pause()
            }
            throw Failure("warning: cannot send '\(current)': Broken pipe")
        }
    }

    static func configure(_ writer: StreamWriter, _ ctx: ZContext) {
        func bytes(_ effect: String) -> Int64? { ctx.fault(effect).flatMap { JSONLine.int($0.parameter("bytes")) } }
        writer.failAfter = bytes("send-fail-after")
        writer.killAfter = bytes("send-kill-after")
        if let s = ctx.fault("send-kill-after")?.intParameter("signal") { writer.killSignal = Int32(s) }
        writer.truncateAt = bytes("send-truncate-at")
        writer.stallAfter = bytes("send-stall-after")
        writer.corruptAt = bytes("send-corrupt-at")
        writer.rate = ctx.fault("send-rate").flatMap { Double($0.parameter("bytes_per_second") ?? $0.parameter("rate") ?? "") }
        let killSignal = writer.killSignal
        writer.beforeKill = { ctx.logCall(exitCode: 128 + killSignal) }
    }

    /// One substream: begin record, generated payload, end record with the checksum.
    static func sendOne(_ item: SendItem, writer: StreamWriter, resumeOffset: Int64) throws {
        let begin = item.begin(resumeOffset: resumeOffset)
        try writer.write(begin.encoded())
        let source = PayloadSource(seed: item.snapshot.guid)
        var checksum = Checksum()
        var offset = resumeOffset
        while offset < item.payloadLength {
            let n = Int(min(Int64(StreamFormat.blockSize), item.payloadLength - offset))
            let window = source.window(offset: offset, length: n)
            checksum.update(window)
            try writer.write(window)
            offset += Int64(n)
        }
        let end: [String: Any] = ["bytes": max(0, item.payloadLength - resumeOffset),
                                  "checksum": String(checksum.finish(), radix: 16), "toguid": "\(item.snapshot.guid)"]
        try writer.write(Data(StreamFormat.endMagic.utf8) + JSONLine.encode(end))
    }

    /// `zfs send [-Penv] -t TOKEN`: the rest of an interrupted stream.
    static func resume(_ ctx: ZContext, _ options: Options, token: String) throws {
        for (flag, _) in options.list where !"tPVenv".contains(flag) {
            throw ctx.usage("invalid option '\(flag)'")
        }
        guard options.operands.isEmpty else { throw ctx.usage("too many arguments") }
        let contents: ResumeToken.Contents
        switch ResumeToken.decode(token) {
        case .success(let c): contents = c
        case .failure(let reason): throw Failure("cannot resume send: \(reason.message)", code: 255)
        }
        let dryRun = options.has("n")
        if options.has("v") {
            let text = ResumeToken.describe(contents)
            if dryRun { Out.out(text) } else { Out.err(text) }
        }
        let item = try ctx.store.mutate { state -> SendItem in
            let (fs, snapName) = Names.split(contents.toname)
            guard let d = state.datasets[fs], let to = d.snapshots.first(where: { $0.name == snapName }) else {
                throw Failure("cannot resume send: '\(contents.toname)' used in the initial send no longer exists", code: 255)
            }
            guard to.guid == contents.toguid else {
                throw Failure("cannot resume send: '\(contents.toname)' is no longer the same snapshot used in the initial send", code: 255)
            }
            var from: Snapshot?
            if contents.fromguid != 0 {
                from = d.snapshots.first { $0.guid == contents.fromguid }
                if from == nil && !d.bookmarks.contains(where: { $0.guid == contents.fromguid }) {
                    throw Failure("cannot resume send: incremental source 0x\(String(contents.fromguid, radix: 16)) no longer exists", code: 255)
                }
            }
            let scale = self.scale(state)
            let base = from?.createtxg ?? d.bookmarks.first { $0.guid == contents.fromguid }?.createtxg
            let features = StreamFeatures(token: contents.flags, options: options)
            var item = SendItem(fs: fs, snapshot: to, from: from,
                                payloadLength: payloadBytes(d, from: base, to: to, scale: scale, compressed: features.compressed), props: nil)
            item.volume = d.volume
            if from == nil && contents.fromguid != 0 {
                item.fromBookmark = d.bookmarks.first { $0.guid == contents.fromguid }
            }
            features.apply(to: &item, state: state)
            if !dryRun { register(&state, item, pid: getpid(), adding: true) }
            return item
        }
        defer { if !dryRun { unregister(ctx, [item]) } }
        try stream(ctx, options, items: [item], package: nil, resumeOffset: min(contents.bytes, item.payloadLength), resumed: true)
    }
}

/// The stream features a send asks for (`-w` implies `-Lec`) and what the stream then carries
/// (`setup_featureflags`): `compressed` with -c/-w, `raw` only for -w of encrypted data, `embed` never
/// from encrypted data, `largeblock` with -L/-w.
struct StreamFeatures {
    var raw = false
    var compressed = false
    var largeBlocks = false
    var embedded = false

    init(_ options: Options, legacy: Bool) {
        guard !legacy else { return }
        raw = options.has("w")
        compressed = raw || options.has("c")
        largeBlocks = raw || options.has("L")
        embedded = raw || options.has("e")
    }

    /// A resumed send re-applies the token's flags (and what the command line adds).
    init(token flags: [String], options: Options) {
        raw = flags.contains("rawok") || options.has("w")
        compressed = raw || flags.contains("compressok") || options.has("c")
        largeBlocks = raw || flags.contains("largeblockok") || options.has("L")
        embedded = flags.contains("embedok") || options.has("e")
    }

    func apply(to item: inout SendItem, state: HostState) {
        let encrypted = state.datasets[item.fs]?.crypt != nil
        var flags: [String] = []
        if largeBlocks { flags.append("largeblock") }
        if embedded && !encrypted { flags.append("embed") }
        if compressed { flags.append("compressed") }
        if raw && encrypted {
            flags.append("raw")
            item.crypt = state.streamCrypt(of: item.fs)
        }
        // Compressed, embedded or raw blocks may be lz4 blocks when the sender's pool uses lz4.
        if flags.contains(where: { ["embed", "compressed", "raw"].contains($0) }),
           state.pools[Names.pool(of: item.fs)]?.features["lz4_compress"] == "active" {
            flags.append("lz4")
        }
        item.flags = flags
        item.keyMissing = encrypted && !raw && !state.keyAvailable(item.fs)
    }
}
