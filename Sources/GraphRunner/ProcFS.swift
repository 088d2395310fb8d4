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

    /// True when a TCP socket of this network namespace is in LISTEN state on `port` (IPv4 or IPv6).
    static func isListening(onTCPPort port: Int) -> Bool {
        ["/proc/net/tcp", "/proc/net/tcp6"].contains { path in
            guard let table = readSmallFile(path) else { return false }
            return tableHasListener(table, port: port)
        }
    }

    /// Parses a `/proc/net/tcp(6)` table: `sl local_address rem_address st …`, with the local address as
    /// `HEXADDR:HEXPORT` and state `0A` meaning LISTEN.
    static func tableHasListener(_ table: String, port: Int) -> Bool {
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "0A",
                let colon = fields[1].lastIndex(of: ":"),
                let localPort = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
            else { continue }
            if localPort == port { return true }
        }
        return false
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
