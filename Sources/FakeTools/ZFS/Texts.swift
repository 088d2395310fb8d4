import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OpenZFS version the fake impersonates (`ZFAKE_ZFS_VERSION`, default 2.2.7). Selects the
/// version-dependent strings of the reference (§B8).
struct ZFSVersion: Comparable {
    var major: Int, minor: Int, patch: Int

    static let variable = "ZFAKE_ZFS_VERSION"
    static let defaultText = "2.2.7"

    static func fromEnvironment() -> ZFSVersion {
        let text = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultText
        return ZFSVersion(text) ?? ZFSVersion(defaultText)!
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-").first.map { $0.split(separator: ".").map { Int($0) } } ?? []
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        major = parts[0]!
        minor = parts.count > 1 ? parts[1]! : 0
        patch = parts.count > 2 ? parts[2]! : 0
    }

    init(_ major: Int, _ minor: Int, _ patch: Int) { self.major = major; self.minor = minor; self.patch = patch }

    var text: String { "\(major).\(minor).\(patch)" }

    static func < (a: ZFSVersion, b: ZFSVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}

/// A failed command: what goes to stderr and the exit code.
struct Failure: Error {
    var code: Int32
    var message: String

    init(_ message: String, code: Int32 = 1) { self.message = message; self.code = code }
}

/// Usage texts. Modern ones follow OpenZFS 2.2's `zfs_main.c`; legacy ones are zfs-fuse's, verbatim.
enum Usage {
    /// Commands in zfs_main.c's command_table order; an empty name is one of its group breaks.
    static let modernZFS: [(String, String)] = [
        ("version", "\tversion\n"),
        ("", ""),
        ("create", "\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n"
            + "\tcreate [-Pnpsv] [-b blocksize] [-o property=value] ... -V <size> <volume>\n"),
        ("destroy", "\tdestroy [-fnpRrv] <filesystem|volume>\n"
            + "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n"
            + "\tdestroy <filesystem|volume>#<bookmark>\n"),
        ("", ""),
        ("snapshot", "\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n"),
        ("rollback", "\trollback [-rRf] <snapshot>\n"),
        ("clone", "\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>\n"),
        ("promote", "\tpromote <clone-filesystem>\n"),
        ("rename", "\trename [-f] <filesystem|volume|snapshot> <filesystem|volume|snapshot>\n"
            + "\trename -p [-f] <filesystem|volume> <filesystem|volume>\n"
            + "\trename -u [-f] <filesystem> <filesystem>\n"
            + "\trename -r <snapshot> <snapshot>\n"),
        ("bookmark", "\tbookmark <snapshot|bookmark> <newbookmark>\n"),
        ("", ""),
        ("list", "\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n"
            + "\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...\n"),
        ("", ""),
        ("set", "\tset [-u] <property=value> ... <filesystem|volume|snapshot> ...\n"),
        ("get", "\tget [-rHp] [-d max] [-o \"all\" | field[,...]]\n"
            + "\t    [-t type[,...]] [-s source[,...]]\n"
            + "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot|bookmark] ...\n"),
        ("inherit", "\tinherit [-rS] <property> <filesystem|volume|snapshot> ...\n"),
        ("", ""),
        ("mount", "\tmount\n\tmount [-flvO] [-o opts] <-a|-R filesystem|filesystem>\n"),
        ("unmount", "\tunmount [-fu] <-a | filesystem|mountpoint>\n"),
        ("", ""),
        ("send", "\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]\n"
            + "\t     [-R [-X dataset[,dataset]...]]     <snapshot>\n"
            + "\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n"
            + "\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>\n"
            + "\tsend [-nVvPe] -t <receive_resume_token>\n"
            + "\tsend [-PnVv] --saved filesystem\n"),
        ("receive", "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...\n"
            + "\t    <filesystem|volume|snapshot>\n"
            + "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ... \n"
            + "\t    [-d | -e] <filesystem>\n"
            + "\treceive -A <filesystem|volume>\n"),
        ("", ""),
        ("hold", "\thold [-r] <tag> <snapshot> ...\n"),
        ("holds", "\tholds [-rHp] <snapshot> ...\n"),
        ("release", "\trelease [-r] <tag> <snapshot> ...\n"),
        ("load-key", "\tload-key [-rn] [-L <keylocation>] <-a | filesystem|volume>\n"),
        ("unload-key", "\tunload-key [-r] <-a | filesystem|volume>\n"),
        ("change-key", "\tchange-key [-l] [-o keyformat=<value>]\n\t    [-o keylocation=<value>] [-o pbkdf2iters=<value>]\n"
            + "\t    <filesystem|volume>\n\tchange-key -i [-l] <filesystem|volume>\n"),
    ]

    static let modernTrailer = "\nFor the property list, run: zfs set|get\n"
        + "\nFor the delegated permission list, run: zfs allow|unallow\n"
        + "\nFor further help on a command or topic, run: zfs help [<topic>]\n"
    static let legacyTrailer = "\nFor the property list, run: zfs set|get\n"
        + "\nFor the delegated permission list, run: zfs allow|unallow\n"

