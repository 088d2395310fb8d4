/// `mbuffer` across TCP: a listener on the receiving host (`-I`), a sender on the sending host (`-O`).

/// An amount of bytes (or bytes per second) as mbuffer reads it: digits and an optional unit,
/// `k`/`K` (KiB), `m`/`M` (MiB) or `g`/`G` (GiB), e.g. `128k`, `1M`, `256M`, `1G`. Not zero.
public struct ByteQuantity: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String, field: String = "size") throws(InvalidValue) {
        var digits = Substring(rawValue)
        if let unit = digits.last, "kKmMgG".contains(unit) { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."9").contains($0) }) else {
            throw InvalidValue(field: field, value: rawValue, reason: "expected digits and an optional unit k, M or G, e.g. 128k or 1G")
        }
        guard digits.contains(where: { $0 != "0" }) else {
            throw InvalidValue(field: field, value: rawValue, reason: "must be more than zero")
        }
        self.rawValue = rawValue
    }

    /// The amount in bytes (`Int.max` if it does not fit).
    public var bytes: Int {
        var digits = Substring(rawValue)
        var multiplier = 1
        switch digits.last {
        case "k", "K": multiplier = 1 << 10; digits = digits.dropLast()
        case "m", "M": multiplier = 1 << 20; digits = digits.dropLast()
        case "g", "G": multiplier = 1 << 30; digits = digits.dropLast()
        default: break
        }
        guard let count = Int(digits) else { return Int.max }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? Int.max : bytes
    }

    public var description: String { rawValue }
}

public enum Mbuffer {
    public static let executable = "mbuffer"

    /// What both ends accept: buffer and block sizes, rate limits, logging, a network timeout.
    public struct Options: Sendable, Hashable {
        /// `-s`: the block size.
        public var blockSize: ByteQuantity?
        /// `-m`: the buffer's memory.
        public var memory: ByteQuantity?
        /// `-r`: limit the rate of reading, per second.
        public var readRateLimit: ByteQuantity?
        /// `-R`: limit the rate of writing, per second.
        public var writeRateLimit: ByteQuantity?
        /// `-l FILE`: log to a file.
        public private(set) var logFile: String?
        /// `-q`: no status line.
        public var quiet: Bool
        /// `-W SECONDS`: give up when no data moved for this long.
        public private(set) var timeoutSeconds: Int?

        public init(
            blockSize: ByteQuantity? = nil, memory: ByteQuantity? = nil, readRateLimit: ByteQuantity? = nil,
            writeRateLimit: ByteQuantity? = nil, logFile: String? = nil, quiet: Bool = true,
            timeoutSeconds: Int? = nil
        ) throws(InvalidValue) {
            if let logFile { try Check.path(logFile, field: "mbuffer log file") }
            if let timeoutSeconds, timeoutSeconds < 1 {
                throw InvalidValue(
                    field: "mbuffer timeout", value: String(timeoutSeconds), reason: "timeout must be at least 1 second")
            }
            self.blockSize = blockSize
            self.memory = memory
            self.readRateLimit = readRateLimit
            self.writeRateLimit = writeRateLimit
            self.logFile = logFile
            self.quiet = quiet
            self.timeoutSeconds = timeoutSeconds
        }

        /// Only `-q`.
        public static let quietOnly = Options(quiet: true)

        private init(quiet: Bool) { self.quiet = quiet }

        /// `-q -s B -m M -r R -R W -W T -l FILE`, each when set.
        var arguments: [Argument] {
            var arguments: [Argument] = quiet ? [.flag("-q")] : []
            if let blockSize { arguments += [.flag("-s"), .value(blockSize.rawValue)] }
            if let memory { arguments += [.flag("-m"), .value(memory.rawValue)] }
            if let readRateLimit { arguments += [.flag("-r"), .value(readRateLimit.rawValue)] }
            if let writeRateLimit { arguments += [.flag("-R"), .value(writeRateLimit.rawValue)] }
            if let timeoutSeconds { arguments += [.flag("-W"), .value(String(timeoutSeconds))] }
            if let logFile { arguments += [.flag("-l"), .value(logFile)] }
            return arguments
        }
    }

    /// `mbuffer OPTIONS -I [ADDRESS:]PORT`: accepts one TCP connection and copies it to stdout.
    /// `address` limits which local address it listens on.
    public static func listen(port: Int, address: String? = nil, options: Options = .quietOnly) throws(InvalidValue) -> Command {
        try Check.port(port, field: "mbuffer port")
        if let address { try Check.host(address, field: "mbuffer listen address") }
        let endpoint = address.map { "\($0):\(port)" } ?? String(port)
        return Command(executable, options.arguments + [.flag("-I"), .value(endpoint)], label: "mbuffer -I")
    }

    /// `mbuffer OPTIONS -O HOST:PORT`: copies stdin to a listening mbuffer.
    public static func send(toHost host: String, port: Int, options: Options = .quietOnly) throws(InvalidValue) -> Command {
        try Check.host(host, field: "mbuffer host")
        try Check.port(port, field: "mbuffer port")
        return Command(executable, options.arguments + [.flag("-O"), .value("\(host):\(port)")], label: "mbuffer -O")
    }
}
