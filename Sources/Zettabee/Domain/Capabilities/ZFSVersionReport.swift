import CommandGraph
/// An OpenZFS release number, e.g. 2.2.2.
public struct ZFSVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: ZFSVersion, b: ZFSVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}

/// What `zfs version` answered on a host.
public enum ZFSVersionReport: Hashable, Sendable {
    /// OpenZFS 0.8 or later: the userland version from the first line (`zfs-2.2.2-0ubuntu9`).
    case openZFS(ZFSVersion)
    /// The command does not exist (usage error): zfs-fuse, Solaris-era zfs, OpenZFS before 0.8.
    case predatesVersionCommand

    /// Reads the result of running `zfs version`. Exit 2 with a usage message is the answer
    /// "too old"; any other failure (ssh down, permission) is not an answer and is an error.
    public static func parse(stdout: String, stderr: String, exitStatus: Int32) throws(ZFSOutputError) -> ZFSVersionReport {
        let command = "zfs version"
        if exitStatus != 0 {
            if ZFSUsageError.matches(stderr: stderr, exitStatus: exitStatus) { return .predatesVersionCommand }
            throw ZFSOutputError(command: command, line: nil, message: "failed with exit status \(exitStatus): \(UntrustedText.quoted(stderr.prefix(200)))")
        }
        let lines = try OutputLines(command: command).lines(stdout)
        guard let first = lines.first, first.hasPrefix("zfs-"), let version = parseVersion(first.dropFirst(4)) else {
            throw ZFSOutputError(command: command, line: 1, message: "expected 'zfs-X.Y.Z', found \(UntrustedText.quoted(lines.first ?? ""))")
        }
        return .openZFS(version)
    }

    /// `2.2.2-0ubuntu9` → 2.2.2; `2.1.99-1234_gabc` → 2.1.99.
    private static func parseVersion(_ text: Substring) -> ZFSVersion? {
        let numbers = text.prefix { $0 != "-" && $0 != "_" }.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(numbers.count) else { return nil }
        var values: [Int] = []
        for number in numbers {
            guard !number.isEmpty, number.count <= 6, number.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(number) else {
                return nil
            }
            values.append(value)
        }
        return ZFSVersion(values[0], values[1], values.count == 3 ? values[2] : 0)
    }
}

/// Recognises zfs's usage errors (`invalid option 'p'`, `unrecognized command 'version'`, a
/// usage text), which is how an old zfs says it lacks an option or subcommand.
public enum ZFSUsageError {
    public static func matches(stderr: String, exitStatus: Int32) -> Bool {
        guard exitStatus == 2 else { return false }
        return stderr.contains("invalid option") || stderr.contains("unrecognized command")
            || stderr.lowercased().contains("usage:")
    }
}
