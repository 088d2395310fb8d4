import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fake `send_nsca` (NSCA client 2.10.2). Reads check results from stdin as the real one does: results
/// are separated by ETB (0x17, or `-ds`), NOT by newlines — a newline inside a result is part of its
/// output, and trailing newlines are trimmed. Each result is `host⇥service⇥code⇥output` (service check)
/// or `host⇥code⇥output` (host check), split on the `-d` delimiter (default TAB; `0x..` accepted); the
/// code is read like atoi. Each result is appended to `$ZFAKE_WORLD/nsca.log` as one JSON line with
/// host, service (absent for host checks), code, output, and the `-H`/`-p` given.
///
/// Fault rule (`"tool":"send_nsca"`): `unreachable` fails as the real client does when nothing listens
/// (`Connection refused by host` / `Error: Could not connect to host H on port P`, exit 2).
enum SendNscaTool {
    struct Result: Equatable {
        var host: String
        var service: String?
        var code: Int
        var output: String
    }

    static func main(_ arguments: [String]) -> Int32 {
        let world = FakeWorld.fromEnvironment()
        let invocation = NetCall(world: world, tool: "send_nsca", arguments: arguments)
        var serverHost: String?
        var port = "5667"
        var fieldDelimiter: Character = "\t"
        var setDelimiter: Character = "\u{17}"
        var quiet = false
        var configFile: String?
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            let value = index < arguments.count ? arguments[index] : nil
            switch word {
            case "-H": serverHost = value; index += 1
            case "-p": port = value ?? port; index += 1
            case "-to": index += 1
            case "-c": configFile = value; index += 1
            case "-d": fieldDelimiter = value.flatMap(delimiter) ?? fieldDelimiter; index += 1
            case "-ds": setDelimiter = value.flatMap(delimiter) ?? setDelimiter; index += 1
            case "--quiet": quiet = true
            case "--legacy-2-7-mode": break
            default: break
            }
        }
        guard let serverHost else {
            NetIO.writeAll(1, usage)
            return invocation.finish(3)
        }
        if let configFile, access(configFile, R_OK) != 0 {
            NetIO.writeAll(1, "Could not open config file '\(configFile)' for reading.\n")
            NetIO.writeAll(1, "Error: Config file '\(configFile)' contained errors...\n")
            return invocation.finish(2)
        }
        let faults = Faults.firing(in: world, tool: "send_nsca", subcommand: nil, arguments: arguments)
        if let rule = faults.first {
            guard rule.effect == "unreachable" else {
                NetIO.stderr("zfake send_nsca: unknown fault effect '\(rule.effect)'\n")
                return invocation.finish(70)
            }
            NetIO.stderr("Connection refused by host\nError: Could not connect to host \(serverHost) on port \(port)\n")
            return invocation.finish(2)
        }
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let results = parse(input, field: fieldDelimiter, set: setDelimiter)
        appendToLog(results, world: world, serverHost: serverHost, port: port)
        if !quiet || results.isEmpty {
            NetIO.writeAll(1, "\(results.count) data packet(s) sent to host successfully.\n")
        }
        return invocation.finish(results.isEmpty ? 2 : 0)
    }

    /// `\t`, a single character, or a hex value like `0x09`.
    static func delimiter(_ text: String) -> Character? {
        if text.lowercased().hasPrefix("0x"), let value = UInt32(text.dropFirst(2), radix: 16),
           let scalar = Unicode.Scalar(value) {
            return Character(scalar)
        }
        return text.first
    }

    static func parse(_ input: String, field: Character, set: Character) -> [Result] {
        input.split(separator: set, omittingEmptySubsequences: true).compactMap { raw in
            var text = Substring(raw)
            while let last = text.last, last == "\n" || last == "\r" { text = text.dropLast() }
            let fields = text.split(separator: field, maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            switch fields.count {
            case 4: return Result(host: fields[0], service: fields[1], code: atoiLike(fields[2]), output: fields[3])
            case 3: return Result(host: fields[0], service: nil, code: atoiLike(fields[1]), output: fields[2])
            default: return nil
            }
        }
    }

    /// atoi(3): leading blanks, optional sign, digits; anything else gives 0.
    static func atoiLike(_ text: String) -> Int {
        var rest = text.drop(while: { $0 == " " || $0 == "\t" })
        var sign = 1
        if let first = rest.first, first == "-" || first == "+" {
            if first == "-" { sign = -1 }
            rest = rest.dropFirst()
        }
        return sign * (Int(String(rest.prefix(while: \.isASCII).prefix(while: \.isNumber))) ?? 0)
    }

    static func appendToLog(_ results: [Result], world: FakeWorld, serverHost: String, port: String) {
        guard !results.isEmpty else { return }
        var data = Data()
        for result in results {
            var entry: [String: Any] = [
                "host": result.host, "code": result.code, "output": result.output,
                "server": serverHost, "port": port,
            ]
            entry["service"] = result.service
            guard let line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { continue }
            data.append(line)
            data.append(0x0a)
        }
        let path = "\(world.directory)/nsca.log"
        try? FileManager.default.createDirectory(atPath: world.directory, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        FileLock.withLock(fd: fd) { data.withUnsafeBytes { _ = NetIO.writeAll(fd, $0.baseAddress!, $0.count) } }
    }

    static let usage = """

        NSCA Client 2.10.2
        Copyright (c) 2000-2007 Ethan Galstad (www.nagios.org)
        Last Modified: 2022-06-06
        License: GPL v2
        Encryption Routines: AVAILABLE

        Usage: send_nsca [--quiet] -H <host_address> [-p port] [-to to_sec] [-d delim] [-ds set_delim] [-c config_file] [--legacy-2-7-mode]


        """
}
