import CommandGraph
import Zettabee

/// Parses `zettabee [options] <action> [<destination>]`.
///
/// Conventions: `--opt=value` and `--opt value`; grouped short flags (`-dv`), a short option's
/// value attached or next (`-cFILE`, `-c FILE`); `--` ends options; options may come before or
/// after the action and destination; the last of a repeated option wins. Precedence: command
/// line, then environment, then defaults. `-h`/`--help` and `-V`/`--version` win over everything
/// else on the line.
public enum CommandLineParser {
    /// The longest value accepted for a path or host.
    static let maximumValueLength = 4096
    static let maximumJobs = 64

    /// `arguments` excludes the program name; `environment` is the process environment.
    public static func parse(_ arguments: [String], environment: [String: String]) throws(UsageError) -> CommandLineRequest {
        let beforeSeparator = arguments.prefix { $0 != "--" }
        if beforeSeparator.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help }
        if beforeSeparator.contains(where: { $0 == "-V" || $0 == "--version" }) { return .version }
        if beforeSeparator.contains(HelpText.manualOption) { return .manual }

        var options = Options()
        try applyEnvironment(environment, to: &options)

        var positionals: [String] = []
        /// The options given on the command line, checked against the action once it is known.
        var given: [OptionSpec] = []
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
            } else if argument == "--" {
                optionsEnded = true
            } else if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.prefix { $0 != "=" }
                guard let spec = OptionSpec.allCases.first(where: { $0.long == String(name) }) else {
                    throw UsageError("Unknown option \(UntrustedText.quoted(argument.prefix { $0 != "=" }))")
                }
                let attached = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                given.append(spec)
                if spec.valueName == nil {
                    if attached != nil { throw UsageError("Option '--\(name)' does not take a value") }
                    if let request = try apply(spec, value: nil, to: &options) { return request }
                } else {
                    var value = attached
                    if value == nil { value = try nextValue(for: spec, arguments, &index) }
                    _ = try apply(spec, value: value, to: &options)
                }
            } else {
                // A group of short options: flags, possibly ending in one that takes a value.
                var letters = Substring(argument.dropFirst())
                while let letter = letters.first {
                    letters = letters.dropFirst()
                    guard let spec = OptionSpec.allCases.first(where: { $0.short == letter }) else {
                        throw UsageError("Unknown option \(UntrustedText.quoted("-" + String(letter)))")
                    }
                    given.append(spec)
                    if spec.valueName == nil {
                        if let request = try apply(spec, value: nil, to: &options) { return request }
                    } else {
                        var value = String(letters)
                        if letters.isEmpty { value = try nextValue(for: spec, arguments, &index) }
                        _ = try apply(spec, value: value, to: &options)
                        letters = ""
                    }
                }
            }
        }

        guard let actionWord = positionals.first else {
            throw UsageError("Missing expected argument '<action>'")
        }
        guard let action = Action(rawValue: actionWord) else {
            let known = Action.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("Unknown action \(UntrustedText.quoted(actionWord)); expected one of: \(known)")
        }
        for spec in given {
            guard let actions = spec.actions, !actions.contains(action) else { continue }
            let applies = actions.map(\.rawValue).joined(separator: ", ")
            throw UsageError("Option '\(spec.errorName)' does not apply to action '\(action.rawValue)' (only to: \(applies))")
        }
        if options.json && (action == .initialize || action == .update) && !options.dryRun {
            throw UsageError("Option '--json' needs '--dry-run' for action '\(action.rawValue)'")
        }
        if options.jobs != nil && !options.all {
            throw UsageError("Option '--jobs <n>' needs '--all'")
        }
        if positionals.count > 2 {
            throw UsageError("Unexpected argument \(UntrustedText.quoted(positionals[2]))")
        }
        let destination = positionals.count == 2 ? positionals[1] : nil
        if let destination {
            if options.all { throw UsageError("'--all' and a destination cannot be combined") }
            if let problem = valueProblem(destination) {
                throw UsageError("The value \(UntrustedText.quoted(destination)) is invalid for '<destination>': \(problem)")
            }
        } else if action.requiresDestination && !options.all {
            throw UsageError("Missing expected argument '<destination>' for action '\(action.rawValue)'")
        }
        return .run(Invocation(action: action, destination: destination, options: options))
    }

    /// The argument after an option that needs a value; one that looks like an option is not
    /// taken (`-c -n` is a missing value, not a config file named `-n`).
    private static func nextValue(for spec: OptionSpec, _ arguments: [String], _ index: inout Int) throws(UsageError) -> String {
        guard index < arguments.count, !(arguments[index].hasPrefix("-") && arguments[index] != "-") else {
            throw UsageError("Missing value for '\(spec.errorName)'")
        }
        index += 1
        return arguments[index - 1]
    }

    /// Sets the option; returns a request when the option is itself one (`-h` in a group).
    private static func apply(_ spec: OptionSpec, value: String?, to options: inout Options) throws(UsageError) -> CommandLineRequest? {
        func checked() throws(UsageError) -> String {
            let text = value ?? ""
            if let problem = valueProblem(text) {
                throw UsageError("The value \(UntrustedText.quoted(text)) is invalid for '\(spec.errorName)': \(problem)")
            }
            return text
        }
        switch spec {
        case .help: return .help
        case .version: return .version
        case .config: options.configPath = try checked()
        case .zonfig: options.pairsFile = try checked()
        case .runDir: options.runDirectory = try checked()
        case .logDir: options.logDirectory = try checked()
        case .metricsDir: options.metricsDirectory = try checked()
        case .sshConfig: options.sshConfigPath = try checked()
        case .sendNSCA: options.sendNSCAPath = try checked()
        case .sendNSCAConfig: options.sendNSCAConfigPath = try checked()
        case .dryRun: options.dryRun = true
        case .debug: options.debug = true
        case .verbose: options.verbose = true
        case .quiet: options.quiet = true
        case .fullStatus: options.fullStatus = true
        case .scripted: options.scriptedOutput = true
        case .json: options.json = true
        case .forceRollback: options.forceRollback = true
        case .all: options.all = true
        case .nagios:
            let host = try checked()
            do {
                _ = try HostName(host)
            } catch {
                throw UsageError("The value \(UntrustedText.quoted(host)) is invalid for '\(spec.errorName)': \(error.reason)")
            }
            options.nagiosHost = host
        case .nscaPort:
            let text = try checked()
            guard let port = TCPPort(parsing: text) else {
                throw UsageError("The value \(UntrustedText.quoted(text)) is invalid for '\(spec.errorName)': expected a TCP port 1-65535")
            }
            options.nscaPort = Int(port.number)
        case .jobs:
            let text = try checked()
            guard text.utf8.allSatisfy({ (48...57).contains($0) }), let jobs = Int(text), (1...maximumJobs).contains(jobs) else {
                throw UsageError("The value \(UntrustedText.quoted(text)) is invalid for '\(spec.errorName)': expected a whole number 1-\(maximumJobs)")
            }
            options.jobs = jobs
        }
        return nil
    }

    /// Why a path, host or destination value is refused, or nil.
    static func valueProblem(_ value: String) -> String? {
        if value.isEmpty { return "empty value" }
        if value.hasPrefix("-") { return "must not begin with '-'" }
        if value.utf8.count > maximumValueLength { return "longer than \(maximumValueLength) characters" }
        return UntrustedText.unprintableCharacter(in: value)
    }

    /// Environment variables fill in what the defaults would; the command line then overrides.
    private static func applyEnvironment(_ environment: [String: String], to options: inout Options) throws(UsageError) {
        for spec in OptionSpec.allCases {
            guard let variable = spec.environmentVariable, let value = environment[variable], !value.isEmpty else { continue }
            if let problem = valueProblem(value) {
                throw UsageError("The value \(UntrustedText.quoted(value)) of environment variable \(variable) is invalid: \(problem)")
            }
            _ = try apply(spec, value: value, to: &options)
        }
    }
}