    /// zfs-fuse's per-command usage lines, cut out of its full command list.
    static let legacyZFS: [(String, String)] = {
        var entries: [(String, String)] = []
        for line in LegacyTexts.zfsCommands.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("\t    "), !entries.isEmpty {
                entries[entries.count - 1].1 += line + "\n"
            } else if line.hasPrefix("\t") {
                let name = String(line.dropFirst().split(separator: " ").first ?? "")
                entries.append((name, line + "\n"))
            }
        }
        return entries
    }()

    static func zfsCommandUsage(_ command: String, legacy: Bool) -> String {
        let table = legacy ? legacyZFS : modernZFS
        let name = command == "umount" ? "unmount" : command
        let lines = table.filter { $0.0 == name }.map { $0.1 }.joined()
        var text = "usage:\n" + lines
        if ["list", "get", "set", "inherit"].contains(command) {
            text += legacy ? LegacyTexts.zfsPropertyTable + "\n" : ModernProperties.table
        } else {
            text += legacy ? legacyTrailer : modernTrailer
        }
        return text
    }

    /// `usage: zfs command args ...` and every command, as `zfs` with no or an unknown command prints.
    static func zfsFull(legacy: Bool) -> String {
        if legacy {
            return "usage: zfs command args ...\nwhere 'command' is one of the following:\n"
                + LegacyTexts.zfsCommands + "\n"
                + "Each dataset is of the form: pool/[dataset/]*dataset[@name]\n" + legacyTrailer
        }
        return "usage: zfs command args ...\nwhere 'command' is one of the following:\n\n"
            + modernZFS.map { $0.0.isEmpty ? "\n" : $0.1 }.joined() + "\n"
            + "Each dataset is of the form: pool/[dataset/]*dataset[@name]\n" + modernTrailer
    }

    static func zpoolCommandUsage(_ command: String, legacy: Bool) -> String {
        if legacy {
            let line = command == "get" ? "\tget <\"all\" | property[,...]> <pool> ...\n"
                : "\tlist [-H] [-o property[,...]] [pool] ...\n"
            return "usage:\n" + line + LegacyTexts.zpoolPropertyTable + "\n"
        }
        return ZpoolUsage.command(command)
    }
}

/// A compact modern property table for `list/get/set/inherit` usage.
enum ModernProperties {
    static let table: String = {
        var text = "\nThe following properties are supported:\n\n\tPROPERTY       EDIT  INHERIT   VALUES\n\n"
        // zprop_iter with ordered: read-only properties first, each group by name (zprop_compare).
        let ordered = PropertyTable.all.sorted { a, b in
            a.editable == b.editable ? a.name < b.name : !a.editable
        }
        for p in ordered {
            let edit = p.editable && !p.onetime ? "YES" : "NO"
            let inherit = p.inheritable ? "YES" : "NO"
            let name = p.name.padding(toLength: max(15, p.name.count), withPad: " ", startingAt: 0)
            text += "\t\(name)\(edit.leftPad(4))\(inherit.leftPad(9))   \(p.valuesText)\n"
        }
        text += "\nSizes are specified in bytes with standard units such as K, M, G, etc.\n"
        text += "\nUser-defined properties can be specified by using a name containing a colon (:).\n"
        return text
    }()
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func rightPad(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

/// Number and date formatting as libzfs does it.
enum Human {
    /// `zfs_nicenum`: 1024-based, at most 5 characters when fractional (`1.50M`, `96K`, `12.3G`).
    /// `bytes` adds `B` to small values (`zfs_nicebytes`: `0B`, `312B`).
    static func size(_ value: Int64, bytes: Bool = true) -> String {
        nicenum(UInt64(max(value, 0)), bytes: bytes)
    }

    static func nicenum(_ num: UInt64, bytes: Bool) -> String {
        let units: [String] = ["", "K", "M", "G", "T", "P", "E"]
        var n = num
        var index = 0
        while n >= 1024 && index < units.count - 1 { n /= 1024; index += 1 }
        if index == 0 { return "\(n)" + (bytes ? "B" : "") }
        let unit = units[index]
        if num & ((UInt64(1) << (10 * UInt64(index))) - 1) == 0 { return "\(n)\(unit)" }
        let val = Double(num) / Double(UInt64(1) << (10 * UInt64(index)))
        var text = ""
        for digits in stride(from: 2, through: 0, by: -1) {
            text = String(format: "%.\(digits)f%@", val, unit)
            if text.count <= 5 { break }
        }
        return text
    }

    /// `strftime` in local time.
    static func date(_ epoch: Int64, _ format: String) -> String {
        var t = time_t(epoch)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [Int8](repeating: 0, count: 128)
        let n = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The `creation` property's human form.
    static func creation(_ epoch: Int64) -> String { date(epoch, "%a %b %e %k:%M %Y") }

    /// Parses `1.5G`, `512`, `10K` (1024-based).
    static func parseSize(_ text: String) -> Int64? {
        var digits = text.uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        let multipliers: [Character: Double] = ["K": 1024, "M": 1048576, "G": 1073741824, "T": 1099511627776, "P": 1125899906842624]
        var factor = 1.0
        if let last = digits.last, let m = multipliers[last] { factor = m; digits.removeLast() }
        guard let value = Double(digits), value >= 0 else { return nil }
        return Int64(value * factor)
    }
}
