import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The fake ssh's options as OpenSSH 9.2 (Debian 12) reads them: `-G` (the resolved configuration),
/// ControlPath's `~`, `${VAR}` and `%` tokens (with `%C`, a SHA-1), their error lines, `-V`.
/// The expected texts are those Debian 12's own `ssh -F none -G` prints for the same command lines.
final class FakeNetSSHOptionsTests: XCTestCase {
    var harness: FakeNetHarness!

    override func setUpWithError() throws { harness = try FakeNetHarness() }
    override func tearDown() { harness?.cleanUp() }

    func ssh(_ arguments: String, _ extra: [String: String] = [:], file: StaticString = #filePath,
             line: UInt = #line) throws -> FakeNetResult {
        try FakeNetProcess.run(shell: "ssh \(arguments)", environment: harness.environment(extra), timeout: 20,
                               file: file, line: line)
    }

    /// The running user's name, uid and home directory, as ssh takes them from the password database.
    var localUser: (name: String, uid: String, home: String) {
        let entry = getpwuid(getuid())!
        return (String(cString: entry.pointee.pw_name), String(getuid()), String(cString: entry.pointee.pw_dir))
    }

    /// The lines of `ssh -G ARGUMENTS` that start with `key `.
    func configLines(_ arguments: String, _ key: String, _ extra: [String: String] = [:],
                     file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let result = try ssh("-G \(arguments)", extra, file: file, line: line)
        XCTAssertEqual(result.status, 0, result.err, file: file, line: line)
        return result.out.split(separator: "\n").map(String.init).filter { $0.hasPrefix(key + " ") }
    }

