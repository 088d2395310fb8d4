import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The zfs state of one simulated host, stored as JSON in `hosts/<host>.json`.
struct HostState: Codable {
    /// The host runs zfs-fuse (pool version 23, old command set). Kept here because ssh drops the environment.
    var legacy: Bool = false
    /// Fixed clock (epoch seconds) for creation times and hold timestamps; nil = real time.
    var clock: Int64?
    /// Multiplies send payload sizes (throughput tests send gigabytes from small datasets).
    var sendScale: Double?
    var pools: [String: Pool] = [:]
    /// Filesystems by full name, pool roots included.
    var datasets: [String: Dataset] = [:]
    /// Receives creating a new filesystem that is still streaming: name → pid.
    var pendingCreates: [String: Int32] = [:]
}

struct Pool: Codable {
    var name: String
    var guid: UInt64
    var size: Int64
    /// 5000 for feature-flag pools, the legacy number (23) otherwise.
    var version: Int
    var txg: UInt64
    var features: [String: String]
    /// The file the pool stands on, as `zpool status` names its vdev; nil reads as `/var/tmp/POOL.img`.
    var vdev: String?
}

struct Dataset: Codable {
    var name: String
    var guid: UInt64
    var createtxg: UInt64
    var creation: Int64
    /// Locally set properties (native and user).
    var local: [String: String] = [:]
    /// Properties set by `zfs receive`.
    var received: [String: String] = [:]
    var referenced: Int64 = 0
    /// Bytes written since the last snapshot.
    var written: Int64 = 0
    /// Changed since the most recent snapshot (an incremental receive needs `-F`).
    var modified: Bool = false
    /// Txg of the last change.
    var lastWriteTxg: UInt64 = 0
    var inconsistent: Bool = false
    /// State left by an interrupted `zfs receive -s`.
    var partial: PartialReceive?
    /// Pid of a receive streaming into this filesystem.
    var receiver: Int32?
    var snapshots: [Snapshot] = []
    var bookmarks: [Bookmark] = []
    /// Mounted (modern hosts only; nothing real is mounted). Nil reads as not mounted.
    var mounted: Bool?
    /// Properties whose received value is masked by an explicit inherit (`zfs inherit`, `receive -x`).
    var masked: [String]?
    /// Native encryption: suite, encryption root and this dataset's own key id. Nil: not encrypted.
    var crypt: DatasetCrypt?
    /// The wrapping key's parameters and state, on an encryption root only.
    var wrapping: WrappingKey?
    /// Compression ratio of the data (`zfake ctl compress`); nil reads as 1.00.
    var compressRatio: Double?
    /// A mount that cannot be unmounted (`zfake ctl busy`): unmount and unload-key fail with busy.
    var busy: Bool?
    /// The snapshot a clone was made from (`zfs clone`); nil for other filesystems.
    var origin: String?
    /// A volume (`zfs create -V`): its size and block size. Nil: a filesystem.
    var volume: Volume?
    /// When a snapshot of this filesystem was last made, destroyed or renamed (`snapshots_changed`).
    var snapshotsChanged: Int64?
}

extension Dataset {
    /// The part of a refreservation its data does not use yet (a non-sparse volume's, mostly): it counts
    /// as used, and the pool has that much less available.
    var unusedRefreservation: Int64 {
        let reserved = Int64(local["refreservation"] ?? "0") ?? 0
        return max(0, reserved - Compression.physical(referenced, compressRatio))
    }
}

extension Dataset {
    /// A filesystem or snapshot limit is set here (locally or received): counts are kept from here down,
    /// and the pool's filesystem_limits feature is active.
    var hasLimit: Bool {
        ["filesystem_limit", "snapshot_limit"].contains { local[$0] != nil || received[$0] != nil }
    }
}

/// What makes a dataset a volume: `volsize`, `volblocksize`, and whether it was made sparse (`-s`: no
/// refreservation).
struct Volume: Codable, Equatable {
    var size: Int64
    var blockSize: Int64
    var sparse: Bool
}

struct Snapshot: Codable {
    var name: String
    var guid: UInt64
    var createtxg: UInt64
    var creation: Int64
    var referenced: Int64
    /// Bytes written between the previous snapshot and this one.
    var written: Int64
    var used: Int64 = 0
    var local: [String: String] = [:]
    var received: [String: String] = [:]
    /// Hold tag → epoch seconds.
    var holds: [String: Int64] = [:]
    var deferDestroy: Bool = false
    /// Pids of sends reading this snapshot.
    var senders: [Int32] = []
    /// Compression ratio of the filesystem's data when the snapshot was taken; nil reads as 1.00.
    var compressRatio: Double?
}

struct Bookmark: Codable {
    var name: String
    var guid: UInt64
    var createtxg: UInt64
    var creation: Int64
    /// What the snapshot referenced (a bookmark_written bookmark shows it); nil for older bookmarks.
    var referenced: Int64?
    var compressRatio: Double?
}

/// What `zfs receive -s` keeps of an interrupted stream: enough to build the resume token.
struct PartialReceive: Codable {
    var toname: String
    var toguid: UInt64
    var fromguid: UInt64
    var fromname: String
    var kind: String
    var bytes: Int64
    var payloadLength: Int64
    var creation: Int64
    var referenced: Int64
    var written: Int64
    var props: [String: String]
    /// The snapshot name the receive will create.
    var snapshotName: String
    /// The filesystem did not exist before this receive (abort destroys it).
    var createdByReceive: Bool
    /// The stream's feature flags (`raw`, `compressed`, `largeblock`, `embed`): the token carries them.
    var flags: [String]?
    /// The stream's compression ratio and encryption key (raw streams), for the resumed receive.
    var compressRatio: Double?
    var crypt: StreamCrypt?
}

