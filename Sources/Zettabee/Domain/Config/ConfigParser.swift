import CommandGraph
/// Reads a zettabee configuration: one pair per line,
///
///     SRCHOST:POOL/FS  DSTHOST:POOL/FS  [key=value[,key=value...]]
///
/// separated by spaces or tabs; `#` starts a comment (whole line or trailing); blank lines are
/// skipped. Options may be spread over several whitespace-separated fields
/// (`port=9090, wlag=1h` reads as `port=9090,wlag=1h`). Dataset names with spaces, legal in
/// ZFS, cannot be written in this format.
///
/// Parsing is pure and reports every problem in the file, in line order, not just the first.
public enum ConfigParser {
    /// Longer lines are reported and skipped without being examined.
    public static let maximumLineLength = 4096

    /// Parses `text`, the contents of the file `fileName` (used only in messages).
    public static func parse(fileName: String, text: String) throws(ConfigErrors) -> [Pair] {
        var errors: [ConfigError] = []
        var pairs: [Pair] = []
        var seen = PairRegistry()
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, lineBytes) in lines.enumerated() {
            let number = index + 1
            var line = LineParser(file: fileName, line: number)
            if lineBytes.count > maximumLineLength {
                line.fail("line", "line longer than \(maximumLineLength) characters")
            } else if let pair = line.parse(String(Substring(lineBytes))) {
                seen.register(pair, reporter: &line)
                if line.errors.isEmpty { pairs.append(pair) }
            }
            errors += line.errors
        }
        if !errors.isEmpty { throw ConfigErrors(errors: errors) }
        return pairs
    }
}

/// The checks that span lines: each destination, fingerprint and mbuffer port once.
private struct PairRegistry {
    var fingerprints: [Fingerprint: Int] = [:]
    var destinations: [Endpoint: Int] = [:]
    /// mbuffer listens on the destination host, so a port is taken per destination host.
    var ports: [HostName: [TCPPort: Int]] = [:]

    mutating func register(_ pair: Pair, reporter line: inout LineParser) {
        if let first = fingerprints[pair.fingerprint] {
            line.fail("destination", "duplicate pair: same source and destination as line \(first) (fingerprint \(pair.fingerprint))")
            return
        }
        fingerprints[pair.fingerprint] = pair.line
        if let first = destinations[pair.destination] {
            line.fail("destination", "destination \(UntrustedText.quoted(pair.destination.description)) already used on line \(first)")
        } else {
            destinations[pair.destination] = pair.line
        }
        if case .mbuffer(let mbuffer) = pair.options.transport {
            if let first = ports[pair.destination.host]?[mbuffer.port] {
                line.fail("port", "port \(mbuffer.port) already used on line \(first) for destination host \(UntrustedText.quoted(pair.destination.host.rawValue))")
            } else {
                ports[pair.destination.host, default: [:]][mbuffer.port] = pair.line
            }
        }
    }
}

/// Parses one line, collecting its errors.
private struct LineParser {
    let file: String
    let line: Int
    var errors: [ConfigError] = []

    init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    mutating func fail(_ field: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, field: field, message: message))
    }

    mutating func invalid(_ field: String, _ value: some StringProtocol, _ reason: String) {
        fail(field, "invalid value \(UntrustedText.quoted(value)) (\(reason))")
    }

    /// The pair on this line, nil for a blank or comment line or when the line has errors.
    mutating func parse(_ text: String) -> Pair? {
        let content = text.unicodeScalars.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
            ?? Substring.UnicodeScalarView()
        let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String(Substring($0)) }
        if fields.isEmpty { return nil }
        let source = endpoint(fields[0], side: "source")
        guard fields.count >= 2 else {
            fail("destination", "missing destination (expected SOURCE DESTINATION [OPTIONS])")
            return nil
        }
        let destination = endpoint(fields[1], side: "destination")
        let options = OptionsParser.parse(fields.dropFirst(2), into: &self)
        guard let source, let destination, let options, errors.isEmpty else { return nil }
        return Pair(source: source, destination: destination, options: options, line: line)
    }

    private mutating func endpoint(_ text: String, side: String) -> Endpoint? {
        if let bad = UntrustedText.unprintableCharacter(in: text) {
            fail(side, "\(bad) in \(UntrustedText.quoted(text))\(bad.hasPrefix("carriage") ? " (DOS line endings?)" : "")")
            return nil
        }
        switch Endpoint.parse(text, side: side) {
        case .success(let endpoint):
            return endpoint
        case .failure(.malformed(let reason)):
            invalid(side, text, reason)
        case .failure(.host(let reason)):
            invalid(side, text, reason)
        case .failure(.dataset(let problem)):
            invalid(side, text, "invalid ZFS name: \(problem.reason)")
        }
        return nil
    }

    mutating func checkPrintable(_ field: String, _ value: Substring) -> Bool {
        guard let bad = UntrustedText.unprintableCharacter(in: value) else { return true }
        fail(field, "\(bad) in \(UntrustedText.quoted(value))\(bad.hasPrefix("carriage") ? " (DOS line endings?)" : "")")
        return false
    }
}

