import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fake send stream (reference §B5):
///
///     substream := "FZS1 " JSON(begin) "\n" PAYLOAD "FZS1END " JSON(end) "\n"
///     package   := "FZSP1 " JSON(package) "\n" substream* "FZSP1END\n"
///
/// PAYLOAD is `payload_len - resume_offset` bytes of a 1 MiB block seeded by the snapshot's GUID,
/// starting at `resume_offset`; the end record carries its length and `Checksum`.
enum StreamFormat {
    static let beginMagic = "FZS1 "
    static let endMagic = "FZS1END "
    static let packageMagic = "FZSP1 "
    static let packageEnd = "FZSP1END"
    /// Payload generation and I/O granularity.
    static let blockSize = 1 << 20
}

/// A substream's begin record.
struct StreamBegin {
    var kind: String // "full" or "incremental"
    var toname: String
    var toguid: UInt64
    var fromguid: UInt64 = 0
    var fromname: String = ""
    var creation: Int64
    var resumeOffset: Int64 = 0
    var payloadLength: Int64
    var referenced: Int64
    var written: Int64
    var props: [String: String]?
    /// Feature flags: `raw`, `compressed`, `largeblock`, `embed` (only those that apply).
    var flags: [String] = []
    /// Compression ratio of the snapshot's data (the receiver keeps it); nil is 1.00.
    var compressRatio: Double?
    /// A raw stream's key: id, wrapping parameters, encryption-root mark.
    var crypt: StreamCrypt?
    /// The stream is a volume's (DMU_OST_ZVOL): its size and block size.
    var volume: Volume?

    var isIncremental: Bool { kind == "incremental" }
    var isRaw: Bool { flags.contains("raw") }

    func encoded() -> Data {
        var object: [String: Any] = [
            "kind": kind, "toname": toname, "toguid": "\(toguid)", "fromguid": "\(fromguid)", "fromname": fromname,
            "creation": creation, "resume_offset": resumeOffset, "payload_len": payloadLength,
            "referenced": referenced, "written": written, "flags": flags,
        ]
        if let props { object["props"] = props }
        if let compressRatio { object["compressratio"] = Compression.text(compressRatio) }
        if let crypt { object["crypt"] = crypt.json }
        if let volume { object["volume"] = ["volsize": volume.size, "volblocksize": volume.blockSize] }
        return Data(StreamFormat.beginMagic.utf8) + JSONLine.encode(object)
    }

    init(kind: String, toname: String, toguid: UInt64, creation: Int64, payloadLength: Int64, referenced: Int64, written: Int64) {
        self.kind = kind; self.toname = toname; self.toguid = toguid; self.creation = creation
        self.payloadLength = payloadLength; self.referenced = referenced; self.written = written
    }

    init?(json: [String: Any]) {
        guard let kind = json["kind"] as? String, let toname = json["toname"] as? String,
              let toguid = (json["toguid"] as? String).flatMap({ UInt64($0) }),
              let payload = JSONLine.int(json["payload_len"]) else { return nil }
        self.kind = kind; self.toname = toname; self.toguid = toguid
        fromguid = (json["fromguid"] as? String).flatMap { UInt64($0) } ?? 0
        fromname = json["fromname"] as? String ?? ""
        creation = JSONLine.int(json["creation"]) ?? 0
        resumeOffset = JSONLine.int(json["resume_offset"]) ?? 0
        payloadLength = payload
        referenced = JSONLine.int(json["referenced"]) ?? 0
        written = JSONLine.int(json["written"]) ?? 0
        props = json["props"] as? [String: String]
        flags = json["flags"] as? [String] ?? []
        compressRatio = (json["compressratio"] as? String).flatMap(Double.init).flatMap { $0 > 1 ? $0 : nil }
        crypt = StreamCrypt(json: json["crypt"])
        if let v = json["volume"] as? [String: Any], let size = JSONLine.int(v["volsize"]), let block = JSONLine.int(v["volblocksize"]) {
            volume = Volume(size: size, blockSize: block, sparse: true)
        }
    }
}

