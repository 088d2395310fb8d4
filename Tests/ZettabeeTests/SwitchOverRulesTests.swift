import XCTest
@testable import Zettabee

/// The pure rules of switching over from the original Zettabee: its settings file, its send_nsca files.
final class SwitchOverRulesTests: XCTestCase {
    func testSettingsAreToldFromPairs() {
        XCTAssertTrue(OriginalSettings.looksLikeSettings("---\n:nagios: nagios1\n:debug: false\n"))
        XCTAssertTrue(OriginalSettings.looksLikeSettings("# settings\nverbose: true\n"))
        XCTAssertFalse(OriginalSettings.looksLikeSettings("src:tank/a  backup:backup/a  port=9090\n"))
        XCTAssertFalse(OriginalSettings.looksLikeSettings("src:tank/a backup:backup/a\n:nagios: x\n"), "a mixed file is pairs")
        XCTAssertFalse(OriginalSettings.looksLikeSettings("# nothing\n\n"), "no key: not settings")
    }

    func testSettingsKeysHonouredIgnoredAndRefused() throws {
        let settings = try OriginalSettings.parse(fileName: "z.cfg", text: """
            ---
            :nagios: 'nagios.example'   # the NSCA server
            :debug: true
            verbose: no
            :fullstatus: yes
            :zonfig: /etc/pairs.zfg
            :logdir: /var/log/x
            :colour: blue
            """)
        XCTAssertEqual(settings.nagiosHost, "nagios.example")
        XCTAssertTrue(settings.debug)
        XCTAssertFalse(settings.verbose)
        XCTAssertTrue(settings.fullStatus)
        XCTAssertEqual(settings.pairsFile, "/etc/pairs.zfg")
        XCTAssertEqual(settings.ignoredKeys, ["logdir", "colour"])
        XCTAssertNil(try OriginalSettings.parse(fileName: "z.cfg", text: ":nagios: false\n").nagiosHost)
        XCTAssertThrowsError(try OriginalSettings.parse(fileName: "z.cfg", text: "---\n:debug: sometimes\n")) { error in
            XCTAssertEqual((error as? ConfigError)?.description, "z.cfg:2: field 'debug': expected true or false, not 'sometimes'")
        }
        XCTAssertThrowsError(try OriginalSettings.parse(fileName: "z.cfg", text: "just words\n")) { error in
            XCTAssertEqual((error as? ConfigError)?.line, 1)
        }
    }

    func testSendNSCADefaultsToTheOriginalsFilesWhereTheyExist() {
        let none = NagiosSettings.resolved(server: "n", port: nil, configFile: nil, program: nil, exists: { _ in false })
        XCTAssertEqual(none.configFile, "/etc/send_nsca.cfg")
        XCTAssertNil(none.program)
        let original = NagiosSettings.resolved(server: "n", port: nil, configFile: nil, program: nil, exists: { _ in true })
        XCTAssertEqual(original.configFile, "/usr/local/etc/nagios/send_nsca.cfg")
        XCTAssertEqual(original.program, "/usr/local/bin/send_nsca")
        XCTAssertEqual(original.description, "send_nsca /usr/local/bin/send_nsca with /usr/local/etc/nagios/send_nsca.cfg")
        let given = NagiosSettings.resolved(server: "n", port: 1, configFile: "/c", program: "/p", exists: { _ in true })
        XCTAssertEqual([given.configFile, given.program], ["/c", "/p"], "the command line wins")
    }
}
