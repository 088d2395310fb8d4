/// Quoting words for a POSIX shell: the one place where a word becomes shell text.
///
/// Used for the line an ssh hands to the remote login shell and for `--dry-run` output, so both
/// follow the same rules: a word of only `[A-Za-z0-9_@%+=:,./-]` stays bare; anything else is put in
/// single quotes, with each `'` written `'\''`; the empty word is `''`.
public enum ShellQuoting {
    /// `word` as one shell word.
    public static func quote(_ word: String) -> String {
        if word.isEmpty { return "''" }
        if word.unicodeScalars.allSatisfy(isBare) { return word }
        var quoted = "'"
        for character in word.unicodeScalars {
            if character == "'" {
                quoted += "'\\''"
            } else {
                quoted.unicodeScalars.append(character)
            }
        }
        quoted += "'"
        return quoted
    }

    /// The words quoted and joined by single spaces: a shell command line.
    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    /// Whether `scalar` may appear in a word left unquoted.
    static func isBare(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "_", "@", "%", "+", "=", ":", ",", ".", "/", "-": return true
        default: return false
        }
    }
}