    func testFakeNetSSHOptionsVersion() throws {
        let version = try ssh("-V")
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.out, "")
        XCTAssertEqual(version.err, "OpenSSH_9.2p1 zfake, no OpenSSL\n")
    }

    func testFakeNetSSHOptionsPrintConfigDefaults() throws {
        let (user, _, home) = localUser
        let expected = [
            "host src",
            "user \(user)",
            "hostname src",
            "port 22",
            "addressfamily any",
            "batchmode no",
            "canonicalizefallbacklocal yes",
            "canonicalizehostname false",
            "checkhostip no",
            "compression no",
            "controlmaster false",
            "enablesshkeysign no",
            "clearallforwardings no",
            "exitonforwardfailure no",
            "fingerprinthash SHA256",
            "forwardx11 no",
            "forwardx11trusted yes",
            "gatewayports no",
            "gssapiauthentication no",
            "gssapikeyexchange no",
            "gssapidelegatecredentials no",
            "gssapitrustdns no",
            "gssapirenewalforcesrekey no",
            "gssapikexalgorithms gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-",
            "hashknownhosts no",
            "hostbasedauthentication no",
            "identitiesonly no",
            "kbdinteractiveauthentication yes",
            "nohostauthenticationforlocalhost no",
            "passwordauthentication yes",
            "permitlocalcommand no",
            "proxyusefdpass no",
            "pubkeyauthentication true",
            "requesttty auto",
            "sessiontype default",
            "stdinnull no",
            "forkafterauthentication no",
            "streamlocalbindunlink no",
            "stricthostkeychecking ask",
            "tcpkeepalive yes",
            "tunnel false",
            "verifyhostkeydns false",
            "visualhostkey no",
            "updatehostkeys true",
            "enableescapecommandline no",
            "canonicalizemaxdots 1",
            "connectionattempts 1",
            "forwardx11timeout 1200",
            "numberofpasswordprompts 3",
            "serveralivecountmax 3",
            "serveraliveinterval 0",
            "requiredrsasize 1024",
            "ciphers chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
            "hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
            "hostbasedacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
            "kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
            "casignaturealgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
            "loglevel INFO",
            "macs umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
            "securitykeyprovider internal",
            "pubkeyacceptedalgorithms ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256",
            "xauthlocation /usr/bin/xauth",
            "identityfile ~/.ssh/id_rsa",
            "identityfile ~/.ssh/id_ecdsa",
            "identityfile ~/.ssh/id_ecdsa_sk",
            "identityfile ~/.ssh/id_ed25519",
            "identityfile ~/.ssh/id_ed25519_sk",
            "identityfile ~/.ssh/id_xmss",
            "identityfile ~/.ssh/id_dsa",
            "canonicaldomains none",
            "globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
            "userknownhostsfile \(home)/.ssh/known_hosts \(home)/.ssh/known_hosts2",
            "logverbose none",
            "permitremoteopen any",
            "addkeystoagent false",
            "forwardagent no",
            "connecttimeout none",
            "tunneldevice any:any",
            "canonicalizePermittedcnames none",
            "controlpersist no",
            "escapechar ~",
            "ipqos lowdelay throughput",
            "rekeylimit 0 0",
            "streamlocalbindmask 0177",
            "syslogfacility USER",
        ].joined(separator: "\n") + "\n"
        let result = try ssh("-G src")
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.err, "")
        XCTAssertEqual(result.out, expected)
        let log = try String(contentsOf: harness.file("calls.log"), encoding: .utf8)
        XCTAssertTrue(log.contains(#""ssh":"config""#), "-G connects nowhere: \(log)")
    }

    func testFakeNetSSHOptionsPrintConfigFollowsCommandLine() throws {
        let result = try ssh("""
            -G -p 2222 -l zb -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -C \
            -o StrictHostKeyChecking=no -o ControlMaster=yes -o ControlPersist=yes -f -n -N -T -q -4 -A -x -g src
            """)
        XCTAssertEqual(result.status, 0, result.err)
        let lines = Set(result.out.split(separator: "\n").map(String.init))
        for line in [
            "host src", "user zb", "hostname src", "port 2222", "addressfamily inet", "batchmode yes",
            "compression yes", "controlmaster true", "gatewayports yes", "requesttty false", "sessiontype none",
            "stdinnull yes", "forkafterauthentication yes", "stricthostkeychecking false", "serveraliveinterval 15",
            "loglevel SILENT", "forwardagent yes", "connecttimeout 10", "controlpersist yes",
        ] {
            XCTAssertTrue(lines.contains(line), "missing '\(line)' in:\n\(result.out)")
        }
        XCTAssertFalse(result.out.contains("controlpath"), "no ControlPath, no line")

        XCTAssertEqual(try configLines("-MM src", "controlmaster"), ["controlmaster ask"])
        XCTAssertEqual(try configLines("-o ControlMaster=autoask src", "controlmaster"), ["controlmaster autoask"])
        XCTAssertEqual(try configLines("-o ControlMaster=auto -o ControlPersist=1m src", "controlpersist"), ["controlpersist 60"])
        XCTAssertEqual(try configLines("-o ControlPersist=1h30m src", "controlpersist"), ["controlpersist 5400"])
        XCTAssertEqual(try configLines("-o ControlPersist=0 src", "controlpersist"), ["controlpersist yes"])
        XCTAssertEqual(try configLines("-o ControlPersist=no src", "controlpersist"), ["controlpersist no"])
        XCTAssertEqual(try configLines("-o StrictHostKeyChecking=accept-new src", "stricthostkeychecking"),
                       ["stricthostkeychecking accept-new"])
        XCTAssertEqual(try configLines("-o ConnectTimeout=none src", "connecttimeout"), ["connecttimeout none"])
        XCTAssertEqual(try configLines("-o IdentityFile=/k1 -i /dev/null src", "identityfile"),
                       ["identityfile /k1", "identityfile /dev/null"])
        XCTAssertEqual(try configLines("-J jump src", "proxyjump"), ["proxyjump jump"])
        XCTAssertEqual(try configLines("-o UserKnownHostsFile=/dev/null src", "updatehostkeys"), ["updatehostkeys false"])
        XCTAssertEqual(try configLines("-o ControlPath=NONE src", "controlpath"), [])

        // The destination forms and -F aliasing resolve as for a connection.
        let uri = try ssh("-G ssh://u@h:2022")
        XCTAssertTrue(uri.out.hasPrefix("host h\nuser u\nhostname h\nport 2022\naddressfamily any\n"), uri.out)
        let config = harness.file("ssh_config")
        try "Host alias\n  HostName real.example\n  Port 2200\n  User backup\n".write(to: config, atomically: true, encoding: .utf8)
        let aliased = try ssh("-F \(config.path) -G alias")
        XCTAssertTrue(aliased.out.hasPrefix("host alias\nuser backup\nhostname real.example\nport 2200\n"), aliased.out)

        // -i of a file that is not there: OpenSSH's warning, and the defaults stay.
        let missing = try ssh("-G -i /nonexistent/key src")
        XCTAssertEqual(missing.status, 0)
        XCTAssertEqual(missing.err, "Warning: Identity file /nonexistent/key not accessible: No such file or directory.\n")
        XCTAssertTrue(missing.out.contains("identityfile ~/.ssh/id_rsa\n"))
    }

    func testFakeNetSSHOptionsControlPathTokens() throws {
        let (user, uid, home) = localUser
        let host = ["ZFAKE_HOST": "vm.example.net"] // the local host name: the simulated host ssh runs on
        XCTAssertEqual(
            try configLines("-o ControlPath=/tmp/cm-%r@%h:%p-%n-%L-%l-%u-%i-%d-%k-%% -o HostName=nas1 -l zb alias",
                            "controlpath", host),
            ["controlpath /tmp/cm-zb@nas1:22-alias-vm-vm.example.net-\(user)-\(uid)-\(home)-alias-%"])
        // %r defaults to the local user; -S wins over -o ControlPath; ~ is the home directory.
        XCTAssertEqual(try configLines("-o ControlPath=/x -S '~/cm-%r@%h:%p' -p 2022 src", "controlpath", host),
                       ["controlpath \(home)/cm-\(user)@src:2022"])
        XCTAssertEqual(try configLines("-S '/tmp/${ZFAKE_TOKEN_TEST}-%h' src", "controlpath", ["ZFAKE_TOKEN_TEST": "v"]),
                       ["controlpath /tmp/v-src"])
        XCTAssertEqual(try configLines("-o HostKeyAlias=Foo -S /tmp/%k src", "controlpath"), ["controlpath /tmp/foo"])
    }

    /// %C: SHA-1 of %l%h%p%r. The first value is what OpenSSH 9.2 prints for root@src from host vm; the
    /// others are SHA-1 test vectors (a one-block and FIPS 180's two-block message) split over the four
    /// tokens (the fake takes any word as a port).
    func testFakeNetSSHOptionsConnectionHashIsSHA1() throws {
        XCTAssertEqual(try configLines("-S /tmp/%C root@src", "controlpath", ["ZFAKE_HOST": "vm"]),
                       ["controlpath /tmp/606fabe467c909246434f391aa0950a73b5f71c4"])
        XCTAssertEqual(try configLines("-S /tmp/%C -p o -l g d", "controlpath",
                                       ["ZFAKE_HOST": "The quick brown fox jumps over the lazy "]),
                       ["controlpath /tmp/2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"])
        XCTAssertEqual(
            try configLines("-S /tmp/%C -p ijkljklmklmnlmno -l mnopnopq efghfghighijhijk", "controlpath",
                            ["ZFAKE_HOST": "abcdbcdecdefdefg"]),
            ["controlpath /tmp/84983e441c3bd26ebaae4aa1f95129e5e54670f1"])
    }

    func testFakeNetSSHOptionsControlPathErrors() throws {
        let cases: [(String, String)] = [
            ("-o ControlPath=/tmp/cm-%X src true",
             "vdollar_percent_expand: unknown key %X\r\npercent_dollar_expand: failed\r\n"),
            ("-S /tmp/cm-% -O check src", "vdollar_percent_expand: invalid format\r\npercent_dollar_expand: failed\r\n"),
            ("-G -S '/tmp/${ZFAKE_UNSET_A}-${ZFAKE_UNSET_B}' src",
             "vdollar_percent_expand: env var ${ZFAKE_UNSET_A} has no value\r\n"
                + "vdollar_percent_expand: env var ${ZFAKE_UNSET_B} has no value\r\n"
                + "invalid environment variable expansion\r\n"),
            ("-S '/tmp/${ZFAKE_OPEN' src true",
             "vdollar_percent_expand: environment variable 'ZFAKE_OPEN' missing closing '}'\r\npercent_dollar_expand: failed\r\n"),
            ("-S '~zfake-no-such-user/cm' src true", "tilde_expand: No such user zfake-no-such-user\r\n"),
        ]
        for (arguments, message) in cases {
            let result = try ssh(arguments)
            XCTAssertEqual(result.status, 255, arguments)
            XCTAssertEqual(result.out, "", arguments)
            XCTAssertEqual(result.err, message, arguments)
        }
        let log = (try? String(contentsOf: harness.file("calls.log"), encoding: .utf8)) ?? ""
        XCTAssertFalse(log.contains(#""ssh":"direct""#), "nothing connected: \(log)")
    }

    /// A -F file's connection-sharing and other modelled keywords count after the command line's.
    func testFakeNetSSHOptionsConfigFileSharingKeywords() throws {
        let config = harness.file("ssh_config")
        let socketDirectory = "/tmp/zfake-cfg-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        try """
            Host shared
                HostName src
                User root
                ControlMaster auto
                ControlPath \(socketDirectory)/%r@%h:%p
                ControlPersist 10m
                BatchMode yes
                IdentityFile ~/.ssh/backup_key
            """.write(to: config, atomically: true, encoding: .utf8)
        defer {
            _ = try? ssh("-F \(config.path) -O exit shared")
            try? FileManager.default.removeItem(atPath: socketDirectory)
        }
        let dump = try ssh("-F \(config.path) -G -o BatchMode=no shared")
        XCTAssertEqual(dump.status, 0, dump.err)
        let lines = dump.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.prefix(4), ["host shared", "user root", "hostname src", "port 22"])
        for line in ["controlmaster auto", "controlpath \(socketDirectory)/root@src:22", "controlpersist 600",
                     "batchmode no", "identityfile ~/.ssh/backup_key"] {
            XCTAssertTrue(lines.contains(line), "missing '\(line)' in:\n\(dump.out)")
        }
        let first = try ssh("-F \(config.path) shared 'echo $ZFAKE_HOST'")
        XCTAssertEqual(first.out, "src\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: socketDirectory), ["root@src:22"])
        let check = try ssh("-F \(config.path) -O check shared")
        XCTAssertTrue(check.err.hasPrefix("Master running (pid="), check.err)
        let exit = try ssh("-F \(config.path) -O exit shared")
        XCTAssertEqual(exit.err, "Exit request sent.\r\n")
    }
}
