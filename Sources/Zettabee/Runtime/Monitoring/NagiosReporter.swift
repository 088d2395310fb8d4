import CommandGraph
import GraphRunner

/// Where and how results go to Nagios: `send_nsca` to the NSCA server, one result per invocation.
public struct NagiosSettings: Hashable, Sendable, CustomStringConvertible {
    /// The NSCA server (`-N, --nagios HOST`).
    public var server: String
    public var port: Int?
    /// `--send-nsca-config`; send_nsca's own default file when nil.
    public var configFile: String
    /// `--send-nsca`: the program, a path; `send_nsca` on PATH when nil.
    public var program: String?

    public static let defaultConfigFile = "/etc/send_nsca.cfg"
    /// Where the original Zettabee keeps send_nsca and its configuration: used when they exist, so that
    /// a switched-over installation keeps reaching its NSCA server with the same password.
    public static let originalProgram = "/usr/local/bin/send_nsca"
    public static let originalConfigFile = "/usr/local/etc/nagios/send_nsca.cfg"

    public init(server: String, port: Int? = nil, configFile: String? = nil, program: String? = nil) {
        self.server = server
        self.port = port
        self.configFile = configFile ?? NagiosSettings.defaultConfigFile
        self.program = program
    }

    /// The settings for `server` where the command line may leave the program and its configuration
    /// open: the original Zettabee's files where they exist, else `send_nsca` on PATH with
    /// `/etc/send_nsca.cfg`. Pure: `exists` answers for the file system.
    public static func resolved(
        server: String, port: Int?, configFile: String?, program: String?, exists: (String) -> Bool
    ) -> NagiosSettings {
        NagiosSettings(
            server: server, port: port,
            configFile: configFile ?? (exists(originalConfigFile) ? originalConfigFile : defaultConfigFile),
            program: program ?? (exists(originalProgram) ? originalProgram : nil))
    }

    /// `send_nsca PROGRAM with CONFIG`, for the log.
    public var description: String { "send_nsca \(program ?? "send_nsca (on PATH)") with \(configFile)" }
}

/// Reports a pair's result as a passive service check: host = the destination host, service =
/// `service/zettabee:<fp>`, output starting with the action and destination
/// (`UPDATE tank/data: lag 5:02:11 over clag 4:00:00`).
public struct NagiosReporter: Sendable {
    public var settings: NagiosSettings
    public var executor: any GraphExecuting
    public var environment: [String: String]

    public init(settings: NagiosSettings, executor: any GraphExecuting, environment: [String: String] = [:]) {
        self.settings = settings
        self.executor = executor
        self.environment = environment
    }

    /// The service a pair's results are reported under.
    public static func service(for pair: Pair) -> String { "service/zettabee:\(pair.fingerprint)" }

    /// `ACTION destination: text`, on one line, without `|` (which would start performance data).
    public static func output(action: String, pair: Pair, text: String, performance: String? = nil) -> String {
        let clean = "\(action.uppercased()) \(pair.destination.dataset): \(text)"
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
            .replacingOccurrences(of: "|", with: "/")
        return performance.map { clean + "|" + $0 } ?? clean
    }

    /// The result as send_nsca receives it.
    public static func result(pair: Pair, status: NagiosStatus, output: String) throws(InvalidValue) -> NagiosCheckResult {
        try NagiosCheckResult(
            host: pair.destination.host.rawValue, service: service(for: pair), status: status, output: output)
    }

    /// The pipeline that sends `result`: `send_nsca -H SERVER [-p PORT] -c CONFIG` fed the payload on stdin.
    public func pipeline(for result: NagiosCheckResult) throws(InvalidValue) -> LoweredPipeline {
        var command = try SendNSCA.command(server: settings.server, port: settings.port, configFile: settings.configFile)
        if let program = settings.program { command.executable = program }
        let pipeline = Pipeline([Stage(command)], input: .bytes(try result.payload()))
        return Lowering.lower(Graph(pipeline)).pipelines[0]
    }

    /// Sends one result. Throws a one-line reason when send_nsca could not be run or failed.
    public func send(_ result: NagiosCheckResult) throws(NagiosSendError) {
        let lowered: LoweredPipeline
        do {
            lowered = try pipeline(for: result)
        } catch {
            throw NagiosSendError(message: error.description)
        }
        do {
            // Also after SIGINT/SIGTERM: the interrupted run's result is reported too.
            var options = RunOptions(timeout: 30, environment: environment)
            options.runsAfterSignal = true
            _ = try executor.capture(lowered, limit: 64 << 10, options: options)
        } catch let failure as RunFailure {
            let said = failure.stage?.lastStderrLine ?? failure.result?.capturedText(0)
                .split(separator: "\n").last.map(String.init)
            throw NagiosSendError(message: "send_nsca failed: \(said ?? failure.description)")
        } catch {
            throw NagiosSendError(message: "send_nsca failed: \(error)")
        }
    }
}

public struct NagiosSendError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
