import Foundation

/// An ssh command line parsed the way OpenSSH parses it: getopt-style options (grouped flags, attached
/// or separate arguments), the destination, more options after the destination, `--`, then the remote
/// words, which are later joined with single spaces into one command line.
struct SSHCommandLine: Equatable {
    /// Command-line settings by lowercase ssh_config keyword (`port`, `user`, `hostname`, …); the first
    /// value given wins, as in OpenSSH.
    var settings: [String: String] = [:]
    var configFile: String?
    var quiet = false
    var printVersion = false
    /// `-M`: act as the connection master (`-o ControlMaster=yes` does the same).
    var master = false
    /// `-N`: no remote command (a master that only holds the connection).
    var noCommand = false
    /// `-O CMD`: a control request (`check`, `exit`) to the master at the control path.
    var controlRequest: String?
    /// `-S PATH`: the control socket (`-o ControlPath=PATH` is stored in `settings`).
    var controlSocket: String?
    var destination: String?
    var remoteWords: [String] = []

    /// The control socket: `-S`, else `-o ControlPath=` (`none` disables it).
    var controlPath: String? {
        guard let path = controlSocket ?? settings["controlpath"], path != "none" else { return nil }
        return path
    }

    /// The one line handed to the remote shell, or nil for an interactive session.
    var remoteLine: String? { remoteWords.isEmpty ? nil : remoteWords.joined(separator: " ") }

    /// Options that take an argument (OpenSSH 9.2's getopt string).
    static let optionsWithArgument = Set("BbcDEeFIiJLlmOoPpQRSWw")
    static let flags = Set("46AaCfGgKkMNnqsTtVvXxYy")

    enum ParseError: Error, Equatable {
        case unknownOption(Character)
        case missingArgument(Character)
        case missingDestination
    }

    static func parse(_ arguments: [String]) -> Result<SSHCommandLine, ParseError> {
        var line = SSHCommandLine()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if !optionsEnded && word == "--" {
                optionsEnded = true
                continue
            }
            if !optionsEnded && word.hasPrefix("-") && word.count > 1 {
                var letters = Substring(word.dropFirst())
                while let letter = letters.first {
                    letters = letters.dropFirst()
                    if flags.contains(letter) {
                        if letter == "q" { line.quiet = true }
                        if letter == "V" { line.printVersion = true }
                        if letter == "M" { line.master = true }
                        if letter == "N" { line.noCommand = true }
                        continue
                    }
                    guard optionsWithArgument.contains(letter) else { return .failure(.unknownOption(letter)) }
                    let value: String
                    if !letters.isEmpty {
                        value = String(letters)
                        letters = ""
                    } else if index < arguments.count {
                        value = arguments[index]
                        index += 1
                    } else {
                        return .failure(.missingArgument(letter))
                    }
                    line.apply(option: letter, value: value)
                }
                continue
            }
            if line.destination == nil {
                line.setDestination(word)
                continue
            }
            // The first word after the destination that is not an option starts the remote command.
            line.remoteWords = Array(arguments[(index - 1)...])
            break
        }
        if line.destination == nil && !line.printVersion { return .failure(.missingDestination) }
        return .success(line)
    }

    private mutating func setting(_ key: String, _ value: String) {
        if settings[key] == nil { settings[key] = value }
    }

    private mutating func apply(option: Character, value: String) {
        switch option {
        case "p": setting("port", value)
        case "l": setting("user", value)
        case "F": configFile = value
        case "i": setting("identityfile", value)
        case "O": controlRequest = value
        case "S": if controlSocket == nil { controlSocket = value }
        case "o":
            // `-o Key=Value`, `-o Key Value`, `-oKey=Value`.
            let separator = value.firstIndex(where: { $0 == "=" || $0 == " " || $0 == "\t" })
            guard let separator else { return }
            let key = value[..<separator].lowercased()
            let rest = value[value.index(after: separator)...].drop(while: { $0 == " " || $0 == "=" || $0 == "\t" })
            setting(key, String(rest))
        default: break
        }
    }

    /// `[user@]host` (the last `@` splits) or `ssh://[user@]host[:port]`.
    private mutating func setDestination(_ word: String) {
        var rest = Substring(word)
        var uriPort: String?
        if rest.hasPrefix("ssh://") {
            rest = rest.dropFirst("ssh://".count)
            if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("@") {
                uriPort = String(rest[rest.index(after: colon)...])
                rest = rest[..<colon]
            }
        }
        if let at = rest.lastIndex(of: "@") {
            setting("user", String(rest[..<at]))
            rest = rest[rest.index(after: at)...]
        }
        if let uriPort { setting("port", uriPort) }
        destination = String(rest)
    }
}

/// The subset of ssh_config(5) the fake models: `Host` blocks (globs, `!` negation, several patterns)
/// with `HostName` (`%h` expands to the name given), `Port` and `User`; first obtained value wins; every
/// other keyword (and `Match` blocks) is tolerated and ignored.
enum SSHConfig {
    static let modelledKeys: Set<String> = ["hostname", "port", "user"]

    static func settings(for host: String, configText: String) -> [String: String] {
        var result: [String: String] = [:]
        var applies = true // lines before the first Host block apply to every host
        for rawLine in configText.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let trimmed = rawLine.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let (key, value) = splitKeyword(trimmed) else { continue }
            switch key {
            case "host": applies = hostMatches(host, patterns: value)
            case "match": applies = false
            default:
                if applies && modelledKeys.contains(key) && result[key] == nil {
                    result[key] = key == "hostname" ? expand(value, host: host) : value
                }
            }
        }
        return result
    }

    /// `Keyword value`, `Keyword=value` or `Keyword = value`; the value may be double-quoted.
    static func splitKeyword(_ line: String) -> (String, String)? {
        guard let end = line.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "=" }) else { return nil }
        let key = line[..<end].lowercased()
        var value = line[end...].drop(while: { $0 == " " || $0 == "\t" })
        if value.first == "=" { value = value.dropFirst().drop(while: { $0 == " " || $0 == "\t" }) }
        var text = String(value).trimmingCharacters(in: .whitespaces)
        if text.count >= 2 && text.hasPrefix("\"") && text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
        return (key, text)
    }

    static func hostMatches(_ host: String, patterns: String) -> Bool {
        var matched = false
        for pattern in patterns.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
            if pattern.hasPrefix("!") {
                if globMatches(String(pattern.dropFirst()), host) { return false }
            } else if globMatches(String(pattern), host) {
                matched = true
            }
        }
        return matched
    }

    static func expand(_ value: String, host: String) -> String {
        value.replacingOccurrences(of: "%%", with: "\u{0}")
            .replacingOccurrences(of: "%h", with: host)
            .replacingOccurrences(of: "\u{0}", with: "%")
    }
}