/// A package (`-R`, `-I`) header: the snapshots of every filesystem the package covers.
struct PackageHeader {
    var topfs: String
    var fromsnap: String
    var tosnap: String
    var recursive: Bool
    /// Filesystem → snapshot name → GUID.
    var fss: [String: [String: UInt64]]
    /// A raw (`-w`) package, and the sender's encryption roots among its filesystems (`is_encroot`).
    var raw = false
    var encroots: [String] = []

    func encoded() -> Data {
        let fsObject = fss.mapValues { $0.mapValues { "\($0)" } }
        var object: [String: Any] = ["topfs": topfs, "fromsnap": fromsnap, "tosnap": tosnap,
                                     "recursive": recursive, "fss": fsObject]
        if raw { object["raw"] = true }
        if !encroots.isEmpty { object["encroots"] = encroots }
        return Data(StreamFormat.packageMagic.utf8) + JSONLine.encode(object)
    }

    init(topfs: String, fromsnap: String, tosnap: String, recursive: Bool, fss: [String: [String: UInt64]]) {
        self.topfs = topfs; self.fromsnap = fromsnap; self.tosnap = tosnap; self.recursive = recursive; self.fss = fss
    }

    init?(json: [String: Any]) {
        guard let topfs = json["topfs"] as? String else { return nil }
        self.topfs = topfs
        fromsnap = json["fromsnap"] as? String ?? ""
        tosnap = json["tosnap"] as? String ?? ""
        recursive = json["recursive"] as? Bool ?? false
        let raw = json["fss"] as? [String: [String: String]] ?? [:]
        fss = raw.mapValues { $0.compactMapValues { UInt64($0) } }
        self.raw = json["raw"] as? Bool ?? false
        encroots = json["encroots"] as? [String] ?? []
    }
}

enum JSONLine {
    static func encode(_ object: [String: Any]) -> Data {
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        data.append(0x0a)
        return data
    }

    static func decode(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func int(_ value: Any?) -> Int64? {
        if let n = value as? NSNumber { return n.int64Value }
        if let s = value as? String { return Int64(s) }
        return nil
    }
}

/// A fast 64-bit checksum: four xor-rotate lanes over little-endian words, position-sensitive within
/// each lane, so any flipped byte changes it. Runs at memory speed in an optimised build.
struct Checksum {
    private var a: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private var c: UInt64 = 0x1656_67B1_9E37_79F9
    private var d: UInt64 = 0x27D4_EB2F_1656_67C5
    private var tail: [UInt8] = []
    private(set) var count: Int64 = 0

    init() { tail.reserveCapacity(32) }

    @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    private mutating func blocks(_ p: UnsafeRawPointer, _ n: Int) {
        var (a, b, c, d) = (self.a, self.b, self.c, self.d)
        var i = 0
        let end = n * 32
        while i < end {
            a = Checksum.rotl(a, 5) ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            b = Checksum.rotl(b, 7) ^ p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            c = Checksum.rotl(c, 11) ^ p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
            d = Checksum.rotl(d, 13) ^ p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            i += 32
        }
        (self.a, self.b, self.c, self.d) = (a, b, c, d)
    }

    mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard var p = buffer.baseAddress, buffer.count > 0 else { return }
        var n = buffer.count
        count += Int64(n)
        if !tail.isEmpty {
            let take = min(32 - tail.count, n)
            tail.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take; n -= take
            if tail.count == 32 {
                tail.withUnsafeBytes { blocks($0.baseAddress!, 1) }
                tail.removeAll(keepingCapacity: true)
            }
        }
        let whole = n / 32
        if whole > 0 { blocks(p, whole); p += whole * 32; n -= whole * 32 }
        if n > 0 { tail.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n)) }
    }

    mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    func finish() -> UInt64 {
        var a = self.a
        for byte in tail { a = Checksum.rotl(a, 5) ^ UInt64(byte) }
        var h = a ^ Checksum.rotl(b, 16) ^ Checksum.rotl(c, 32) ^ Checksum.rotl(d, 48)
        h ^= UInt64(bitPattern: count) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h
    }
}

