import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Readers of the few `/proc` files the runner watches.
enum ProcFS {
    /// `rchar`/`wchar` of a process, or `nil` when it is gone or unreadable.
    static func ioCounters(pid: Int32) -> StageIO? {
        guard let text = readSmallFile("/proc/\(pid)/io") else { return nil }
        var read: UInt64?
        var written: UInt64?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("rchar:") { read = UInt64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
            if line.hasPrefix("wchar:") { written = UInt64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
        }
        guard let read, let written else { return nil }
        return StageIO(bytesRead: read, bytesWritten: written)
    }

    /// True when one of `pids` holds a TCP socket in LISTEN state on `port` (IPv4 or IPv6): the
    /// listener is that process's own, not a stale or foreign one that happens to use the port.
    static func isListening(onTCPPort port: Int, byAnyOf pids: [Int32]) -> Bool {
        let listeners = ["/proc/net/tcp", "/proc/net/tcp6"].reduce(into: Set<UInt64>()) { inodes, path in
            if let table = readSmallFile(path) { inodes.formUnion(listenerInodes(table, port: port)) }
        }
        guard !listeners.isEmpty else { return false }
        return pids.contains { !socketInodes(of: $0).isDisjoint(with: listeners) }
    }

    /// Parses a `/proc/net/tcp(6)` table, `sl local_address rem_address st tx:rx tr:when retrnsmt uid
    /// timeout inode …` with the local address as `HEXADDR:HEXPORT` and state `0A` meaning LISTEN: the
    /// socket inodes listening on `port`.
    static func listenerInodes(_ table: String, port: Int) -> Set<UInt64> {
        var inodes: Set<UInt64> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A",
                let colon = fields[1].lastIndex(of: ":"),
                let localPort = Int(fields[1][fields[1].index(after: colon)...], radix: 16),
                localPort == port, let inode = UInt64(fields[9])
            else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    /// The inodes of the sockets `pid` has open (`/proc/PID/fd/N` → `socket:[INODE]`).
    static func socketInodes(of pid: Int32) -> Set<UInt64> {
        let directory = "/proc/\(pid)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var inodes: Set<UInt64> = []
        var buffer = [CChar](repeating: 0, count: 64)
        for entry in entries {
            let count = readlink(directory + "/" + entry, &buffer, buffer.count - 1)
            guard count > 0 else { continue }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target.hasPrefix("socket:["), target.hasSuffix("]"), let inode = UInt64(target.dropFirst(8).dropLast()) else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = readSmallFile("/proc/\(pid)/stat"),
            let closingParen = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: closingParen)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    /// Reads a whole (small, procfs) file with plain syscalls; `nil` on any error.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += buffer[0..<count]
            } else if count == 0 {
                return String(decoding: bytes, as: UTF8.self)
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
