import Foundation
import XCTest
@testable import ZettabeeCLI

/// The operator's files that need nothing beyond bash: the man page's source and the bash completion.
final class OperatorFilesTests: XCTestCase {
    static let completionFile = PackagePaths.root.appendingPathComponent("scripts/completion/zettabee.bash").path

    /// Runs the completion function in bash for `words` (the last one is being completed).
    func complete(_ words: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [String] {
        let quoted = words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = """
            set -u
            . '\(Self.completionFile)'
            complete -p zettabee
            COMP_WORDS=(\(quoted)); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            _zettabee
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let outcome = try TestProcess.run("/bin/bash", ["--norc", "-c", script], environment: environment, timeout: 30)
        XCTAssertEqual(outcome.exitCode, 0, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "")
        var lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        XCTAssertEqual(lines.first, "complete -F _zettabee zettabee")
        lines.removeFirst()
        return lines
    }

    func testCompletionOfActions() throws {
        XCTAssertEqual(try complete([PackagePaths.zettabee, ""]), Action.allCases.map(\.rawValue))
        XCTAssertEqual(try complete([PackagePaths.zettabee, "-d", "up"]), ["update"])
    }

    func testCompletionOfOptions() throws {
        let all = Set(try complete([PackagePaths.zettabee, "-"]))
        for spec in OptionSpec.allCases {
            if let long = spec.long { XCTAssertTrue(all.contains("--\(long)"), "--\(long) missing from \(all)") }
            if let short = spec.short { XCTAssertTrue(all.contains("-\(short)"), "-\(short) missing from \(all)") }
        }
        XCTAssertEqual(try complete([PackagePaths.zettabee, "update", "--metrics-d"]), ["--metrics-dir"])
        // An option's value is not an action: nothing is offered for --jobs' number.
        XCTAssertEqual(try complete([PackagePaths.zettabee, "--jobs", ""]), [])
    }

    func testCompletionOfDestinationsFromTheConfiguration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zb-compl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/zb.cfg"
        try """
            db1:tank/pgdata     backup1:vault/db1/pgdata  port=9091
            [fd00::5]:tank/home backup1:vault/home
            """.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try complete([PackagePaths.zettabee, "-c", config, "update", ""]), ["vault/db1/pgdata", "vault/home"])
        XCTAssertEqual(try complete([PackagePaths.zettabee, "--config", config, "status", "vault/h"]), ["vault/home"])
        // `--config=FILE` reaches the function as three words, split at `=`.
        XCTAssertEqual(try complete([PackagePaths.zettabee, "--config", "=", config, "update", "vault/d"]), ["vault/db1/pgdata"])
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        XCTAssertEqual(try complete([PackagePaths.zettabee, "--log-dir", "=", directory + "/l"]), [directory + "/logs"])
        XCTAssertEqual(try complete([PackagePaths.zettabee, "--log-dir", directory + "/l"]), [directory + "/logs"])
        var environment = ProcessInfo.processInfo.environment
        environment["ZETTABEE_CONFIG"] = config
        XCTAssertEqual(try complete([PackagePaths.zettabee, "purge", "vault/d"], environment: environment), ["vault/db1/pgdata"])
        XCTAssertEqual(try complete([PackagePaths.zettabee, "-c", config, "update", "vault/home", ""]), [], "one destination only")
        XCTAssertEqual(try complete([PackagePaths.zettabee, "-c", config, "setup", ""]), [])
    }

    func testParsingMetricsDirAndHelpMan() throws {
        guard case .run(let flag) = try CommandLineParser.parse(["--metrics-dir", "/m", "update", "x"], environment: [:]) else {
            return XCTFail("not a run")
        }
        XCTAssertEqual(flag.options.metricsDirectory, "/m")
        guard case .run(let fromEnvironment) = try CommandLineParser.parse(["metrics"], environment: ["ZETTABEE_METRICS_DIR": "/e"]) else {
            return XCTFail("not a run")
        }
        XCTAssertEqual(fromEnvironment.action, .metrics)
        XCTAssertNil(fromEnvironment.destination)
        XCTAssertEqual(fromEnvironment.options.metricsDirectory, "/e")
        guard case .run(let both) = try CommandLineParser.parse(["--metrics-dir=/f", "status"], environment: ["ZETTABEE_METRICS_DIR": "/e"]) else {
            return XCTFail("not a run")
        }
        XCTAssertEqual(both.options.metricsDirectory, "/f", "the flag beats the environment")
        XCTAssertEqual(try CommandLineParser.parse(["status", "--help-man"], environment: [:]), .manual)
        XCTAssertThrowsError(try CommandLineParser.parse(["--metrics-dir", "/m", "purge", "x"], environment: [:]))
    }

    func testManualPageCoversEveryActionAndOption() throws {
        let outcome = try TestProcess.run(PackagePaths.zettabee, ["--help-man"], environment: ProcessInfo.processInfo.environment,
                                          timeout: 30)
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertEqual(outcome.stdout, HelpText.manualPage)
        let page = outcome.stdout
        XCTAssertTrue(page.hasPrefix(".TH ZETTABEE 8 "))
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "ACTIONS", "OPTIONS", "ENVIRONMENT", "FILES", "EXIT STATUS"] {
            XCTAssertTrue(page.contains("\n.SH \(section)\n"), section)
        }
        for action in Action.allCases { XCTAssertTrue(page.contains("\\fB\(action.rawValue)\\fR"), action.rawValue) }
        for spec in OptionSpec.allCases {
            if let long = spec.long { XCTAssertTrue(page.contains("\\fB\\-\\-\(HelpText.roff(long))\\fR"), long) }
            if let variable = spec.environmentVariable { XCTAssertTrue(page.contains(HelpText.roff(variable)), variable) }
        }
        XCTAssertFalse(HelpText.text.contains("help-man"), "the renderer's option stays out of --help")
        XCTAssertEqual(HelpText.roff(".x-y\\z"), "\\&.x\\-y\\ez")
    }
}