extension HostState {
    func pool(named name: String) -> Pool? { pools[name] }

    /// A snapshot by full name.
    func snapshot(_ full: String) -> Snapshot? {
        let (fs, snap) = Names.split(full)
        guard let snap, let dataset = datasets[fs] else { return nil }
        return dataset.snapshots.first { $0.name == snap }
    }

    func exists(_ name: String) -> Bool {
        let (fs, tail) = Names.split(name)
        guard let dataset = datasets[fs] else { return false }
        guard let tail else { return true }
        if name.contains("#") { return dataset.bookmarks.contains { $0.name == tail } }
        return dataset.snapshots.contains { $0.name == tail }
    }

    /// Children (all descendants when `recursive`) of `fs`, sorted by name.
    func descendants(of fs: String) -> [String] {
        datasets.keys.filter { $0.hasPrefix(fs + "/") }.sorted(by: Ordering.names)
    }

    /// Records that the snapshots of `fs` changed now (`snapshots_changed`).
    mutating func snapshotsChanged(_ fs: String) {
        if datasets[fs] != nil { datasets[fs]!.snapshotsChanged = now() }
    }

    /// Advances the pool's txg and returns the new one.
    mutating func nextTxg(pool: String) -> UInt64 {
        pools[pool]!.txg += 1
        return pools[pool]!.txg
    }

    func now() -> Int64 {
        if let fixed = ProcessInfo.processInfo.environment["ZFAKE_CLOCK"].flatMap({ Int64($0) }) { return fixed }
        return clock ?? Int64(Date().timeIntervalSince1970)
    }

    /// Bytes allocated in a pool: referenced data of its filesystems plus data held only by snapshots,
    /// as stored (compressed data takes logical / ratio).
    func allocated(pool: String) -> Int64 {
        datasets.values.filter { Names.pool(of: $0.name) == pool }
            .reduce(0) { total, d in
                total + Compression.physical(d.referenced, d.compressRatio) + d.unusedRefreservation
                    + d.snapshots.reduce(0) { $0 + $1.used }
            }
    }
}

/// Name ordering of `zfs list`: byte order of names.
enum Ordering {
    static func names(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
}

/// Random 64-bit identifiers, never 0.
enum GUID {
    static func make() -> UInt64 {
        var g: UInt64 = 0
        while g == 0 { g = UInt64.random(in: 1...UInt64.max) }
        return g
    }
}

/// Reads and writes a host's state file under its lock. Every read-modify-write goes through `mutate`.
struct StateStore {
    let path: String

    init(world: FakeWorld, host: String? = nil) {
        path = world.stateFile(host: host ?? world.host)
    }

    /// Runs `body` on the state with the lock held and saves the result (unless `body` throws).
    func mutate<T>(_ body: (inout HostState) throws -> T) throws -> T {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try FileLock.withLock(path: path) {
            var state = load()
            let result = try body(&state)
            try save(state)
            return result
        }
    }

    /// Runs `body` on the state with the lock held, without saving. A host with no state file yet has
    /// the empty state, and reading it creates nothing (a fake never makes its world to answer a question).
    func read<T>(_ body: (HostState) throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else { return try body(HostState()) }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try FileLock.withLock(path: path) { try body(load()) }
    }

    private func load() -> HostState {
        let version = FileVersion.of(path)
        if let version, let memo = StateMemo.shared.state(at: path, version: version) { return memo }
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return HostState() }
        do {
            let state = try JSONDecoder().decode(HostState.self, from: data)
            if let version { StateMemo.shared.remember(state, at: path, version: version) }
            return state
        } catch {
            FileHandle.standardError.write(Data("zfake: corrupt state file \(path): \(error)\n".utf8))
            exit(70)
        }
    }

    private func save(_ state: HostState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(state)
        let temporary = path + ".tmp.\(getpid())"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw Failure("zfake: cannot replace \(path)", code: 70) }
        if let version = FileVersion.of(path) { StateMemo.shared.remember(state, at: path, version: version) }
    }
}

/// Which version of a file is on disk: a save renames a new file into place, so the inode changes.
struct FileVersion: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int

    static func of(_ path: String) -> FileVersion? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileVersion(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }
}

/// The state last read or written by this process, so that one zfs call decodes its host's state once
/// even when it reads it several times (the legacy switch, then the command).
final class StateMemo: @unchecked Sendable {
    static let shared = StateMemo()
    private let lock = NSLock()
    private var entry: (path: String, version: FileVersion, state: HostState)?

    func state(at path: String, version: FileVersion) -> HostState? {
        lock.withLock { entry.flatMap { $0.path == path && $0.version == version ? $0.state : nil } }
    }

    func remember(_ state: HostState, at path: String, version: FileVersion) {
        lock.withLock { entry = (path, version, state) }
    }
}

/// Whether a process still runs (stale sender/receiver markers are ignored). A killed process that its
/// parent has not reaped yet is a zombie: it holds nothing any more, as a killed real `zfs` holds nothing.
func processAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
    return state != "Z" && state != "X"
}
