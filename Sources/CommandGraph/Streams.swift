/// Filters a stream passes through: compression, and `cat` (whose write count is the stream's size).
/// All write to stdout and print nothing but errors.

public enum Zstd {
    public static let executable = "zstd"

    /// `zstd -c -q [-T0] [-LEVEL]`. `level` is 1…19; `useAllCores` adds `-T0`.
    public static func compress(level: Int? = nil, useAllCores: Bool = false) throws(InvalidValue) -> Command {
        var arguments: [Argument] = [.flag("-c"), .flag("-q")]
        if useAllCores { arguments.append(.flag("-T0")) }
        if let level {
            guard (1...19).contains(level) else {
                throw InvalidValue(field: "zstd level", value: String(level), reason: "level must be between 1 and 19")
            }
            arguments.append(.flag("-\(level)"))
        }
        return Command(executable, arguments, label: "zstd")
    }

    /// `zstd -d -c -q`.
    public static func decompress() -> Command {
        // Its input cut short (the connection dropped): "Read error (39) : premature end".
        Command(executable, [.flag("-d"), .flag("-c"), .flag("-q")], label: "zstd -d", inputEndedEarlyMessages: ["premature end"])
    }
}

public enum LZ4 {
    public static let executable = "lz4"

    /// `lz4 -c -q`.
    public static func compress() -> Command {
        Command(executable, [.flag("-c"), .flag("-q")], label: "lz4")
    }

    /// `lz4 -d -c -q`.
    public static func decompress() -> Command {
        // Its input cut short: "Error 68 : Unfinished stream".
        Command(executable, [.flag("-d"), .flag("-c"), .flag("-q")], label: "lz4 -d", inputEndedEarlyMessages: ["Unfinished stream"])
    }
}

public enum Cat {
    public static let executable = "cat"

    /// `cat`: stdin to stdout, writing nothing else (so its write count is exactly what passed).
    public static func copy() -> Command { Command(executable, label: "cat") }
}
