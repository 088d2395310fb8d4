import CommandGraph
/// A host name or IP address as ssh takes it: letters, digits, `.`, `-`, `_`, never a leading
/// `-` (ssh would read it as an option); an IPv6 address is written in brackets in the
/// configuration (`[2001:db8::1]:tank/fs`) and held here without them.
public struct HostName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// The longest DNS name.
    public static let maximumLength = 253

    /// Validates `rawValue`, throwing the reason in words when it is not a usable host.
    public init(_ rawValue: String) throws(InvalidHostName) {
        if let problem = HostName.problem(rawValue) { throw InvalidHostName(reason: problem) }
        self.rawValue = rawValue
    }

    static func problem(_ host: String) -> String? {
        if host.isEmpty { return "empty host name" }
        if host.utf8.count > maximumLength { return "host name longer than \(maximumLength) characters" }
        if host.hasPrefix("-") { return "host name must not begin with '-'" }
        if let bad = UntrustedText.unprintableCharacter(in: host) { return "\(bad) in host name" }
        let isIPv6 = host.contains(":")
        for scalar in host.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_": continue
            case ":" where isIPv6: continue
            case "@": return "'@' in host name (give the user with sshuser=)"
            default: return "invalid character '\(scalar)' in host name"
            }
        }
        if isIPv6 && !host.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." }) {
            return "invalid IPv6 address"
        }
        return nil
    }

    /// How the host is written before `:dataset` in the configuration and in status output.
    public var endpointText: String { rawValue.contains(":") ? "[\(rawValue)]" : rawValue }

    public var description: String { rawValue }

    public static func < (a: HostName, b: HostName) -> Bool { a.rawValue < b.rawValue }
}

/// Why a host name was rejected.
public struct InvalidHostName: Error, Hashable, Sendable {
    public var reason: String
}
