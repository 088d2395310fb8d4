/// Where and how to reach a remote host with ssh.
///
/// ssh always runs with `-o BatchMode=yes`: zettabee runs from cron and its children sit in background
/// process groups, so ssh must fail rather than prompt for a password or a host key.
public struct SSHDestination: Sendable, Hashable {
    /// One `-o Key=Value` option.
    public struct Option: Sendable, Hashable {
        public let key: String
        public let value: String

        /// `key` is letters only (ssh's option names); `value` is one line.
        public init(_ key: String, _ value: String) throws(InvalidValue) {
            try Check.word(key, field: "ssh option name", what: "option name") { scalar in
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
            }
            try Check.noLineBreakOrNUL(value, field: "ssh option \(key)")
            self.key = key
            self.value = value
        }

        /// `Key=Value`, the word after `-o`.
        public var word: String { key + "=" + value }
    }

    public let host: String
    public let user: String?
    public let port: Int?
    /// `-i FILE`.
    public let identityFile: String?
    /// `-F FILE`.
    public let configFile: String?
    /// `-o Key=Value` options, in the order given, after the others.
    public let options: [Option]

    public init(
        host: String, user: String? = nil, port: Int? = nil, identityFile: String? = nil,
        configFile: String? = nil, options: [Option] = []
    ) throws(InvalidValue) {
        try Check.host(host, field: "ssh host")
        if let user { try Check.user(user, field: "ssh user") }
        if let port { try Check.port(port, field: "ssh port") }
        if let identityFile { try Check.path(identityFile, field: "ssh identity file") }
        if let configFile { try Check.path(configFile, field: "ssh config file") }
        self.host = host
        self.user = user
        self.port = port
        self.identityFile = identityFile
        self.configFile = configFile
        self.options = options
    }

    /// `user@host`, or `host` without a user: the word after `--`.
    public var destination: String {
        if let user { return user + "@" + host }
        return host
    }

    /// The ssh options in their fixed order: `-o BatchMode=yes`, `-p PORT`, `-i FILE`, `-F FILE`,
    /// then each `-o Key=Value`.
    public var optionArguments: [String] {
        var words = ["-o", "BatchMode=yes"]
        if let port { words += ["-p", String(port)] }
        if let identityFile { words += ["-i", identityFile] }
        if let configFile { words += ["-F", configFile] }
        for option in options { words += ["-o", option.word] }
        return words
    }
}

/// Where a stage runs.
public enum Location: Sendable, Hashable {
    case local
    case remote(SSHDestination)
}
