import XCTest
@testable import ZettabeeCLI

final class CommandLineParserTests: XCTestCase {
    func parse(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandLineRequest {
        try CommandLineParser.parse(arguments, environment: environment)
    }

    func invocation(_ arguments: [String], environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> Invocation {
        guard case .run(let invocation) = try parse(arguments, environment: environment) else {
            XCTFail("not an invocation", file: file, line: line)
            throw UsageError("not an invocation")
        }
        return invocation
    }

    func assertUsageError(_ arguments: [String], _ message: String, environment: [String: String] = [:],
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(arguments, environment: environment), file: file, line: line) { error in
            guard let usage = error as? UsageError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(usage.message, message, file: file, line: line)
            XCTAssertEqual(usage.rendered, "Error: \(message)\nUsage: zettabee [options] <action> [<destination>]\nSee 'zettabee --help'.\n",
                           file: file, line: line)
        }
    }

    func testActionAndDestinationWithDefaults() throws {
        let parsed = try invocation(["update", "backup/a"])
        XCTAssertEqual(parsed, Invocation(action: .update, destination: "backup/a"))
        XCTAssertEqual(parsed.options.configPath, "/local/etc/zettabee/zettabee.cfg")
        XCTAssertEqual(parsed.options.runDirectory, "/local/var/run/zettabee")
        XCTAssertEqual(parsed.options.logDirectory, "/local/var/log/zettabee")
        XCTAssertNil(parsed.options.sshConfigPath)
        XCTAssertFalse(parsed.options.dryRun || parsed.options.debug || parsed.options.verbose)
    }

    func testEveryActionParses() throws {
        for action in Action.allCases {
            XCTAssertEqual(try invocation([action.rawValue, "backup/a"]).action, action)
        }
        XCTAssertNil(try invocation(["fingerprint"]).destination)
        XCTAssertNil(try invocation(["status"]).destination)
    }

    func testLongOptionsBothSpellings() throws {
        let parsed = try invocation(["--config=/etc/zb.cfg", "--run-dir", "/run/zb", "--log-dir=/var/log/zb",
                                     "--ssh-config", "/etc/zb/ssh_config", "--dry-run", "--debug", "--verbose", "update", "b/a"])
        XCTAssertEqual(parsed.options.configPath, "/etc/zb.cfg")
        XCTAssertEqual(parsed.options.runDirectory, "/run/zb")
        XCTAssertEqual(parsed.options.logDirectory, "/var/log/zb")
        XCTAssertEqual(parsed.options.sshConfigPath, "/etc/zb/ssh_config")
        XCTAssertTrue(parsed.options.dryRun && parsed.options.debug && parsed.options.verbose)
    }

    func testShortOptionsGroupedAndAttached() throws {
        let grouped = try invocation(["-dvn", "update", "b/a"])
        XCTAssertTrue(grouped.options.debug && grouped.options.verbose && grouped.options.dryRun)
        XCTAssertEqual(try invocation(["-c", "/x.cfg", "update", "b/a"]).options.configPath, "/x.cfg")
        XCTAssertEqual(try invocation(["-c/x.cfg", "update", "b/a"]).options.configPath, "/x.cfg")
        let groupWithValue = try invocation(["-dc", "/x.cfg", "update", "b/a"])
        XCTAssertTrue(groupWithValue.options.debug)
        XCTAssertEqual(groupWithValue.options.configPath, "/x.cfg")
    }

    func testOptionsAfterTheActionAndDestination() throws {
        let parsed = try invocation(["purge", "tank/x", "--dry-run", "-c", "/x.cfg"])
        XCTAssertEqual(parsed.action, .purge)
        XCTAssertEqual(parsed.destination, "tank/x")
        XCTAssertTrue(parsed.options.dryRun)
        XCTAssertEqual(parsed.options.configPath, "/x.cfg")
        XCTAssertEqual(try invocation(["update", "--debug", "b/a"]).destination, "b/a")
    }

    func testDoubleDashEndsOptions() throws {
        let parsed = try invocation(["update", "--", "b/-weird"])
        XCTAssertEqual(parsed.destination, "b/-weird")
        assertUsageError(["update", "--", "--debug"],
                         "The value '--debug' is invalid for '<destination>': must not begin with '-'")
        assertUsageError(["--", "--help"], "Unknown action '--help'; expected one of: setup, initialize, update, fingerprint, logfile, status, runstatus, unlock, purge, check, handback, metrics")
    }

    func testFlagsBeatEnvironmentBeatsDefaults() throws {
        let environment = ["ZETTABEE_CONFIG": "/env.cfg", "ZETTABEE_RUN_DIR": "/env/run", "ZETTABEE_LOG_DIR": "/env/log",
                           "ZETTABEE_SSH_CONFIG": "/env/ssh"]
        let fromEnvironment = try invocation(["update", "b/a"], environment: environment).options
        XCTAssertEqual(fromEnvironment.configPath, "/env.cfg")
        XCTAssertEqual(fromEnvironment.runDirectory, "/env/run")
        XCTAssertEqual(fromEnvironment.logDirectory, "/env/log")
        XCTAssertEqual(fromEnvironment.sshConfigPath, "/env/ssh")
        let fromFlags = try invocation(["-c", "/flag.cfg", "--run-dir=/flag/run", "--log-dir", "/flag/log", "--ssh-config=/flag/ssh",
                                        "update", "b/a"], environment: environment).options
        XCTAssertEqual(fromFlags.configPath, "/flag.cfg")
        XCTAssertEqual(fromFlags.runDirectory, "/flag/run")
        XCTAssertEqual(fromFlags.logDirectory, "/flag/log")
        XCTAssertEqual(fromFlags.sshConfigPath, "/flag/ssh")
        XCTAssertEqual(try invocation(["update", "b/a"], environment: ["ZETTABEE_CONFIG": ""]).options.configPath,
                       "/local/etc/zettabee/zettabee.cfg")
    }

    func testLastRepeatedOptionWins() throws {
        XCTAssertEqual(try invocation(["-c", "/a", "-c", "/b", "update", "b/a"]).options.configPath, "/b")
    }

    func testEveryOptionParses() throws {
        let status = try invocation(["--full-status", "-H", "--json", "status"]).options
        XCTAssertTrue(status.fullStatus && status.scriptedOutput && status.json)
        let parsed = try invocation(["-N", "monitor.example.org", "--send-nsca", "/usr/sbin/send_nsca",
                                     "--send-nsca-config=/etc/send_nsca.cfg", "--nsca-port", "5667", "--force-rollback", "--jobs=4",
                                     "--all", "update"]).options
        XCTAssertTrue(parsed.forceRollback && parsed.all)
        XCTAssertEqual(parsed.nagiosHost, "monitor.example.org")
        XCTAssertEqual(parsed.sendNSCAPath, "/usr/sbin/send_nsca")
        XCTAssertEqual(parsed.sendNSCAConfigPath, "/etc/send_nsca.cfg")
        XCTAssertEqual(parsed.nscaPort, 5667)
        XCTAssertEqual(parsed.jobs, 4)
    }

    func testHelpAndVersionWin() throws {
        for arguments in [["--help"], ["-h"], ["update", "--bogus", "-h"], ["-dh"]] {
            XCTAssertEqual(try parse(arguments), .help, "\(arguments)")
        }
        for arguments in [["--version"], ["-V"], ["nonsense", "-V"], ["-dV"]] {
            XCTAssertEqual(try parse(arguments), .version, "\(arguments)")
        }
        XCTAssertEqual(HelpText.versionLine, "zettabee \(HelpText.version)")
    }

    func testHelpListsEveryActionAndOption() {
        let help = HelpText.text
        XCTAssertTrue(help.contains("Usage: zettabee [options] <action> [<destination>]"))
        for action in Action.allCases {
            XCTAssertTrue(help.contains("\n  \(action.rawValue) "), "help lacks action \(action)")
        }
        for option in ["-c, --config <file>", "--run-dir <dir>", "--log-dir <dir>", "--ssh-config <file>", "-n, --dry-run",
                       "-d, --debug", "-v, --verbose", "-V, --version", "-h, --help", "--full-status", "-H ", "--json",
                       "-N, --nagios <host>", "--send-nsca <path>", "--send-nsca-config <file>", "--nsca-port <n>",
                       "--force-rollback", "--all", "--jobs <n>", "ZETTABEE_CONFIG", "ZETTABEE_RUN_DIR", "ZETTABEE_LOG_DIR",
                       "ZETTABEE_SSH_CONFIG"] {
            XCTAssertTrue(help.contains(option), "help lacks \(option)")
        }
        XCTAssertTrue(help.hasSuffix("\n"))
    }

    // MARK: - Every usage error

    func testUsageErrors() {
        let actions = "setup, initialize, update, fingerprint, logfile, status, runstatus, unlock, purge, check, handback, metrics"
        let cases: [([String], String)] = [
            ([], "Missing expected argument '<action>'"),
            (["--debug"], "Missing expected argument '<action>'"),
            (["frobnicate", "b/a"], "Unknown action 'frobnicate'; expected one of: \(actions)"),
            (["--bogus", "update", "b/a"], "Unknown option '--bogus'"),
            (["--bogus=1", "update", "b/a"], "Unknown option '--bogus'"),
            (["-x", "update", "b/a"], "Unknown option '-x'"),
            (["-dx", "update", "b/a"], "Unknown option '-x'"),
            (["update", "b/a", "-c"], "Missing value for '--config <file>'"),
            (["-c", "-n", "update", "b/a"], "Missing value for '--config <file>'"),
            (["update", "b/a", "--run-dir"], "Missing value for '--run-dir <dir>'"),
            (["update", "b/a", "--log-dir"], "Missing value for '--log-dir <dir>'"),
            (["update", "b/a", "--ssh-config"], "Missing value for '--ssh-config <file>'"),
            (["update", "b/a", "-N"], "Missing value for '--nagios <host>'"),
            (["update", "b/a", "--jobs"], "Missing value for '--jobs <n>'"),
            (["--debug=yes", "update", "b/a"], "Option '--debug' does not take a value"),
            (["update"], "Missing expected argument '<destination>' for action 'update'"),
            (["initialize"], "Missing expected argument '<destination>' for action 'initialize'"),
            (["logfile"], "Missing expected argument '<destination>' for action 'logfile'"),
            (["runstatus"], "Missing expected argument '<destination>' for action 'runstatus'"),
            (["unlock"], "Missing expected argument '<destination>' for action 'unlock'"),
            (["purge"], "Missing expected argument '<destination>' for action 'purge'"),
            (["purge"], "Missing expected argument '<destination>' for action 'purge'"),
            (["update", "b/a", "b/b"], "Unexpected argument 'b/b'"),
            (["--all", "update", "b/a"], "'--all' and a destination cannot be combined"),
            (["--config=", "update", "b/a"], "The value '' is invalid for '--config <file>': empty value"),
            (["--config=-x", "update", "b/a"], "The value '-x' is invalid for '--config <file>': must not begin with '-'"),
            (["-c", "/a\r", "update", "b/a"], "The value '/a\\r' is invalid for '--config <file>': carriage return (\\r)"),
            (["--log-dir", "/lög", "update", "b/a"], "The value '/lög' is invalid for '--log-dir <dir>': non-ASCII character 'ö'"),
            (["update", "b/a\nINFO forged"], "The value 'b/a\\nINFO forged' is invalid for '<destination>': newline (\\n)"),
            (["--run-dir", "/" + String(repeating: "r", count: 4096), "update", "b/a"],
             "The value '/\(String(repeating: "r", count: 76))...' is invalid for '--run-dir <dir>': longer than 4096 characters"),
            (["-N", "nagios;id", "update", "b/a"], "The value 'nagios;id' is invalid for '--nagios <host>': invalid character ';' in host name"),
            (["--nsca-port", "0", "update", "b/a"], "The value '0' is invalid for '--nsca-port <n>': expected a TCP port 1-65535"),
            (["--jobs", "0", "update", "b/a"], "The value '0' is invalid for '--jobs <n>': expected a whole number 1-64"),
            (["--jobs=many", "update", "b/a"], "The value 'many' is invalid for '--jobs <n>': expected a whole number 1-64"),
        ]
        for (arguments, message) in cases {
            assertUsageError(arguments, message)
        }
        XCTAssertEqual(UsageError.exitCode, 2)
    }

    func testHostileEnvironmentValues() {
        assertUsageError(["update", "b/a"], "The value '/x`id`\\n' of environment variable ZETTABEE_CONFIG is invalid: newline (\\n)",
                         environment: ["ZETTABEE_CONFIG": "/x`id`\n"])
        assertUsageError(["update", "b/a"], "The value '-oProxyCommand=x' of environment variable ZETTABEE_SSH_CONFIG is invalid: must not begin with '-'",
                         environment: ["ZETTABEE_SSH_CONFIG": "-oProxyCommand=x"])
    }

    func testAllReplacesTheDestination() throws {
        let parsed = try invocation(["update", "--all"])
        XCTAssertNil(parsed.destination)
        XCTAssertTrue(parsed.options.all)
    }

    /// An option that does not apply to the action is a usage error naming both; `--jobs` needs `--all`.
    func testOptionsApplyOnlyToTheirActions() {
        for (arguments, message) in [
            (["update", "b/a", "--json"], "Option '--json' needs '--dry-run' for action 'update'"),
            (["purge", "b/a", "--json"], "Option '--json' does not apply to action 'purge' (only to: status, initialize, update)"),
            (["status", "-n"], "Option '--dry-run' does not apply to action 'status' (only to: initialize, update, purge)"),
            (["initialize", "b/a", "--force-rollback"], "Option '--force-rollback' does not apply to action 'initialize' (only to: update)"),
            (["check", "-N", "nagios"], "Option '--nagios <host>' does not apply to action 'check' (only to: initialize, update)"),
            (["purge", "b/a", "--all"], "Option '--all' does not apply to action 'purge' (only to: initialize, update, status, check, fingerprint)"),
            (["update", "b/a", "--jobs", "2"], "Option '--jobs <n>' needs '--all'"),
        ] {
            XCTAssertThrowsError(try CommandLineParser.parse(arguments, environment: [:]), "\(arguments)") { error in
                XCTAssertEqual((error as? UsageError)?.message, message, "\(arguments)")
            }
        }
        // Options of every action, and the environment's, apply anywhere.
        XCTAssertNoThrow(try CommandLineParser.parse(["fingerprint", "-d", "-v", "--ssh-config", "/x"], environment: ["ZETTABEE_RUN_DIR": "/r"]))
        XCTAssertNoThrow(try CommandLineParser.parse(["update", "--all", "--jobs", "2", "-n", "--force-rollback"], environment: [:]))
    }
}
