import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// One entry of a directory tree, as compared between a source and its replica.
struct TreeEntry: Equatable, CustomStringConvertible {
    enum Kind: String { case file, directory, symlink, other }
    var kind: Kind
    var permissions: UInt32
    var size: Int64
    var modificationSeconds: Int
    var linkTarget: String?
    var sha256: String?

    var description: String {
        var text = "\(kind.rawValue) \(String(permissions, radix: 8)) size=\(size) mtime=\(modificationSeconds)"
        if let linkTarget { text += " -> \(linkTarget)" }
        if let sha256 { text += " sha256=\(sha256.prefix(16))…" }
        return text
    }
}

/// A directory tree: relative path → entry (names, types, modes, sizes, mtimes, symlink targets,
/// content hashes computed by the real `sha256sum`).
struct TreeManifest: Equatable {
    var entries: [String: TreeEntry]

    static func of(_ root: String, in environment: RealEnvironment) throws -> TreeManifest {
        var entries: [String: TreeEntry] = [:]
        var files: [String] = []
        func walk(_ relative: String) throws {
            let absolute = relative.isEmpty ? root : "\(root)/\(relative)"
            var info = stat()
            guard lstat(absolute, &info) == 0 else { throw RealTierError("lstat \(absolute): errno \(errno)") }
            let kind: TreeEntry.Kind
            switch info.st_mode & S_IFMT {
            case S_IFREG: kind = .file
            case S_IFDIR: kind = .directory
            case S_IFLNK: kind = .symlink
            default: kind = .other
            }
            var entry = TreeEntry(
                kind: kind, permissions: UInt32(info.st_mode & 0o7777),
                size: kind == .directory ? 0 : Int64(info.st_size), modificationSeconds: info.st_mtim.tv_sec,
                linkTarget: nil, sha256: nil)
            if kind == .symlink {
                entry.linkTarget = try FileManager.default.destinationOfSymbolicLink(atPath: absolute)
            }
            if kind == .file { files.append(relative) }
            entries[relative.isEmpty ? "." : relative] = entry
            if kind == .directory {
                for name in try FileManager.default.contentsOfDirectory(atPath: absolute).sorted() {
                    try walk(relative.isEmpty ? name : "\(relative)/\(name)")
                }
            }
        }
        try walk("")
        if !files.isEmpty {
            // `-z`: NUL-terminated records, file names unescaped
            let output = try environment.check("sha256sum", ["-z", "--"] + files.map { "\(root)/\($0)" }, timeout: 120)
            for record in output.split(separator: "\0") {
                let hash = String(record.prefix(64))
                let path = String(record.dropFirst(66))
                let relative = String(path.dropFirst(root.count + 1))
                guard entries[relative] != nil, hash.count == 64 else {
                    throw RealTierError("unexpected sha256sum record: \(record)")
                }
                entries[relative]?.sha256 = hash
            }
            for file in files where entries[file]?.sha256 == nil {
                throw RealTierError("sha256sum printed no hash for \(file)")
            }
        }
        return TreeManifest(entries: entries)
    }

    /// Human-readable differences, empty when equal.
    func differences(from other: TreeManifest) -> [String] {
        var lines: [String] = []
        for path in Set(entries.keys).union(other.entries.keys).sorted() {
            switch (entries[path], other.entries[path]) {
            case let (mine?, theirs?) where mine != theirs: lines.append("\(path): \(mine) vs \(theirs)")
            case (nil, let theirs?): lines.append("\(path): missing here, there \(theirs)")
            case (let mine?, nil): lines.append("\(path): \(mine), missing there")
            default: break
            }
        }
        return lines
    }

    var fileCount: Int { entries.values.filter { $0.kind == .file }.count }
    var totalBytes: Int64 { entries.values.filter { $0.kind == .file }.map(\.size).reduce(0, +) }
}

/// Writes and changes real files in a filesystem's mount.
struct TreeWriter {
    let root: String

