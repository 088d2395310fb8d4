import CommandGraph
import Foundation
import GraphRunner
import Zettabee

/// Where an action writes: stdout for results, stderr for the one-line errors.
public struct Terminal: @unchecked Sendable {
    public var out: (String) -> Void
    public var err: (String) -> Void

    public static let standard = Terminal(
        out: { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) },
        err: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.out = out
        self.err = err
    }
}

/// Runs one parsed action and returns zettabee's exit code: 0 success, 1 the operation failed,
/// 2 usage or configuration error, 128+N after signal N.
public struct ActionRunner {
    let invocation: Invocation
    let terminal: Terminal
    let executor: any GraphExecuting
    /// Hosts' capabilities, probed once for all the pairs of this run.
    let capabilities = CapabilityCache()
    /// `update --all`: the source hosts' ssh masters, one per host for all its pairs.
    let connections = HostConnections()

    public init(invocation: Invocation, terminal: Terminal = .standard, executor: any GraphExecuting = ProcessRunner()) {
        self.invocation = invocation
        self.terminal = terminal
        self.executor = executor
    }

    public func run() -> Int32 {
        switch invocation.action {
        case .setup: return setup()
        case .fingerprint: return withPairs { pairs in fingerprint(pairs) }
        case .logfile: return withPairs { pairs in
            terminal.out(files.logPath(for: pairs[0].fingerprint))
            return 0
        }
        case .initialize, .update: return withPairs { pairs in
            publishMetrics(after: options.all ? replicateAll(pairs) : replicate(pairs[0]), statuses: nil)
        }
        case .status: return withPairs { pairs in status(pairs) }
        case .check: return check()
        case .runstatus: return withPairs { pairs in runStatus(pairs[0]) }
        case .unlock: return withPairs { pairs in unlock(pairs[0]) }
        case .purge: return withPairs { pairs in purge(pairs[0]) }
        case .handback: return withPairs { pairs in handBack(pairs[0]) }
        case .metrics: return withPairs { pairs in metrics(pairs) }
        }
    }

    var options: Options { invocation.options }
    var files: PairFiles { PairFiles(runDirectory: options.runDirectory, logDirectory: options.logDirectory) }
    var actionName: String { invocation.action.rawValue }

    // MARK: actions

    func setup() -> Int32 {
        let manager = FileManager.default
        let configDirectory = (options.configPath as NSString).deletingLastPathComponent
        let directories: [(String, Int?)] = [
            (configDirectory.isEmpty ? "." : configDirectory, nil), (options.runDirectory, 0o700), (options.logDirectory, 0o700),
        ]
        for (path, mode) in directories {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
                if let mode { try manager.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
            } catch {
                return fail(nil, ActionError("cannot create \(path): \(describe(error))"))
            }
        }
        return 0
    }

    /// `host    :fs…  host:fs…  fingerprint`, padded as the original Zettabee prints it.
    static func fingerprintLine(_ pair: Pair) -> String {
        func left(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
        func right(_ text: String, _ width: Int) -> String { text.count >= width ? text : String(repeating: " ", count: width - text.count) + text }
        return "\(left(pair.source.host.rawValue, 8)):\(left(pair.source.dataset.rawValue, 45))  "
            + "\(right(pair.destination.host.rawValue, 8)):\(left(pair.destination.dataset.rawValue, 36))  \(pair.fingerprint)"
    }

    func fingerprint(_ pairs: [Pair]) -> Int32 {
        if invocation.destination != nil {
            terminal.out(pairs[0].fingerprint.description)
        } else {
            // The original Zettabee's line, which scripts parse: source, destination, fingerprint last.
            for pair in pairs { terminal.out(Self.fingerprintLine(pair)) }
        }
        return 0
    }

    // MARK: helpers

    /// Loads the configuration and resolves the destination (all pairs when none is given and the
    /// action allows it), then runs `body`.
    func withPairs(_ body: ([Pair]) -> Int32) -> Int32 {
        switch loadPairs() {
        case .success(let pairs): return body(pairs)
        case .failure(let error):
            for line in error.message.split(separator: "\n") { terminal.err("zettabee: error: \(line)") }
            return error.exitCode
        }
    }

    /// The configured pairs the invocation names: the destination's pair, or all of them when the
    /// action allows that. The error's message may span several lines (configuration errors).
    func loadPairs() -> Result<[Pair], ActionError> {
        let pairs: [Pair]
        switch loadConfiguredPairs() {
        case .success(let configured): pairs = configured
        case .failure(let error): return .failure(error)
        }
        guard let destination = invocation.destination else {
            if invocation.action.requiresDestination && !options.all {
                return .failure(ActionError("\(subject(nil)): a destination is required", exitCode: 2, nagios: .unknown))
            }
            return .success(pairs)
        }
        do {
            return .success([try DestinationResolver.resolve(destination, in: pairs)])
        } catch {
            return .failure(ActionError("\(subject(nil)): \(error.description)", exitCode: 2, nagios: .unknown))
        }
    }

    /// Every configured pair.
    func loadConfiguredPairs() -> Result<[Pair], ActionError> {
        let path = options.pairsFile ?? options.configPath
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return .failure(ActionError(
                "\(subject(nil)): cannot read configuration \(path): \(describe(error))", exitCode: 2,
                nagios: .unknown))
        }
        do {
            return .success(try ConfigParser.parse(fileName: path, text: text))
        } catch {
            return .failure(ActionError(error.description, exitCode: 2, nagios: .unknown))
        }
    }

    /// `ACTION DEST`: how error lines name what failed.
    func subject(_ pair: Pair?) -> String {
        var subject = actionName
        if let pair { subject += " \(pair.destination.dataset)" } else if let destination = invocation.destination {
            subject += " \(destination)"
        }
        return subject
    }

    /// Prints `zettabee: error: ACTION DEST: reason` and returns the error's exit code.
    func fail(_ pair: Pair?, _ error: ActionError) -> Int32 {
        terminal.err("zettabee: error: \(subject(pair)): \(error.message)")
        return error.exitCode
    }

    /// An error as a person reads it: `No such file or directory`, never Foundation's boilerplate.
    func describe(_ error: Error) -> String {
        if let atomic = error as? AtomicFileError { return atomic.reason }
        return SystemErrorText.describe(error)
    }
}
