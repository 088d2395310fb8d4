/// Dataset name rules of `zfs_namecheck.c` and the small helpers to take names apart.
enum Names {
    static let maxLength = 255

    static func isValidCharacter(_ c: Character) -> Bool {
        guard c.isASCII, let v = c.asciiValue else { return false }
        return (v >= 0x61 && v <= 0x7a) || (v >= 0x41 && v <= 0x5a) || (v >= 0x30 && v <= 0x39)
            || c == "_" || c == "." || c == ":" || c == " " || c == "-"
    }

    /// Why `name` cannot name a new filesystem (create, clone, rename): a snapshot or bookmark
    /// delimiter, or any `problem`; nil when it can.
    static func filesystemProblem(_ name: String) -> String? {
        if name.contains("@") { return "snapshot delimiter '@' is not expected here" }
        if name.contains("#") { return "bookmark delimiter '#' is not expected here" }
        return problem(name)
    }

    /// Why `name` is not a valid dataset, snapshot or bookmark name; nil when it is.
    /// `allowPercent` is false where `%` would be taken literally (create, snapshot).
    static func problem(_ name: String, requireSnapshot: Bool = false) -> String? {
        if name.count > maxLength { return "name is too long" }
        if name.hasPrefix("/") { return "leading slash in name" }
        if name.isEmpty { return "empty component or misplaced '@' or '#' delimiter in name" }
        let delimiters = name.filter { $0 == "@" || $0 == "#" }.count
        if delimiters > 1 { return "multiple '@' and/or '#' delimiters in name" }
        if requireSnapshot && !name.contains("@") { return "missing '@' delimiter in snapshot name" }
        if name.hasSuffix("/") { return "trailing slash in name" }
        let (path, tail) = split(name)
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "empty component or misplaced '@' or '#' delimiter in name" }
            if component == "." { return "self reference, '.' is found in name" }
            if component == ".." { return "parent reference, '..' is found in name" }
            if let bad = component.first(where: { !isValidCharacter($0) }) { return characterProblem(bad) }
        }
        if let tail {
            if tail.isEmpty { return "empty component or misplaced '@' or '#' delimiter in name" }
            if let bad = tail.first(where: { !isValidCharacter($0) }) { return characterProblem(bad) }
        }
        let pool = path.split(separator: "/").first.map(String.init) ?? path
        if let first = pool.first, !first.isLetter { return "pool name must begin with a letter" }
        for reserved in ["mirror", "raidz", "draid"] where pool.hasPrefix(reserved) && path == pool {
            return "name is reserved"
        }
        return nil
    }

    static func characterProblem(_ c: Character) -> String {
        c == "%" ? "invalid character % in name" : "invalid character '\(c)' in name"
    }

    /// `pool/fs@snap` → (`pool/fs`, `snap`); `pool/fs#bm` → (`pool/fs`, `bm`); `pool/fs` → (`pool/fs`, nil).
    static func split(_ name: String) -> (String, String?) {
        if let at = name.firstIndex(where: { $0 == "@" || $0 == "#" }) {
            return (String(name[..<at]), String(name[name.index(after: at)...]))
        }
        return (name, nil)
    }

    static func pool(of name: String) -> String {
        String(split(name).0.split(separator: "/", omittingEmptySubsequences: false).first ?? "")
    }

    static func parent(of fs: String) -> String? {
        guard let slash = fs.lastIndex(of: "/") else { return nil }
        return String(fs[..<slash])
    }

    /// Depth below `base` (`pool/a` is 1 below `pool`).
    static func depth(_ fs: String, below base: String) -> Int {
        fs == base ? 0 : fs.dropFirst(base.count).filter { $0 == "/" }.count
    }

    static func isDescendant(_ fs: String, of base: String) -> Bool {
        fs == base || fs.hasPrefix(base + "/")
    }

    /// A user property name: contains `:`, only `[a-z0-9:._-]`, under 256 characters.
    static func isValidUserProperty(_ name: String) -> Bool {
        guard name.contains(":"), name.count < 256, let first = name.first, first != ":" || name.count > 1 else { return false }
        return name.allSatisfy { c in
            guard let v = c.asciiValue else { return false }
            return (v >= 0x61 && v <= 0x7a) || (v >= 0x30 && v <= 0x39) || c == ":" || c == "." || c == "_" || c == "-"
        }
    }
}
