import Zettabee

/// The options of one invocation, after flags, environment and defaults were combined.
public struct Options: Hashable, Sendable {
    public static let defaultConfigPath = "/local/etc/zettabee/zettabee.cfg"
    public static let defaultRunDirectory = "/local/var/run/zettabee"
    public static let defaultLogDirectory = "/local/var/log/zettabee"

    /// `-c, --config`, `ZETTABEE_CONFIG`: the pairs, or the original Zettabee's YAML settings (see
    /// `ConfigLayout`).
    public var configPath = Options.defaultConfigPath
    /// `-z, --zonfig`, `ZETTABEE_ZONFIG`: the pairs file of the original Zettabee's 0.8.5 layout.
    public var pairsFile: String?
    /// `--run-dir`, `ZETTABEE_RUN_DIR`: lock, progress and last-run files.
    public var runDirectory = Options.defaultRunDirectory
    /// `--log-dir`, `ZETTABEE_LOG_DIR`: per-pair log files.
    public var logDirectory = Options.defaultLogDirectory
    /// `--ssh-config`, `ZETTABEE_SSH_CONFIG`: passed to ssh as `-F`.
    public var sshConfigPath: String?
    /// `-n, --dry-run`: print the commands instead of running them.
    public var dryRun = false
    public var debug = false
    public var verbose = false
    /// `-q, --quiet`: no progress line on a terminal.
    public var quiet = false

    /// `--full-status`
    public var fullStatus = false
    /// `-H`: status without headers, tab-separated.
    public var scriptedOutput = false
    /// `--json`
    public var json = false
    /// `-N, --nagios HOST`: the NSCA server results are sent to (reported for the destination host).
    public var nagiosHost: String?
    /// `--send-nsca PATH`
    public var sendNSCAPath: String?
    /// `--send-nsca-config FILE`
    public var sendNSCAConfigPath: String?
    /// `--nsca-port N`
    public var nscaPort: Int?
    /// `--force-rollback`
    public var forceRollback = false
    /// `--all`: act on every pair.
    public var all = false
    /// `--jobs N`: pairs replicated at once with `--all`.
    public var jobs: Int?
    /// `--metrics-dir`, `ZETTABEE_METRICS_DIR`: where runs write `zettabee.prom` for node_exporter.
    public var metricsDirectory: String?

    public init() {}
}

/// The options zettabee accepts: one table drives both parsing and `--help`.
enum OptionSpec: CaseIterable {
    case config, zonfig, runDir, logDir, sshConfig, dryRun, debug, verbose, version, help
    case fullStatus, scripted, json, nagios, sendNSCA, sendNSCAConfig, nscaPort, forceRollback, all, jobs
    case metricsDir
    case quiet

    var long: String? {
        switch self {
        case .config: "config"
        case .zonfig: "zonfig"
        case .runDir: "run-dir"
        case .logDir: "log-dir"
        case .sshConfig: "ssh-config"
        case .dryRun: "dry-run"
        case .debug: "debug"
        case .verbose: "verbose"
        case .version: "version"
        case .help: "help"
        case .fullStatus: "full-status"
        case .scripted: nil
        case .json: "json"
        case .nagios: "nagios"
        case .sendNSCA: "send-nsca"
        case .sendNSCAConfig: "send-nsca-config"
        case .nscaPort: "nsca-port"
        case .forceRollback: "force-rollback"
        case .all: "all"
        case .jobs: "jobs"
        case .metricsDir: "metrics-dir"
        case .quiet: "quiet"
        }
    }

    var short: Character? {
        switch self {
        case .config: "c"
        case .zonfig: "z"
        case .fullStatus: "F"
        case .dryRun: "n"
        case .debug: "d"
        case .verbose: "v"
        case .version: "V"
        case .help: "h"
        case .scripted: "H"
        case .nagios: "N"
        case .quiet: "q"
        default: nil
        }
    }

