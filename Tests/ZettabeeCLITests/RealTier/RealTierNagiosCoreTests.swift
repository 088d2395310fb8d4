import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The README's Nagios service, in a real Nagios 4 core fed by the real nsca daemon: zettabee's results
/// turn the pair's service OK, WARNING and CRITICAL in Nagios's own status.dat, and when results stop,
/// freshness checking turns it CRITICAL with the definition's text.
final class RealTierNagiosCoreTests: XCTestCase {
    /// The service of the README's "Nagios" section; only the host, the fingerprint and the threshold
    /// (7200 s there) differ.
    static func serviceDefinition(host: String, fingerprint: String, freshness: Int) -> String {
        """
        define service {
            use                     generic-service
            host_name               \(host)
            service_description     service/zettabee:\(fingerprint)
            active_checks_enabled   0
            passive_checks_enabled  1
            check_freshness         1
            freshness_threshold     \(freshness)
            check_command           check_dummy!2!"no zettabee result for 2 hours"
        }

        """
    }

    /// Seconds without a result before Nagios checks by itself: longer than any one run here takes.
    static let freshness = 30

    func testTheServiceFollowsZettabeesResultsAndGoesCriticalWhenTheyStop() throws {
        let env = try RealEnvironment.require()
        try env.ensureSSHD()
        let variables = ProcessInfo.processInfo.environment
        guard let statusPath = variables["ZB_NAGIOS_STATUS"], let services = variables["ZB_NAGIOS_SERVICES"],
            let nagiosPID = variables["ZB_NAGIOS_PID"].flatMap(Int32.init)
        else {
            XCTFail("the real tier started no Nagios (ZB_NAGIOS_STATUS, ZB_NAGIOS_SERVICES, ZB_NAGIOS_PID)")
            return
        }

        let pair = try RealTierPair(env, label: "nagioscore", transport: .ssh(compress: "none"))
        defer { pair.cleanup() }
        try pair.createSource()
        try pair.writer.populate()
        try pair.writeConfig()
        pair.assertSucceeded(try pair.zettabee(["setup"]), "setup")
        let service = "service/zettabee:\(pair.fingerprint)"

        // The destination host and the README's service, then a reload (SIGHUP, by pid).
        let definition = """
            define host {
                use                     generic-host
                host_name               \(pair.destinationHost)
                address                 127.0.0.1
            }

            """ + Self.serviceDefinition(host: pair.destinationHost, fingerprint: pair.fingerprint, freshness: Self.freshness)
        let file = "\(services)/\(pair.fingerprint).cfg"
        try definition.write(toFile: file, atomically: true, encoding: .utf8)
        defer {
            unlink(file)
            kill(nagiosPID, SIGHUP)
        }
        XCTAssertEqual(kill(nagiosPID, SIGHUP), 0, "nagios4 (\(nagiosPID)) is gone")
        XCTAssertTrue(poll(timeout: 30) { Self.status(of: service, host: pair.destinationHost, in: statusPath) != nil },
                      "Nagios did not load \(service)")

        let nagios = ["-N", env.nscaHost, "--nsca-port", String(env.nscaPort), "--send-nsca-config", env.nscaConfig]
        func expect(_ state: Int, _ output: String, since: Int, _ what: String) {
            var seen: ServiceStatus?
            let reached = poll(timeout: 30) {
                seen = Self.status(of: service, host: pair.destinationHost, in: statusPath)
                guard let seen else { return false }
                return seen.state == state && seen.output.hasPrefix(output) && seen.lastCheck >= since
            }
            XCTAssertTrue(reached, "\(what): Nagios shows \(String(describing: seen)), expected state \(state) \(output)…")
        }
        func now() -> Int { Int(Date().timeIntervalSince1970) }

        // OK: a successful initialize.
        var since = now()
        pair.assertSucceeded(try pair.zettabee(nagios + ["initialize", pair.destinationArgument]), "initialize")
        expect(0, "INITIALIZE \(pair.destinationFS): OK, base zettabee.", since: since, "after initialize")

        // WARNING: initialize again, on a synchronized pair.
        since = now()
        let again = try pair.zettabee(nagios + ["initialize", pair.destinationArgument])
        XCTAssertEqual(again.exitCode, 1, again.stderr)
        expect(1, "INITIALIZE \(pair.destinationFS): failed: ", since: since, "after a second initialize")

        // CRITICAL: an update that fails (the destination was modified since the base).
        try pair.writer.change(round: 1)
        let intruder = "\(try pair.destinationMount)/written-on-the-destination.txt"
        try env.zfs("set", "readonly=off", pair.destinationFS)
        XCTAssertTrue(poll(timeout: 10) { FileManager.default.createFile(atPath: intruder, contents: Data("x\n".utf8)) },
                      "could not write \(intruder) with readonly=off")
        try env.zfs("set", "readonly=on", pair.destinationFS)
        since = now()
        let failed = try pair.zettabee(nagios + ["update", pair.destinationArgument])
        XCTAssertEqual(failed.exitCode, 1, failed.stderr)
        expect(2, "UPDATE \(pair.destinationFS): failed: ", since: since, "after a failing update")

        // OK again once it succeeds.
        since = now()
        pair.assertSucceeded(try pair.zettabee(nagios + ["--force-rollback", "update", pair.destinationArgument]), "update")
        expect(0, "UPDATE \(pair.destinationFS): OK, base zettabee.", since: since, "after a good update")

        // Results stop: past freshness_threshold Nagios runs the check_command itself.
        let lastResult = now()
        var seen: ServiceStatus?
        let stale = poll(timeout: Double(Self.freshness) + 60) {
            seen = Self.status(of: service, host: pair.destinationHost, in: statusPath)
            return seen?.state == 2 && seen?.output == "CRITICAL: no zettabee result for 2 hours"
        }
        XCTAssertTrue(stale, "no freshness CRITICAL: \(String(describing: seen))")
        if stale { XCTAssertGreaterThanOrEqual(now() - lastResult, Self.freshness - 1, "CRITICAL before the threshold passed")
 }
    }

    struct ServiceStatus: CustomStringConvertible {
        var state: Int
        var output: String
        var lastCheck: Int
        var description: String { "state \(state) \"\(output)\" at \(lastCheck)" }
    }

    /// The service's block of Nagios's status.dat (`servicestatus { key=value … }`).
    static func status(of service: String, host: String, in path: String) -> ServiceStatus? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for block in text.components(separatedBy: "servicestatus {").dropFirst() {
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed == "}" { break }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                fields[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
            }
            guard fields["host_name"] == host, fields["service_description"] == service,
                let state = fields["current_state"].flatMap(Int.init)
            else { continue }
            return ServiceStatus(state: state, output: fields["plugin_output"] ?? "",
                                 lastCheck: fields["last_check"].flatMap(Int.init) ?? 0)
        }
        return nil
    }
}
