import Foundation

/// An mbuffer command line. Options the fake does not model (block counts, tape handling, hashes…) are
/// accepted and ignored, with or without their argument, as the real parser expects them.
struct MbufferOptions {
    var inputFile: String?            // -i
    var listen: (host: String?, port: UInt16)? // -I [host:]port
    var outputFiles: [String] = []    // -o
    var connect: [(host: String, port: UInt16)] = [] // -O host:port
    var readRate: Double?             // -r, bytes per second
    var writeRate: Double?            // -R
    var blockSize: Int?               // -s
    var quiet = false                 // -q: no status on stderr
    var quietLog = false              // -Q: no status in the log file
    var logFile: String?              // -l
    var watchdog: Double?             // -W seconds
    var verbose = 3                   // -v: 1 fatal, 2 errors, 3 warnings, 4 information
    var hasAutoloader = false         // -A
    var showVersion = false
    var showHelp = false

    static let withArgument: Set<String> = [
        "-i", "-I", "-o", "-O", "-b", "-s", "-m", "-n", "-T", "-D", "-P", "-p", "-l", "-u", "-r", "-R",
        "-A", "-a", "-v", "-W", "--tcptimeo", "--hash",
    ]
    static let withoutArgument: Set<String> = [
        "-L", "-t", "-d", "-f", "-c", "-q", "-Q", "-4", "-6", "-0", "-H", "--md5", "--pid", "--append",
        "--truncate", "--tapeaware", "-h", "--help", "-V", "--version",
    ]

    /// Parses `arguments`, or returns the real tool's fatal message (without the `mbuffer: fatal: ` prefix).
    static func parse(_ arguments: [String]) -> Result<MbufferOptions, MbufferFailure> {
        var options = MbufferOptions()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            var option = word
            var value: String?
            if withArgument.contains(word) {
                guard index < arguments.count else { return .failure(.fatal("missing argument to option \(word)")) }
                value = arguments[index]
                index += 1
            } else if word.count > 2, !word.hasPrefix("--"), withArgument.contains(String(word.prefix(2))) {
                option = String(word.prefix(2))
                value = String(word.dropFirst(2))
            } else if !withoutArgument.contains(word) {
                return .failure(.fatal("unknown option \"\(word)\""))
            }
            switch (option, value) {
            case ("-i", let file?): options.inputFile = file
            case ("-I", let target?):
                let parts = target.split(separator: ":", omittingEmptySubsequences: false)
                let host = parts.count > 1 ? parts.dropLast().joined(separator: ":") : nil
                guard let port = UInt16(parts.last ?? "") else {
                    return .failure(.fatal("invalid port in \"\(target)\""))
                }
                options.listen = (host, port)
            case ("-o", let file?): options.outputFiles.append(file)
            case ("-O", let target?):
                guard let colon = target.lastIndex(of: ":") else {
                    return .failure(.fatal("syntax error - target must be given in the form <host>:<port>"))
                }
                guard let port = UInt16(target[target.index(after: colon)...]) else {
                    return .failure(.fatal("unable to resolve address information for '\(target)': Servname not supported for ai_socktype"))
                }
                options.connect.append((String(target[..<colon]), port))
            case ("-r", let rate?), ("-R", let rate?), ("-s", let rate?), ("-m", let rate?):
                let parsed = parseBinarySize(rate)
                guard let bytes = parsed.value else {
                    return .failure(.fatal("unrecognized size character \"\(parsed.badCharacter.map(String.init) ?? "")\" for option \"\(option)\""))
                }
                if option == "-r" { options.readRate = bytes }
                if option == "-R" { options.writeRate = bytes }
                if option == "-s" { options.blockSize = Int(bytes) }
            case ("-l", let file?): options.logFile = file
            case ("-W", let seconds?): options.watchdog = Double(seconds)
            case ("-v", let level?): options.verbose = Int(level) ?? 3
            case ("-A", _): options.hasAutoloader = true
            case ("-q", _): options.quiet = true
            case ("-Q", _): options.quietLog = true
            case ("-V", _), ("--version", _): options.showVersion = true
            case ("-h", _), ("--help", _): options.showHelp = true
            default: break
            }
        }
        return .success(options)
    }
}

/// A failure reported as the real mbuffer reports it.
enum MbufferFailure: Error {
    case fatal(String)
}
