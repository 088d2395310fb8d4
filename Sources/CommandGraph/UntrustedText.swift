/// Renders an untrusted value inside a one-line error message: quoted, control characters
/// escaped, long values cut, so a hostile value can neither forge lines nor flood a log.
public enum UntrustedText {
    public static func quoted(_ value: some StringProtocol, limit: Int = 80) -> String {
        let shown = escaped(value, escapingQuotes: true)
        return "'" + (shown.count > limit ? String(shown.prefix(limit - 3)) + "..." : shown) + "'"
    }

    /// `value` with newlines, tabs, carriage returns, backslashes and other control characters written
    /// as escapes (and `'` too when `escapingQuotes`), so that it stays on one line.
    public static func escaped(_ value: some StringProtocol, escapingQuotes: Bool = false) -> String {
        var shown = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": shown += "\\n"
            case "\t": shown += "\\t"
            case "\r": shown += "\\r"
            case "'" where escapingQuotes: shown += "\\'"
            case "\\": shown += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    shown += "\\x" + String(scalar.value, radix: 16)
                } else {
                    shown.unicodeScalars.append(scalar)
                }
            }
        }
        return shown
    }

    /// The first character of `value` that is not printable ASCII, described for an error
    /// message (`carriage return`, `non-ASCII character 'é'`), or nil when there is none.
    public static func unprintableCharacter(in value: some StringProtocol) -> String? {
        for scalar in value.unicodeScalars {
            switch scalar.value {
            case 0x0d: return "carriage return (\\r)"
            case 0x0a: return "newline (\\n)"
            case 0x09: return "tab"
            case 0..<0x20, 0x7f: return "control character \\x" + String(scalar.value, radix: 16)
            case 0x80...: return "non-ASCII character '\(scalar)'"
            default: continue
            }
        }
        return nil
    }
}