/// The payload of a snapshot: a 1 MiB pseudo-random block seeded by its GUID, repeated. Kept twice in a
/// row so any 1 MiB window starts at any offset without copying.
final class PayloadSource {
    let doubled: UnsafeMutableRawBufferPointer

    init(seed: UInt64) {
        let size = StreamFormat.blockSize
        doubled = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * size, alignment: 16)
        var state = seed
        let words = doubled.bindMemory(to: UInt64.self)
        for i in 0..<(size / 8) {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words[i] = z ^ (z >> 31)
            words[i + size / 8] = words[i]
        }
    }

    deinit { doubled.deallocate() }

    /// Bytes `offset ..< offset+length` (length at most one block) of the payload.
    func window(offset: Int64, length: Int) -> UnsafeRawBufferPointer {
        let start = Int(offset % Int64(StreamFormat.blockSize))
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(doubled)[start..<(start + length)])
    }
}

/// Enlarges a pipe's buffer (fewer context switches); harmless on anything else.
func enlargePipe(_ fd: Int32) {
    _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, Int32(1 << 20))
}

/// Buffered reading of a stream from a file descriptor, counting bytes.
final class StreamReader {
    let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private(set) var eof = false
    /// Bytes handed out so far.
    private(set) var consumed: Int64 = 0
    /// Stop reading after this many bytes (fault injection), as if the input ended.
    var limit: Int64 = .max
    /// Bytes per second (fault injection), nil = unthrottled.
    var rate: Double?
    private let started = Date()

    init(fd: Int32) {
        self.fd = fd
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 16)
        enlargePipe(fd)
    }

    deinit { buffer.deallocate() }

    private var available: Int { end - start }

    /// Reads more input; false at end of input.
    private func fill() -> Bool {
        if eof { return false }
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            memmove(buffer.baseAddress!, buffer.baseAddress! + start, end - start)
            end -= start; start = 0
        }
        let n = read(fd, buffer.baseAddress! + end, buffer.count - end)
        if n < 0 && errno == EINTR { return true }
        if n <= 0 { eof = true; return false }
        end += n
        return true
    }

    private func throttle() {
        guard let rate, rate > 0 else { return }
        let due = Double(consumed) / rate - Date().timeIntervalSince(started)
        if due > 0 { usleep(UInt32(min(due, 10) * 1_000_000)) }
    }

    /// Up to `maximum` bytes that are available (reading if none); empty at end of input or limit.
    private func next(_ maximum: Int) -> UnsafeRawBufferPointer {
        let allowed = Int(min(Int64(maximum), limit - consumed))
        if allowed <= 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        if available == 0 && !fill() { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let n = min(allowed, available)
        let chunk = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: n)
        start += n
        consumed += Int64(n)
        throttle()
        return chunk
    }

    /// Reads up to and including `\n` (at most `maximum` bytes). Returns the bytes read and whether the
    /// newline was found.
    func readLine(maximum: Int = 1 << 20) -> (Data, Bool) {
        var line = Data()
        while line.count < maximum {
            if available == 0 && !fill() { return (line, false) }
            let window = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: min(available, maximum - line.count))
            let allowed = Int(min(Int64(window.count), limit - consumed))
            if allowed <= 0 { return (line, false) }
            if let newline = window[0..<allowed].firstIndex(of: 0x0a) {
                line.append(contentsOf: next(newline + 1))
                return (line, true)
            }
            line.append(contentsOf: next(allowed))
        }
        return (line, false)
    }

    /// Peeks at up to `n` bytes without consuming them (fewer at end of input).
    func peek(_ n: Int) -> Data {
        while available < n && fill() {}
        return Data(bytes: buffer.baseAddress! + start, count: min(n, available))
    }

    /// Hands `count` bytes to `body` in chunks; returns how many there were (fewer at end of input).
    func consume(_ count: Int64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int64 {
        var done: Int64 = 0
        while done < count {
            let chunk = next(Int(min(count - done, Int64(StreamFormat.blockSize))))
            if chunk.count == 0 { break }
            body(chunk)
            done += Int64(chunk.count)
        }
        return done
    }

    /// Reads and discards the rest of the input.
    func drain() {
        while !eof {
            start = end
            _ = fill()
        }
    }
}
