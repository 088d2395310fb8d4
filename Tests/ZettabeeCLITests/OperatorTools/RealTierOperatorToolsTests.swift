import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// zettabee's operator files checked with the real programs from Debian's packages: promtool and
/// node_exporter's textfile collector read the metrics of a really replicated pair; systemd-analyze
/// verifies the units; logrotate reads (and runs) the snippet; man renders the page. Each needs only its
/// program (the metrics test the real environment too): without it the test skips loudly in a plain
/// `swift test` and fails inside the real tier (scripts/realenv.sh installs them).
final class RealTierOperatorToolsTests: XCTestCase {
    static let scripts = PackagePaths.root.appendingPathComponent("scripts").path

    /// The program's path, or a skip (a failure inside the real tier) naming what is missing.
    func program(_ name: String, package: String) throws -> String {
        for directory in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let message = "SKIPPED LOUDLY: \(name) is missing (Debian package \(package)); scripts/test-real.sh installs it"
        FileHandle.standardError.write(Data("\(message)\n".utf8))
        throw realTierSkip(message)
    }

    func scratch(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zb-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
             timeout: Double = 60) throws -> ProcessOutcome {
        var merged = ProcessInfo.processInfo.environment
        merged["LC_ALL"] = "C"
        merged.merge(environment) { $1 }
        return try TestProcess.run(program, arguments, environment: merged, stdin: stdin, timeout: timeout)
    }

    // MARK: Prometheus

