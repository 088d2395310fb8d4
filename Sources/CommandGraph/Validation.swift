/// Checks for the plain values that go into commands: hosts, users, ports, paths. Each check throws
/// `InvalidValue` naming the field, so a bad configuration value is reported where it was given.
enum Check {
    /// A host name, an IPv4 address or an IPv6 literal: letters, digits and `.`, `-`, `_`, `:`, `%`
    /// (an IPv6 zone), never starting with `-` (it would be read as an option).
    static func host(_ value: String, field: String) throws(InvalidValue) {
        if value.isEmpty { throw InvalidValue(field: field, value: value, reason: "empty host") }
        if value.hasPrefix("-") {
            throw InvalidValue(field: field, value: value, reason: "host must not begin with '-'")
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "-", "_", ":", "%": continue
            case "@":
                throw InvalidValue(field: field, value: value, reason: "'@' in host: give the user separately")
            default:
                throw InvalidValue(field: field, value: value, reason: "invalid character \(describe(scalar)) in host")
            }
        }
    }

    /// A login name: `[A-Za-z0-9._-]`, not starting with `-`.
    static func user(_ value: String, field: String) throws(InvalidValue) {
        if value.isEmpty { throw InvalidValue(field: field, value: value, reason: "empty user") }
        if value.hasPrefix("-") {
            throw InvalidValue(field: field, value: value, reason: "user must not begin with '-'")
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": continue
            default:
                throw InvalidValue(field: field, value: value, reason: "invalid character \(describe(scalar)) in user")
            }
        }
    }

    static func port(_ value: Int, field: String) throws(InvalidValue) {
        guard (1...65535).contains(value) else {
            throw InvalidValue(field: field, value: String(value), reason: "port must be between 1 and 65535")
        }
    }

    /// A file path given to a program: non-empty, one line, no NUL, not starting with `-`.
    static func path(_ value: String, field: String) throws(InvalidValue) {
        if value.isEmpty { throw InvalidValue(field: field, value: value, reason: "empty path") }
        if value.hasPrefix("-") {
            throw InvalidValue(field: field, value: value, reason: "path must not begin with '-'")
        }
        try noLineBreakOrNUL(value, field: field)
    }

    /// No newline, carriage return or NUL (an argv word cannot hold NUL; a newline breaks line-based
    /// configuration and logs).
    static func noLineBreakOrNUL(_ value: String, field: String) throws(InvalidValue) {
        for scalar in value.unicodeScalars where scalar == "\n" || scalar == "\r" || scalar == "\0" {
            throw InvalidValue(field: field, value: value, reason: "\(describe(scalar)) not allowed")
        }
    }

    /// Non-empty and made only of the characters `allowed` accepts.
    static func word(
        _ value: String, field: String, what: String, allowed: (Unicode.Scalar) -> Bool
    ) throws(InvalidValue) {
        if value.isEmpty { throw InvalidValue(field: field, value: value, reason: "empty \(what)") }
        for scalar in value.unicodeScalars where !allowed(scalar) {
            throw InvalidValue(field: field, value: value, reason: "invalid character \(describe(scalar)) in \(what)")
        }
    }

    static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "newline"
        case "\r": return "carriage return"
        case "\t": return "tab"
        case "\0": return "NUL"
        case " ": return "space"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                return "control character 0x" + String(scalar.value, radix: 16)
            }
            return "'\(scalar)'"
        }
    }
}
