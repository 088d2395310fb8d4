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
    /// `-M`: act as the connection master (`-o ControlMaster=yes` does the same); `-MM` asks first.
    var master = false
    var masterCount = 0
    /// `-N`: no remote command (a master that only holds the connection).
    var noCommand = false
    /// `-f`: go to the background after authentication (implies `-n`).
    var fork = false
    /// `-G`: print the resolved configuration and exit.
    var printConfig = false
    /// `-O CMD`: a control request (`check`, `exit`) to the master at the control path.
    var controlRequest: String?
    /// `-S PATH`: the control socket (`-o ControlPath=PATH` is stored in `settings`); the last `-S` wins.
    var controlSocket: String?
    /// Flags that set a configuration value outright (`-C`, `-4`, `-T`, …), by ssh_config keyword: they
    /// override `-o`, as ssh(1) sets them straight into its options.
    var flagSettings: [String: String] = [:]
    var destination: String?
    var remoteWords: [String] = []
    /// `-i FILE` and `-o IdentityFile=FILE`, in command-line order (ssh keeps them all).
    var identityFiles: [IdentityFile] = []

    struct IdentityFile: Equatable {
        var path: String
        /// Given with `-i` (ssh drops one it cannot stat, with a warning).
        var fromFlag: Bool
    }

    /// The control socket as given, before `~` and `%` expansion: `-S`, else `-o ControlPath=`; nil for
    /// none given or `none` (any case).
    var rawControlPath: String? {
        guard let path = controlSocket ?? settings["controlpath"], path.lowercased() != "none" else { return nil }
        return path
    }

    /// `-n`, `-f` or `-o StdinNull=yes`: the remote command reads /dev/null.
    var stdinNull: Bool { ["yes", "true"].contains(value("stdinnull")?.lowercased() ?? "no") }

    /// A setting as ssh(1) resolves it from the command line: a flag's value, else the first `-o`.
    func value(_ key: String) -> String? { flagSettings[key] ?? settings[key] }

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
                        line.apply(flag: letter)
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

    private mutating func apply(flag: Character) {
        switch flag {
        case "q": quiet = true; flagSettings["loglevel"] = "QUIET"
        case "v":
            let level = ["DEBUG1": "DEBUG2", "DEBUG2": "DEBUG3", "DEBUG3": "DEBUG3"][flagSettings["loglevel"] ?? ""] ?? "DEBUG1"
            flagSettings["loglevel"] = level
        case "V": printVersion = true
        case "G": printConfig = true
        case "M":
            master = true
            masterCount += 1
            flagSettings["controlmaster"] = masterCount == 1 ? "yes" : "ask"
        case "N": noCommand = true; flagSettings["sessiontype"] = "none"
        case "f": fork = true; flagSettings["forkafterauthentication"] = "yes"; flagSettings["stdinnull"] = "yes"
        case "n": flagSettings["stdinnull"] = "yes"
        case "T": flagSettings["requesttty"] = "no"
        case "t": flagSettings["requesttty"] = flagSettings["requesttty"] == "yes" ? "force" : "yes"
        case "4": flagSettings["addressfamily"] = "inet"
        case "6": flagSettings["addressfamily"] = "inet6"
        case "A": flagSettings["forwardagent"] = "yes"
        case "a": flagSettings["forwardagent"] = "no"
        case "C": flagSettings["compression"] = "yes"
        case "g": flagSettings["gatewayports"] = "yes"
        case "x": flagSettings["forwardx11"] = "no"
        case "X": flagSettings["forwardx11"] = "yes"
        case "Y": flagSettings["forwardx11"] = "yes"; flagSettings["forwardx11trusted"] = "yes"
        default: break
        }
    }

    private mutating func apply(option: Character, value: String) {
        switch option {
        case "p": setting("port", value)
        case "l": setting("user", value)
        case "F": configFile = value
        case "i": identityFiles.append(IdentityFile(path: value, fromFlag: true))
        case "O": controlRequest = value
        case "S": controlSocket = value
        case "J": setting("proxyjump", value)
        case "o":
            // `-o Key=Value`, `-o Key Value`, `-oKey=Value`.
            let separator = value.firstIndex(where: { $0 == "=" || $0 == " " || $0 == "\t" })
            guard let separator else { return }
            let key = value[..<separator].lowercased()
            let rest = value[value.index(after: separator)...].drop(while: { $0 == " " || $0 == "=" || $0 == "\t" })
            if key == "identityfile" { identityFiles.append(IdentityFile(path: String(rest), fromFlag: false)) }
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
/// with `HostName` (`%h` expands to the name given), `Port`, `User`, the connection-sharing keywords
/// (`ControlMaster`, `ControlPath`, `ControlPersist`) and the keywords `-G` prints (`BatchMode`,
/// `ConnectTimeout`, `IdentityFile`, …); first obtained value wins; every other keyword (and `Match`
/// blocks) is tolerated and ignored.
enum SSHConfig {
    static let modelledKeys: Set<String> = [
        "hostname", "port", "user", "controlmaster", "controlpath", "controlpersist", "batchmode", "compression",
        "connecttimeout", "connectionattempts", "serveraliveinterval", "serveralivecountmax",
        "stricthostkeychecking", "userknownhostsfile", "loglevel", "forwardagent", "addressfamily", "hostkeyalias",
        "requesttty", "proxyjump", "stdinnull", "updatehostkeys",
    ]

    /// The keyword lines of a config file that apply to `host`, in order: lines before the first `Host`
    /// block apply to every host; `Match` blocks are not modelled and apply to none.
    static func applicableLines(for host: String, configText: String) -> [(String, String)] {
        var lines: [(String, String)] = []
        var applies = true
        for rawLine in configText.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let trimmed = rawLine.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let (key, value) = splitKeyword(trimmed) else { continue }
            switch key {
            case "host": applies = hostMatches(host, patterns: value)
            case "match": applies = false
            default: if applies { lines.append((key, value)) }
            }
        }
        return lines
    }

    /// The `IdentityFile` lines that apply to `host`, in order (ssh keeps them all).
    static func identityFiles(for host: String, configText: String) -> [String] {
        applicableLines(for: host, configText: configText).filter { $0.0 == "identityfile" }.map(\.1)
    }

    /// The first value of each modelled keyword that applies to `host` (ssh takes the first it reads).
    static func settings(for host: String, configText: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in applicableLines(for: host, configText: configText) where modelledKeys.contains(key) && result[key] == nil {
            result[key] = key == "hostname" ? expand(value, host: host) : value
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