/// Parses the options fields of a line into `PairOptions`.
private enum OptionsParser {
    enum Key: String, CaseIterable {
        case transport, port, sshport, sshkey, sshuser, wlag, clag, wrun, crun, compress, rate, buffer, listen, keep, rollback, stall
        case raw, compressed, mountpoints, exactsize
    }

    static let maximumValueLength = 1024
    static let maximumKeep = 10000

    static func parse(_ fields: ArraySlice<String>, into line: inout LineParser) -> PairOptions? {
        var values: [Key: Substring] = [:]
        let errorsBefore = line.errors.count
        for field in fields {
            for item in field.split(separator: ",") {
                guard let equals = item.firstIndex(of: "=") else {
                    guard line.checkPrintable("options", item) else { continue }
                    line.fail("options", "invalid option \(UntrustedText.quoted(item)) (expected key=value)")
                    continue
                }
                let name = item[..<equals]
                let value = item[item.index(after: equals)...]
                guard let key = Key(rawValue: String(name)) else {
                    guard line.checkPrintable("options", name) else { continue }
                    let known = Key.allCases.map(\.rawValue).joined(separator: ", ")
                    line.fail("options", "unknown key \(UntrustedText.quoted(name)) (known keys: \(known))")
                    continue
                }
                guard line.checkPrintable(key.rawValue, value) else { continue }
                if values[key] != nil {
                    line.fail(key.rawValue, "given twice on this line")
                } else if value.isEmpty {
                    line.fail(key.rawValue, "empty value")
                } else if value.utf8.count > maximumValueLength {
                    line.fail(key.rawValue, "value longer than \(maximumValueLength) characters")
                } else {
                    values[key] = value
                }
            }
        }

        var options = PairOptions()
        var transportName: Substring?
        var port: TCPPort?
        var compression: Compression?
        var rate: ByteSize?
        var buffer: ByteSize?
        var listen: ListenAddress?
        for key in Key.allCases {
            guard let value = values[key] else { continue }
            switch key {
            case .transport:
                if value == "mbuffer" || value == "ssh" { transportName = value }
                else { line.invalid("transport", value, "expected mbuffer or ssh") }
            case .port:
                port = tcpPort(value, key: key, line: &line)
            case .sshport:
                options.ssh.port = tcpPort(value, key: key, line: &line)
            case .sshkey:
                if let reason = keyPathProblem(value) { line.invalid("sshkey", value, reason) }
                else { options.ssh.keyPath = String(value) }
            case .sshuser:
                if let reason = userProblem(value) { line.invalid("sshuser", value, reason) }
                else { options.ssh.user = String(value) }
            case .wlag: options.thresholds.warningLag = timeSpan(value, key: key, line: &line)
            case .clag: options.thresholds.criticalLag = timeSpan(value, key: key, line: &line)
            case .wrun: options.thresholds.warningRun = timeSpan(value, key: key, line: &line)
            case .crun: options.thresholds.criticalRun = timeSpan(value, key: key, line: &line)
            case .compress:
                compression = Compression(rawValue: String(value))
                if compression == nil { line.invalid("compress", value, "expected none, zstd or lz4") }
            case .rate: rate = byteSize(value, key: key, line: &line)
            case .buffer: buffer = byteSize(value, key: key, line: &line)
            case .listen:
                if value == "*" {
                    listen = .anyInterface
                } else {
                    do { listen = .host(try HostName(String(value))) } catch {
                        line.invalid("listen", value, "expected * or a host name or address (\(error.reason))")
                    }
                }
            case .keep:
                if let keep = Int(value), value.allSatisfy(\.isNumber), (1...maximumKeep).contains(keep) {
                    options.keep = keep
                } else {
                    line.invalid("keep", value, "expected a whole number 1-\(maximumKeep)")
                }
            case .stall:
                if let span = timeSpan(value, key: key, line: &line) {
                    if span.seconds >= 1 { options.stallTimeout = span } else { line.invalid("stall", value, "expected at least 1 second") }
                }
            case .rollback:
                switch value {
                case "yes": options.rollback = true
                case "no": options.rollback = false
                default: line.invalid("rollback", value, "expected yes or no")
                }
            case .raw:
                if let raw = RawSending(rawValue: String(value)) { options.raw = raw }
                else { line.invalid("raw", value, "expected auto, yes or no") }
            case .compressed:
                switch value {
                case "yes": options.sendsStoredBlocks = true
                case "no": options.sendsStoredBlocks = false
                default: line.invalid("compressed", value, "expected yes or no; compression over ssh is compress=")
                }
            case .mountpoints:
                if let origin = MountpointOrigin(rawValue: String(value)) { options.mountpoints = origin }
                else { line.invalid("mountpoints", value, "expected destination or source") }
            case .exactsize:
                switch value {
                case "yes": options.countsStreamExactly = true
                case "no": options.countsStreamExactly = false
                default: line.invalid("exactsize", value, "expected yes or no")
                }
            }
        }

        // Combinations. Checked only for values that parsed, so one mistake gives one message.
        let usesMbuffer = transportName.map { $0 == "mbuffer" } ?? (values[.port] != nil)
        if usesMbuffer {
            if transportName != nil && values[.port] == nil {
                line.fail("transport", "transport=mbuffer needs the mbuffer port on the destination (add port=N)")
            }
            for key in [Key.compress, .exactsize] where values[key] != nil {
                line.fail(key.rawValue, "\(key.rawValue) applies only to transport=ssh (this pair uses mbuffer)")
            }
            if let port { options.transport = .mbuffer(MbufferOptions(port: port, rateLimit: rate, bufferSize: buffer, listen: listen)) }
        } else {
            if values[.port] != nil {
                line.fail("port", "port is the mbuffer port and is not used with transport=ssh")
            }
            for key in [Key.rate, .buffer, .listen] where values[key] != nil {
                line.fail(key.rawValue, "\(key.rawValue) applies only to transport=mbuffer (this pair uses ssh)")
            }
            if values[.exactsize] != nil, let compression, compression != .none {
                line.fail("exactsize", "exactsize applies only to compress=none (with compress=\(compression.rawValue) the decompressor counts the stream exactly)")
            }
            options.transport = .ssh(compression: compression ?? .none)
        }
        let thresholds = options.thresholds
        checkOrder(warning: thresholds.warningLag, critical: thresholds.criticalLag, names: (.wlag, .clag), line: &line)
        checkOrder(warning: thresholds.warningRun, critical: thresholds.criticalRun, names: (.wrun, .crun), line: &line)

        return line.errors.count == errorsBefore ? options : nil
    }

