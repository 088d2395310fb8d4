import Foundation

/// The original Zettabee's settings file (from its version 0.8.5: YAML in `zettabee.cfg`, the pairs
/// in `zettabee.zfg`). zettabee reads the flat `key: value` form that file has, keys written as Ruby
/// symbols (`:nagios: host`) or plainly (`nagios: host`). Pure.
public struct OriginalSettings: Hashable, Sendable {
    /// `nagios`: the NSCA server results go to (`-N`); nil when absent or `false`.
    public var nagiosHost: String?
    public var debug = false
    public var verbose = false
    /// `fullstatus` (`-F`).
    public var fullStatus = false
    /// `zonfig`: the pairs file.
    public var pairsFile: String?
    /// Keys zettabee has no use for, in file order.
    public var ignoredKeys: [String] = []

    public init() {}

    /// The keys that mean something here.
    public static let honouredKeys = ["nagios", "debug", "verbose", "fullstatus", "zonfig"]

    /// True when `text` has the shape of such a file rather than of a pairs file: every line that is not
    /// blank, a comment or `---` is `key: value` (a pair line is `host:fs host:fs`, with no blank after
    /// its colons), and there is at least one.
    public static func looksLikeSettings(_ text: String) -> Bool {
        var sawKey = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line == "---" { continue }
            guard keyAndValue(line) != nil else { return false }
            sawKey = true
        }
        return sawKey
    }

    /// Parses the file; an error names the line and what is wrong.
    public static func parse(fileName: String, text: String) throws(ConfigError) -> OriginalSettings {
        var settings = OriginalSettings()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line == "---" { continue }
            guard let (key, value) = keyAndValue(line) else {
                throw ConfigError(file: fileName, line: index + 1, field: "settings", message: "expected 'key: value'")
            }
            func flag() throws(ConfigError) -> Bool {
                switch value.lowercased() {
                case "true", "yes", "on": return true
                case "false", "no", "off", "", "~", "null": return false
                default:
                    throw ConfigError(file: fileName, line: index + 1, field: key, message: "expected true or false, not '\(value)'")
                }
            }
            switch key {
            case "nagios":
                let off = ["false", "no", "off", "", "~", "null"].contains(value.lowercased())
                settings.nagiosHost = off ? nil : value
            case "debug": settings.debug = try flag()
            case "verbose": settings.verbose = try flag()
            case "fullstatus": settings.fullStatus = try flag()
            case "zonfig": settings.pairsFile = value.isEmpty ? nil : value
            default: settings.ignoredKeys.append(key)
            }
        }
        return settings
    }

    /// `key: value` or `:key: value`, the value unquoted; nil for anything else.
    static func keyAndValue(_ line: String) -> (String, String)? {
        var rest = Substring(line)
        if rest.hasPrefix(":") { rest = rest.dropFirst() }
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let key = rest[..<colon]
        let after = rest[rest.index(after: colon)...]
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), after.isEmpty || after.first == " " || after.first == "\t"
        else { return nil }
        var value = after.trimmingCharacters(in: .whitespaces)
        if let hash = value.range(of: " #") { value = String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
        if value.count >= 2, let first = value.first, first == value.last, first == "'" || first == "\"" {
            value = String(value.dropFirst().dropLast())
        }
        return (String(key), value)
    }
}
