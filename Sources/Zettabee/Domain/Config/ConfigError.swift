/// One problem in a configuration file, located precisely enough to fix it:
/// `zettabee.cfg:7: field 'port': invalid value 'abc' (expected a TCP port 1-65535)`.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line number.
    public var line: Int
    /// `source`, `destination`, `options`, `line`, or an option key such as `port`.
    public var field: String
    public var message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String { "\(file):\(line): field '\(field)': \(message)" }
}

/// Every problem found in a configuration file, in line order.
public struct ConfigErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    /// One line per problem.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