    static func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for index in words.indices { words[index] = generator.next() }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    func path(_ relative: String) -> String { "\(root)/\(relative)" }

    func write(_ relative: String, _ data: Data, mode: Int? = nil) throws {
        let url = URL(fileURLWithPath: path(relative))
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        if let mode { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path) }
    }

    func write(_ relative: String, text: String, mode: Int? = nil) throws {
        try write(relative, Data(text.utf8), mode: mode)
    }

    func random(_ relative: String, bytes: Int) throws {
        try write(relative, TreeWriter.randomData(bytes))
    }

    func directory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to target: String) throws {
        try? FileManager.default.removeItem(atPath: path(relative))
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: path(relative))
    }

    func rename(_ relative: String, to newRelative: String) throws {
        try FileManager.default.moveItem(atPath: path(relative), toPath: path(newRelative))
    }

    func chmod(_ relative: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(relative))
    }

    /// Overwrites `count` bytes at `offset` in place.
    func overwrite(_ relative: String, at offset: UInt64, bytes count: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(relative)))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: TreeWriter.randomData(count))
    }

    func append(_ relative: String, text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(relative)))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// A sparse file: `size` bytes, with only the last 4 KiB written.
    func sparse(_ relative: String, size: UInt64) throws {
        FileManager.default.createFile(atPath: path(relative), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(relative)))
        defer { try? handle.close() }
        try handle.seek(toOffset: size - 4096)
        try handle.write(contentsOf: TreeWriter.randomData(4096))
    }

    /// The initial content: a few MiB of random data, nested directories, symlinks, an empty file
    /// and an empty directory, odd names and modes.
    func populate() throws {
        try write("README.txt", text: "zettabee real-tier source\n")
        try write("empty", Data())
        try random("data/blob-1.bin", bytes: 1 << 20)
        try random("data/blob-2.bin", bytes: 1_572_867)
        try random("data/nested/deeper/deepest/leaf.bin", bytes: 300 * 1024)
        try write("data/nested/notes.txt", text: "nested\n")
        try write("docs/name with spaces.txt", text: "spaces in the name\n")
        try write("docs/ünïcødé – ★.txt", text: "non-ASCII name\n")
        try write("bin/run.sh", text: "#!/bin/sh\necho run\n", mode: 0o755)
        try write("private.key", text: "not a real key\n", mode: 0o600)
        try sparse("sparse.img", size: 4 << 20)
        try directory("emptydir")
        try symlink("link-to-blob", to: "data/blob-1.bin")
        try symlink("data/nested/up", to: "../../README.txt")
        try symlink("dangling", to: "does/not/exist")
    }

    /// Round `round` (1, 2, 3…) of changes: files changed in place and appended to, files and
    /// directories added, files, directories and links deleted, a rename, a mode change, a
    /// symlink retargeted.
    func change(round: Int) throws {
        try overwrite("data/blob-1.bin", at: UInt64(round) * 200_000, bytes: 64 * 1024)
        try append("README.txt", text: "round \(round)\n")
        try random("round-\(round)/added-\(round).bin", bytes: 512 * 1024 + round)
        try write("round-\(round)/sub/dir/note.txt", text: "added in round \(round)\n")
        try symlink("round-\(round)/link", to: "../data/blob-2.bin")
        switch round % 3 {
        case 1:
            try remove("docs/name with spaces.txt")
            try remove("empty")
            try chmod("bin/run.sh", 0o700)
            try symlink("link-to-blob", to: "data/blob-2.bin")
        case 2:
            try remove("data/nested/deeper")
            try rename("data/blob-2.bin", to: "data/blob-2-renamed.bin")
            try symlink("round-\(round)/link", to: "../data/blob-2-renamed.bin")
            try write("empty", Data())
            try overwrite("sparse.img", at: 1 << 20, bytes: 8192)
        default:
            try remove("round-1")
            try remove("dangling")
            try write("docs/name with spaces.txt", text: "back again, different\n")
            try random("data/blob-1.bin", bytes: 700 * 1024)
        }
    }
}