    /// The value's name in usage text, nil for a flag.
    var valueName: String? {
        switch self {
        case .config, .zonfig, .sshConfig, .sendNSCAConfig: "file"
        case .runDir, .logDir, .metricsDir: "dir"
        case .nagios: "host"
        case .sendNSCA: "path"
        case .nscaPort, .jobs: "n"
        default: nil
        }
    }

    var environmentVariable: String? {
        switch self {
        case .config: "ZETTABEE_CONFIG"
        case .zonfig: "ZETTABEE_ZONFIG"
        case .runDir: "ZETTABEE_RUN_DIR"
        case .logDir: "ZETTABEE_LOG_DIR"
        case .sshConfig: "ZETTABEE_SSH_CONFIG"
        case .metricsDir: "ZETTABEE_METRICS_DIR"
        default: nil
        }
    }

    /// The actions the option applies to; nil for options of every action. Any other action given
    /// it is a usage error.
    var actions: [Action]? {
        switch self {
        case .config, .zonfig, .runDir, .logDir, .sshConfig, .debug, .verbose, .version, .help: nil
        case .dryRun: [.initialize, .update, .purge]
        case .fullStatus, .scripted: [.status]
        case .json: [.status, .initialize, .update]
        case .nagios, .sendNSCA, .sendNSCAConfig, .nscaPort: [.initialize, .update]
        case .forceRollback: [.update]
        case .all: [.initialize, .update, .status, .check, .fingerprint]
        case .jobs: [.initialize, .update]
        case .metricsDir: [.initialize, .update, .status, .check, .metrics]
        case .quiet: [.initialize, .update]
        }
    }

    var summary: String {
        switch self {
        case .config: "Configuration file: pairs, or the original Zettabee's YAML settings (default \(Options.defaultConfigPath))"
        case .zonfig: "Pairs file of the original Zettabee's 0.8.5 layout (default: zettabee.zfg beside the configuration, when present)"
        case .runDir: "Directory for lock, progress and last-run files (default \(Options.defaultRunDirectory))"
        case .logDir: "Directory for log files (default \(Options.defaultLogDirectory))"
        case .sshConfig: "ssh configuration file, passed to ssh as -F"
        case .dryRun: "Print the commands that would change state; run only reads"
        case .debug: "Log and print debugging detail"
        case .verbose: "Mirror the pair's log to stderr"
        case .version: "Print the version and exit"
        case .help: "Print this help and exit"
        case .fullStatus: "status: add base snapshot, mbuffer port and fingerprint"
        case .scripted: "status: no header, tab-separated fields, lag in seconds"
        case .json: "status: JSON output; with --dry-run, initialize/update: the plan as JSON"
        case .nagios: "Send each result with send_nsca to this NSCA server"
        case .sendNSCA: "send_nsca program (default: send_nsca on PATH)"
        case .sendNSCAConfig: "send_nsca configuration file (default \(NagiosSettings.defaultConfigFile))"
        case .nscaPort: "NSCA server port (default: send_nsca's, 5667)"
        case .forceRollback: "update: roll the destination back even without rollback=yes"
        case .all: "Act on every configured pair"
        case .jobs: "With --all, how many pairs run at once"
        case .metricsDir: "Write every pair's Prometheus metrics to <dir>/zettabee.prom after the action"
        case .quiet: "initialize/update: no progress line on a terminal"
        }
    }

    /// `-c, --config <file>` / `--dry-run` / `-H`, as in usage text.
    var usageName: String {
        let names = [short.map { "-\($0)" }, long.map { "--\($0)" }].compactMap { $0 }.joined(separator: ", ")
        return valueName.map { "\(names) <\($0)>" } ?? names
    }

    /// How an error names this option: `--config <file>`, or `-H`.
    var errorName: String {
        let name = long.map { "--\($0)" } ?? short.map { "-\($0)" }!
        return valueName.map { "\(name) <\($0)>" } ?? name
    }
}
