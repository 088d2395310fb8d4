/// Reporting a passive check result to Nagios with `send_nsca`, which reads result lines on stdin.

/// A Nagios service state, with the plugin exit code that stands for it.
public enum NagiosStatus: Int, Sendable, Hashable, CaseIterable {
    case ok = 0, warning = 1, critical = 2, unknown = 3
}

/// One passive service check result.
public struct NagiosCheckResult: Sendable, Hashable {
    public let host: String
    public let service: String
    public let status: NagiosStatus
    /// One line of plugin output.
    public let output: String

    /// `host` and `service` must be non-empty, without tabs or line breaks; `output` one line.
    public init(host: String, service: String, status: NagiosStatus, output: String) throws(InvalidValue) {
        try NagiosCheckResult.checkField(host, field: "nagios host")
        try NagiosCheckResult.checkField(service, field: "nagios service")
        try Check.noLineBreakOrNUL(output, field: "nagios output")
        self.host = host
        self.service = service
        self.status = status
        self.output = output
    }

    static func checkField(_ value: String, field: String) throws(InvalidValue) {
        if value.isEmpty { throw InvalidValue(field: field, value: value, reason: "empty value") }
        if value.unicodeScalars.contains("\t") {
            throw InvalidValue(field: field, value: value, reason: "tab not allowed")
        }
        try Check.noLineBreakOrNUL(value, field: field)
    }

    /// The line send_nsca reads: `host D service D code D output\n`, with `D` the delimiter
    /// (a tab unless `send_nsca -d` says otherwise). Host and service must not contain it.
    public func payload(delimiter: Character = "\t") throws(InvalidValue) -> [UInt8] {
        if host.contains(delimiter) {
            throw InvalidValue(field: "nagios host", value: host, reason: "contains the delimiter '\(delimiter)'")
        }
        if service.contains(delimiter) {
            throw InvalidValue(field: "nagios service", value: service, reason: "contains the delimiter '\(delimiter)'")
        }
        let line = [host, service, String(status.rawValue), output].joined(separator: String(delimiter)) + "\n"
        return Array(line.utf8)
    }
}

public enum SendNSCA {
    public static let executable = "send_nsca"

    /// `send_nsca -H SERVER [-p PORT] [-c CONFIG] [-d DELIMITER]`; give it the results as stdin
    /// (`StreamSource.bytes(result.payload())`).
    public static func command(
        server: String, port: Int? = nil, configFile: String? = nil, delimiter: Character? = nil
    ) throws(InvalidValue) -> Command {
        try Check.host(server, field: "nsca server")
        var arguments: [Argument] = [.flag("-H"), .value(server)]
        if let port {
            try Check.port(port, field: "nsca port")
            arguments += [.flag("-p"), .value(String(port))]
        }
        if let configFile {
            try Check.path(configFile, field: "nsca config file")
            arguments += [.flag("-c"), .value(configFile)]
        }
        if let delimiter {
            guard delimiter.isASCII, let scalar = delimiter.unicodeScalars.first, scalar.value >= 0x20 || scalar == "\t",
                scalar != "\n"
            else {
                throw InvalidValue(field: "nsca delimiter", value: String(delimiter), reason: "must be one printable ASCII character or a tab")
            }
            arguments += [.flag("-d"), .value(String(delimiter))]
        }
        return Command(executable, arguments, label: "send_nsca")
    }
}
