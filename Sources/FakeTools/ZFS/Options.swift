/// getopt(3)-style option parsing as glibc does it: grouped flags (`-rHp`), option arguments attached
/// or separate (`-d1`, `-d 1`), operands and options in any order, `--` ends options.
struct Options {
    /// Options in the order given, with their arguments.
    var list: [(Character, String?)] = []
    var operands: [String] = []

    func has(_ flag: Character) -> Bool { list.contains { $0.0 == flag } }
    func value(_ flag: Character) -> String? { list.last { $0.0 == flag }?.1 }
    func values(_ flag: Character) -> [String] { list.filter { $0.0 == flag }.compactMap { $0.1 } }

    /// `spec` lists accepted letters, a `:` after a letter means it takes an argument.
    /// Errors are the reason line of a usage failure (`invalid option 'x'`).
    static func parse(_ arguments: [String], spec: String) -> Result<Options, Failure> {
        var takesArgument: [Character: Bool] = [:]
        let characters = Array(spec)
        for (i, c) in characters.enumerated() where c != ":" {
            takesArgument[c] = i + 1 < characters.count && characters[i + 1] == ":"
        }
        var result = Options()
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if argument == "--" {
                result.operands += arguments[i...]
                break
            }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                result.operands.append(argument)
                continue
            }
            var letters = Array(argument.dropFirst())
            while !letters.isEmpty {
                let letter = letters.removeFirst()
                guard let needsArgument = takesArgument[letter] else {
                    return .failure(Failure("invalid option '\(letter)'"))
                }
                if needsArgument {
                    if !letters.isEmpty {
                        result.list.append((letter, String(letters)))
                        letters = []
                    } else if i < arguments.count {
                        result.list.append((letter, arguments[i]))
                        i += 1
                    } else {
                        return .failure(Failure("missing argument for '\(letter)' option"))
                    }
                } else {
                    result.list.append((letter, nil))
                }
            }
        }
        return .success(result)
    }
}