    /// A pair really replicated (zfs-fuse over the harness's sshd) with `--metrics-dir`: promtool accepts
    /// the file and `zettabee metrics`, and a real node_exporter's textfile collector serves the pair's series.
    func testRealTierMetricsReadByPromtoolAndNodeExporter() throws {
        let promtool = try program("promtool", package: "prometheus")
        let exporter = try program("prometheus-node-exporter", package: "prometheus-node-exporter")
        let env = try RealEnvironment.require()
        try env.ensureSSHD()
        let pair = try RealTierPair(env, label: "prom", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.createSource()
        try pair.writer.write("a.txt", text: "metrics\n")
        try pair.writeConfig()
        XCTAssertEqual(try pair.zettabee(["setup"]).exitCode, 0)
        let metricsDirectory = pair.scratch + "/textfile"
        try FileManager.default.createDirectory(atPath: metricsDirectory, withIntermediateDirectories: true)
        let initialized = try pair.zettabee(["--metrics-dir", metricsDirectory, "initialize", pair.destinationArgument])
        XCTAssertEqual(initialized.exitCode, 0, initialized.stderr)
        let file = metricsDirectory + "/zettabee.prom"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let labels = #"source="\#(pair.sourceName)",destination="\#(pair.destinationName)",fingerprint="\#(pair.fingerprint)""#
        let synchronized = "zettabee_pair_state{\(labels),state=\"synchronized\"} 1"
        XCTAssertTrue(text.contains(synchronized + "\n"), text)
        XCTAssertTrue(text.contains("zettabee_pair_last_run_success{\(labels)} 1\n"), text)

        let checked = try run(promtool, ["check", "metrics"], stdin: text, timeout: 30)
        XCTAssertEqual(checked.exitCode, 0, "promtool check metrics: \(checked.stdout)\(checked.stderr)")
        XCTAssertEqual(checked.stdout + checked.stderr, "", "promtool has no complaint, not even a lint one")
        let printed = try pair.zettabee(["metrics"])
        XCTAssertEqual(printed.exitCode, 0, printed.stderr)
        let checkedPrinted = try run(promtool, ["check", "metrics"], stdin: printed.stdout, timeout: 30)
        XCTAssertEqual(checkedPrinted.exitCode, 0, "promtool check metrics: \(checkedPrinted.stdout)\(checkedPrinted.stderr)")

        // node_exporter on loopback, a free port, only the textfile collector.
        let port = try FakeTierWorld.freePort()
        let log = pair.scratch + "/node-exporter.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exporter)
        process.arguments = [
            "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
            "--collector.textfile.directory=\(metricsDirectory)",
        ]
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let pid = process.processIdentifier
        defer {
            if process.isRunning { kill(pid, SIGTERM) }
            if !poll(timeout: 10, { !process.isRunning }) {
                kill(pid, SIGKILL)
                _ = poll(timeout: 5) { !process.isRunning }
            }
            try? logHandle.close()
        }
        // node_exporter sorts the labels: compare samples as name, label set and value.
        let written = Self.samples(text)
        var body = ""
        var scraped: [Sample: String] = [:]
        let stateKey = Sample(name: "zettabee_pair_state", labels: [
            "source": pair.sourceName, "destination": pair.destinationName, "fingerprint": pair.fingerprint,
            "state": "synchronized",
        ])
        let served = poll(timeout: 20, interval: 0.1) {
            guard process.isRunning else { return false }
            body = try Self.fetch("http://127.0.0.1:\(port)/metrics")
            scraped = Self.samples(body)
            return scraped[stateKey] == "1"
        }
        XCTAssertTrue(served, "node_exporter did not serve the pair's state; log:\n"
            + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") + "\nbody:\n" + body.suffix(2000))
        for (sample, value) in written where sample.name != "zettabee_metrics_generated_timestamp_seconds" {
            XCTAssertEqual(scraped[sample].flatMap(Double.init), Double(value), "\(sample) as node_exporter serves it")
        }
        XCTAssertEqual(scraped[Sample(name: "node_textfile_scrape_error", labels: [:])], "0",
                       "the textfile collector could not read zettabee.prom: " + body.split(separator: "\n").filter { $0.contains("textfile") }.joined(separator: "\n"))
        kill(pid, SIGTERM)
        XCTAssertTrue(poll(timeout: 10) { !process.isRunning }, "node_exporter (pid \(pid)) did not stop on SIGTERM")
    }

    struct Sample: Hashable, CustomStringConvertible {
        var name: String
        var labels: [String: String]
        var description: String { "\(name)\(labels.sorted { $0.key < $1.key })" }
    }

    /// The samples of a text exposition: name and labels (values unescaped) to the value as written.
    static func samples(_ text: String) -> [Sample: String] {
        var result: [Sample: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var rest = Substring(line)
            let name = String(rest.prefix { $0 != "{" && $0 != " " })
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" && !rest.isEmpty {
                    let key = String(rest.prefix { $0 != "=" })
                    rest = rest.dropFirst(key.count + 2)  // ="
                    var value = ""
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\", let next = rest.first {
                            rest = rest.dropFirst()
                            value.append(next == "n" ? "\n" : next)
                        } else {
                            value.append(character)
                        }
                    }
                    rest = rest.dropFirst()
                    if rest.first == "," { rest = rest.dropFirst() }
                    labels[key] = value
                }
                rest = rest.dropFirst()
            }
            result[Sample(name: name, labels: labels)] = rest.trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// GET `url`, bounded in time.
    static func fetch(_ url: String) throws -> String {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<String, Error> = .failure(URLError(.timedOut))
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let status = (response as? HTTPURLResponse)?.statusCode, status != 200 {
                result = .failure(URLError(.badServerResponse))
            } else {
                result = .success(String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + 6) == .timedOut {
            task.cancel()
            throw URLError(.timedOut)
        }
        return try result.get()
    }

    // MARK: systemd

    /// The units pass `systemd-analyze verify`: copies with ExecStart's /usr/local/bin/zettabee rewritten to
    /// the built binary (verify checks that the program exists), the template as an instance, and the
    /// manual page from `--help-man` on MANPATH (verify checks Documentation=man:zettabee(8) too).
    func testRealTierSystemdUnitsVerify() throws {
        let analyze = try program("systemd-analyze", package: "systemd")
        let directory = try scratch("units")
        let units = try FileManager.default.contentsOfDirectory(atPath: Self.scripts + "/systemd").sorted()
        XCTAssertEqual(units, ["zettabee-all.service", "zettabee-all.timer", "zettabee@.service", "zettabee@.timer"])
        for unit in units {
            let text = try String(contentsOfFile: Self.scripts + "/systemd/" + unit, encoding: .utf8)
            XCTAssertTrue(!unit.hasSuffix(".service") || text.contains("ExecStart=/usr/local/bin/zettabee "), unit)
            try text.replacingOccurrences(of: "/usr/local/bin/zettabee", with: PackagePaths.zettabee)
                .write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let manual = directory + "/man/man8"
        try FileManager.default.createDirectory(atPath: manual, withIntermediateDirectories: true)
        try run(PackagePaths.zettabee, ["--help-man"]).stdout.write(toFile: manual + "/zettabee.8", atomically: true, encoding: .utf8)
        let instance = try run("/usr/bin/systemd-escape", ["vault/db1/pgdata"]).stdout.trimmingCharacters(in: .newlines)
        XCTAssertEqual(instance, "vault-db1-pgdata")
        let names = ["zettabee@\(instance).service", "zettabee@\(instance).timer", "zettabee-all.service", "zettabee-all.timer"]
        let verified = try run(analyze, ["verify"] + names.map { directory + "/" + $0 },
                               environment: ["MANPATH": directory + "/man", "SYSTEMD_LOG_LEVEL": "notice"])
        XCTAssertEqual(verified.exitCode, 0, verified.stderr)
        XCTAssertEqual(verified.stderr + verified.stdout, "", "systemd-analyze verify has no complaint")

        // And verify does check the program: a unit whose ExecStart is missing fails.
        let broken = try String(contentsOfFile: directory + "/zettabee-all.service", encoding: .utf8)
            .replacingOccurrences(of: PackagePaths.zettabee, with: directory + "/no-such-zettabee")
        try broken.write(toFile: directory + "/zettabee-broken.service", atomically: true, encoding: .utf8)
        let refused = try run(analyze, ["verify", "--man=no", directory + "/zettabee-broken.service"])
        XCTAssertNotEqual(refused.exitCode, 0, "systemd-analyze verify accepted a missing ExecStart program")
    }

    // MARK: logrotate

    /// `logrotate -d` reads the snippet without error; a forced rotation of a copy for a scratch log
    /// directory renames the pair's log, and the next zettabee run creates a new one.
    func testRealTierLogrotateSnippet() throws {
        let logrotate = try program("logrotate", package: "logrotate")
        let directory = try scratch("logrotate")
        let snippet = Self.scripts + "/logrotate/zettabee"
        let debug = try run(logrotate, ["-d", "-s", directory + "/state", snippet])
        XCTAssertEqual(debug.exitCode, 0, debug.stderr)
        XCTAssertTrue((debug.stdout + debug.stderr).contains("rotating pattern: /local/var/log/zettabee/*.log"), debug.stderr)
        XCTAssertFalse((debug.stdout + debug.stderr).contains("error:"), debug.stderr)

        let logs = directory + "/log"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: logs)
        try "2026-01-01 update started\n".write(toFile: logs + "/abc.log", atomically: true, encoding: .utf8)
        let copy = try String(contentsOfFile: snippet, encoding: .utf8).replacingOccurrences(of: "/local/var/log/zettabee", with: logs)
        try copy.write(toFile: directory + "/zettabee", atomically: true, encoding: .utf8)
        let rotated = try run(logrotate, ["-f", "-s", directory + "/state", directory + "/zettabee"])
        XCTAssertEqual(rotated.exitCode, 0, rotated.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: logs).sorted(), ["abc.log.1"])
    }

    // MARK: man

    /// The page from `--help-man` renders with `man -l` without a warning and shows every action.
    func testRealTierManualPageRenders() throws {
        let man = try program("man", package: "man-db")
        let directory = try scratch("man")
        try run(PackagePaths.zettabee, ["--help-man"]).stdout.write(toFile: directory + "/zettabee.8", atomically: true, encoding: .utf8)
        let rendered = try run(man, ["--warnings", "-l", directory + "/zettabee.8"], environment: ["MANWIDTH": "100", "MAN_KEEP_FORMATTING": ""])
        XCTAssertEqual(rendered.exitCode, 0, rendered.stderr)
        XCTAssertEqual(rendered.stderr, "", "groff warnings")
        let text = rendered.stdout
        XCTAssertTrue(text.contains("ZETTABEE(8)"), text)
        XCTAssertTrue(text.contains("zettabee - replicate remote ZFS filesystems"), text)
        for word in ["initialize", "update", "metrics", "--metrics-dir", "ZETTABEE_METRICS_DIR", "EXIT STATUS"] {
            XCTAssertTrue(text.contains(word), "\(word) missing from the rendered page")
        }
    }
}