    static func checkOrder(warning: TimeSpan?, critical: TimeSpan?, names: (Key, Key), line: inout LineParser) {
        guard let warning, let critical, warning > critical else { return }
        line.fail(names.0.rawValue,
                  "warning threshold \(warning) is greater than critical threshold \(names.1.rawValue)=\(critical)")
    }

    static func tcpPort(_ value: Substring, key: Key, line: inout LineParser) -> TCPPort? {
        if let port = TCPPort(parsing: value) { return port }
        line.invalid(key.rawValue, value, "expected a TCP port 1-65535")
        return nil
    }

    static func timeSpan(_ value: Substring, key: Key, line: inout LineParser) -> TimeSpan? {
        if let span = TimeSpan(parsing: value) { return span }
        line.invalid(key.rawValue, value, "expected seconds, or a number with s, m, h or d such as 30m")
        return nil
    }

    static func byteSize(_ value: Substring, key: Key, line: inout LineParser) -> ByteSize? {
        if let size = ByteSize(parsing: value) { return size }
        line.invalid(key.rawValue, value, "expected a size such as 512k, 50M or 1G")
        return nil
    }

    /// Characters a key path may hold: nothing a shell or ssh would read specially.
    static func isPathCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "/", "+", "@", "%", ",", "=", ":", "~", "-": true
        default: false
        }
    }

    static func keyPathProblem(_ path: Substring) -> String? {
        if path.hasPrefix("-") { return "must not begin with '-'" }
        if !path.hasPrefix("/") { return "expected an absolute path" }
        if let bad = path.unicodeScalars.first(where: { !isPathCharacter($0) }) {
            return "invalid character '\(bad)' in path"
        }
        return nil
    }

    static let maximumUserLength = 32

    static func userProblem(_ user: Substring) -> String? {
        if user.hasPrefix("-") { return "must not begin with '-'" }
        if user.utf8.count > maximumUserLength { return "user name longer than \(maximumUserLength) characters" }
        if let bad = user.unicodeScalars.first(where: {
            !(("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
        }) {
            return "invalid character '\(bad)' in user name"
        }
        return nil
    }
}
