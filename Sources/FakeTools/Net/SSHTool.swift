import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fake `ssh`: maps the destination to a simulated host and runs the remote line through a real
/// `/bin/sh -c LINE` with a fresh remote environment (the caller's environment is not passed on, as with
/// a real ssh). The shell inherits stdin/stdout/stderr, so stream bytes never pass through the fake,
/// except under a `drop` fault, which relays stdout to cut it off.
///
/// Fault rules (`"tool":"ssh"`; `host` matches the destination host, `sub` the remote line's first word):
/// - `refused`: `ssh: connect to host HOST port PORT: Connection refused`, exit 255.
/// - `hostkey`: `Host key verification failed.`, exit 255.
/// - `drop` with `"bytes":"N"` and/or `"seconds":"S"`: the connection dies after N bytes of stdout or
///   S seconds; the remote process group is killed; `Connection to HOST closed by remote host.`, exit 255.
enum SSHTool {
    static func main(_ arguments: [String]) -> Int32 {
        signal(SIGPIPE, SIG_IGN) // as ssh does first thing: a closed stderr is no reason to die
        let world = FakeWorld.fromEnvironment()
        let invocation = NetCall(world: world, tool: "ssh", arguments: arguments)
        var commandLine: SSHCommandLine
        switch SSHCommandLine.parse(arguments) {
        case .success(let parsed): commandLine = parsed
        case .failure(let error):
            switch error {
            case .unknownOption(let letter): NetIO.stderr("ssh: unknown option -- \(letter)\n")
            case .missingArgument(let letter): NetIO.stderr("ssh: option requires an argument -- \(letter)\n")
            case .missingDestination: break
            }
            NetIO.stderr(usage)
            return invocation.finish(255)
        }
        if commandLine.printVersion {
            NetIO.stderr("OpenSSH_9.2p1 zfake, no OpenSSL\n")
            return invocation.finish(0)
        }
        // A -F file's values come after the command line's (the first obtained value wins).
        if let path = commandLine.configFile, path != "none", let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let given = commandLine.destination ?? ""
            let fromFile = SSHConfig.settings(for: given, configText: text).filter { $0.key != "hostname" } // see resolve
            commandLine.settings.merge(fromFile) { fromCommandLine, _ in fromCommandLine }
            commandLine.identityFiles += SSHConfig.identityFiles(for: given, configText: text).map {
                SSHCommandLine.IdentityFile(path: $0, fromFlag: false)
            }
        }
        let environment = ProcessInfo.processInfo.environment
        if let request = commandLine.controlRequest, !SSHControl.requests.contains(request) {
            NetIO.stderr("Invalid multiplex command.\r\n")
            return invocation.finish(255, extra: ["ssh": "control"])
        }
        guard let masterMode = SSHControl.masterMode(commandLine.settings["controlmaster"], flagM: commandLine.master) else {
            NetIO.stderr("command-line line 0: unsupported option \"\(commandLine.settings["controlmaster"] ?? "")\".\r\n")
            return invocation.finish(255)
        }
        guard let persist = SSHControl.persist(commandLine.settings["controlpersist"]) else {
            NetIO.stderr("command-line line 0: Bad ControlPersist argument.\r\n")
            return invocation.finish(255)
        }
        if commandLine.fork && commandLine.remoteLine == nil && !commandLine.noCommand {
            NetIO.stderr("Cannot fork into background without a command to execute.\r\n")
            return invocation.finish(255)
        }
        let target = resolve(commandLine)
        let info = SSHConnectionInfo.local(
            remoteHost: target.host, hostArgument: commandLine.destination ?? "", port: target.port,
            remoteUser: target.user, keyAlias: commandLine.settings["hostkeyalias"]?.lowercased(),
            environment: environment)
        let controlPath: String?
        switch SSHTokens.controlPath(commandLine.rawControlPath, info: info, environment: environment) {
        case .success(let path): controlPath = path
        case .failure(let failure):
            NetIO.stderr(failure.lines.map { $0 + "\r\n" }.joined())
            return invocation.finish(255)
        }
        if commandLine.printConfig {
            for file in commandLine.identityFiles where file.fromFlag {
                let path = SSHConfigDump.expandTilde(file.path, home: info.homeDirectory)
                var status = stat()
                if stat(path, &status) != 0 {
                    NetIO.stderr("Warning: Identity file \(path) not accessible: \(NetIO.errorText(errno)).\n")
                }
            }
            var dumped = commandLine
            dumped.identityFiles = commandLine.identityFiles.filter { file in
                var status = stat()
                return !file.fromFlag || stat(SSHConfigDump.expandTilde(file.path, home: info.homeDirectory), &status) == 0
            }
            let resolved = SSHConfigDump.Resolved(
                hostArgument: info.hostArgument, user: info.remoteUser, hostname: target.host, port: target.port,
                homeDirectory: info.homeDirectory, controlPath: controlPath)
            NetIO.writeAll(1, SSHConfigDump.text(dumped, resolved))
            return invocation.finish(0, extra: ["ssh": "config"])
        }
        if let request = commandLine.controlRequest {
            guard let path = controlPath else {
                NetIO.stderr("No ControlPath specified for \"-O\" command\r\n")
                return invocation.finish(255, extra: ["ssh": "control"])
            }
            return SSHControl.request(request, path: path, invocation: invocation)
        }
        let background = environment[SSHControl.backgroundVariable].map(SSHControl.Background.init(encoded:))
        // A detached master started by a ControlPersist or -f ssh: it only serves the socket it was handed
        // (and, started by -f without ControlPersist, runs its own command meanwhile).
        if let inherited = environment[SSHControl.listenerVariable].flatMap(Int32.init), let path = controlPath {
            _ = fcntl(inherited, F_SETFD, FD_CLOEXEC)
            SSHControl.closeDescriptors(above: 2, except: inherited) // as ssh's closefrom(STDERR_FILENO + 1)
            if background != nil && persist == nil && !commandLine.noCommand {
                let remote = remoteEnvironment(host: target.host)
                if let home = remote["HOME"] { _ = chdir(home) }
                let shellArguments = commandLine.remoteLine.map { ["sh", "-c", $0] } ?? ["sh"]
                guard let session = RemoteShell.start(shellArguments, environment: remote) else {
                    NetIO.stderr("zfake ssh: cannot start /bin/sh: \(NetIO.errorText(errno))\n")
                    close(inherited)
                    unlink(path)
                    return invocation.finish(255, extra: ["ssh": "master"])
                }
                return SSHControl.serve(listener: inherited, path: path, session: session, idle: nil,
                                        stayUntilExit: false, invocation: invocation)
            }
            let idle: Double? = persist.flatMap { $0 }
            return SSHControl.serve(listener: inherited, path: path, session: nil, idle: idle, stayUntilExit: true,
                                    invocation: invocation)
        }
        // The background half of an -f ssh: the foreground has connected (faults and all) and exited 0.
        if let background {
            SSHControl.closeDescriptors(above: 2, except: -1)
            var connection: Int32?
            if background.multiplexed, let path = controlPath { connection = SSHControl.joinMaster(path: path) }
            let mode = ["ssh": connection != nil ? "mux" : "direct"]
            if commandLine.noCommand {
                return invocation.finish(connection != nil ? 0 : SSHControl.waitForSignal(), extra: mode)
            }
            let code = runRemote(commandLine, host: target.host, drop: background.drop)
            if let connection { close(connection) }
            return invocation.finish(code, extra: mode)
        }
        // A client of a live master opens no connection of its own: connection faults do not apply.
        var clientConnection: Int32?
        var listener: Int32?
        if let path = controlPath {
            if masterMode != .yes { clientConnection = SSHControl.joinMaster(path: path) }
            if clientConnection == nil && masterMode != .no {
                listener = SSHControl.listen(at: path, replaceStale: masterMode == .auto)
                if listener == nil {
                    if errno == EADDRINUSE {
                        NetIO.stderr("ControlSocket \(path) already exists, disabling multiplexing\r\n")
                    } else {
                        NetIO.stderr("ControlSocket \(path): \(NetIO.errorText(errno))\r\n")
                    }
                }
            }
        }
        let multiplexed = clientConnection != nil
        var mode = ["ssh": multiplexed ? "mux" : "direct"]
        let remoteWorld = FakeWorld(directory: world.directory, host: target.host)
        let faults = Faults.firing(
            in: remoteWorld, tool: "ssh", subcommand: firstWord(of: commandLine.remoteLine), arguments: arguments)
        var drop: (bytes: Int?, seconds: Double?)?
        for rule in faults {
            if multiplexed && (rule.effect == "refused" || rule.effect == "hostkey") { continue }
            switch rule.effect {
            case "refused":
                if !commandLine.quiet {
                    NetIO.stderr("ssh: connect to host \(target.host) port \(target.port): Connection refused\n")
                }
                if let listener, let path = controlPath { close(listener); unlink(path) }
                return invocation.finish(255, extra: mode)
            case "hostkey":
                if !commandLine.quiet { NetIO.stderr("Host key verification failed.\n") }
                if let listener, let path = controlPath { close(listener); unlink(path) }
                return invocation.finish(255, extra: mode)
            case "drop":
                drop = (rule.intParameter("bytes"), rule.parameter("seconds").flatMap(Double.init))
            case "latency":
                // `seconds`: the round trip that carries the command, multiplexed or not; `connect`: what
                // an ssh that opens a connection of its own (not a client of a live master) pays on top
                // for TCP, key exchange and authentication.
                var seconds = Double(rule.parameter("seconds") ?? "0") ?? 0
                if !multiplexed { seconds += Double(rule.parameter("connect") ?? "0") ?? 0 }
                if seconds > 0 { usleep(UInt32(min(seconds, 3600) * 1_000_000)) }
            default:
                NetIO.stderr("zfake ssh: unknown fault effect '\(rule.effect)'\n")
                return invocation.finish(70, extra: mode)
            }
        }
        if let listener, let path = controlPath {
            if persist != nil {
                // ControlPersist: the master goes to the background once its socket listens.
                guard SSHControl.detach(listener: listener, arguments: arguments) != nil else {
                    NetIO.stderr("fork: \(NetIO.errorText(errno))\r\n")
                    close(listener)
                    unlink(path)
                    return invocation.finish(255, extra: mode)
                }
                close(listener)
                if commandLine.noCommand { return invocation.finish(0, extra: ["ssh": "persist"]) }
                if commandLine.fork {
                    // -f: the foreground's command runs in the background, as a client of the new master.
                    return forkToBackground(arguments, SSHControl.Background(multiplexed: true, drop: drop),
                                            keepOutput: true, invocation: invocation)
                }
                guard let connection = SSHControl.joinMaster(path: path) else {
                    NetIO.stderr("Failed to connect to new control master\r\n")
                    return invocation.finish(255, extra: ["ssh": "persist"])
                }
                clientConnection = connection
                mode = ["ssh": "mux"]
            } else if commandLine.fork {
                // -f: the master itself goes to the background once its socket listens; with a command it
                // runs it there (stdin from /dev/null, output to the caller's), else it only serves.
                let started = SSHControl.detach(listener: listener, arguments: arguments,
                                                background: SSHControl.Background(multiplexed: false, drop: nil),
                                                keepOutput: !commandLine.noCommand)
                close(listener)
                guard started != nil else {
                    NetIO.stderr("daemon() failed: \(NetIO.errorText(errno))\r\n")
                    unlink(path)
                    return invocation.finish(255, extra: mode)
                }
                return invocation.finish(0, extra: ["ssh": "fork"])
            } else if commandLine.noCommand {
                return SSHControl.serve(listener: listener, path: path, session: nil, idle: nil, stayUntilExit: true,
                                        invocation: invocation)
            } else {
                let remote = remoteEnvironment(host: target.host)
                if let home = remote["HOME"] { _ = chdir(home) }
                if commandLine.stdinNull { redirectStdinFromNull() }
                let shellArguments = commandLine.remoteLine.map { ["sh", "-c", $0] } ?? ["sh"]
                guard let session = RemoteShell.start(shellArguments, environment: remote) else {
                    NetIO.stderr("zfake ssh: cannot start /bin/sh: \(NetIO.errorText(errno))\n")
                    return invocation.finish(255, extra: ["ssh": "master"])
                }
                return SSHControl.serve(listener: listener, path: path, session: session, idle: nil,
                                        stayUntilExit: false, invocation: invocation)
            }
        } else if commandLine.noCommand && !multiplexed {
            // -N without a master to be: a connection that runs nothing, until a signal ends it (in the
            // background with -f).
            if commandLine.fork {
                return forkToBackground(arguments, SSHControl.Background(multiplexed: false, drop: nil),
                                        keepOutput: false, holdSignals: true, invocation: invocation)
            }
            return invocation.finish(SSHControl.waitForSignal(), extra: mode)
        }
        if commandLine.noCommand { return invocation.finish(0, extra: mode) }
        if commandLine.fork {
            if let clientConnection { close(clientConnection) }
            return forkToBackground(arguments, SSHControl.Background(multiplexed: multiplexed, drop: drop),
                                    keepOutput: true, invocation: invocation)
        }
        let code = runRemote(commandLine, host: target.host, drop: drop)
        if let clientConnection { close(clientConnection) }
        return invocation.finish(code, extra: mode)
    }

    /// Runs the remote line (or a shell) on `host` in its home directory, with the caller's stdio (stdin
    /// from /dev/null with -n), through a dropping relay under a `drop` fault.
    static func runRemote(_ commandLine: SSHCommandLine, host: String, drop: (bytes: Int?, seconds: Double?)?) -> Int32 {
        let environment = remoteEnvironment(host: host)
        if let home = environment["HOME"] { _ = chdir(home) } // a login starts in the home directory
        if commandLine.stdinNull { redirectStdinFromNull() }
        let shellArguments = commandLine.remoteLine.map { ["sh", "-c", $0] } ?? ["sh"]
        if let drop {
            return RemoteShell.runDropping(shellArguments, environment: environment, afterBytes: drop.bytes,
                                           afterSeconds: drop.seconds, host: host)
        }
        return RemoteShell.run(shellArguments, environment: environment)
    }

    /// -n (and -f): the remote command reads /dev/null, not the caller's stdin.
    static func redirectStdinFromNull() {
        let null = open("/dev/null", O_RDONLY)
        guard null >= 0 else { return }
        if null != 0 {
            dup2(null, 0)
            close(null)
        }
    }

    /// -f after authentication: a new zfake ssh in its own session, stdin (and without a command stdout
    /// and stderr) on /dev/null, carries on with the connection as `background` describes; this one exits 0.
    static func forkToBackground(_ arguments: [String], _ background: SSHControl.Background, keepOutput: Bool,
                                 holdSignals: Bool = false, invocation: NetCall) -> Int32 {
        guard SSHControl.detach(listener: nil, arguments: arguments, background: background,
                                keepOutput: keepOutput, holdSignals: holdSignals) != nil else {
            NetIO.stderr("daemon() failed: \(NetIO.errorText(errno))\r\n")
            return invocation.finish(255)
        }
        return invocation.finish(0, extra: ["ssh": "fork"])
    }

    /// The remote line's first word (a fault rule's `sub` for ssh).
    static func firstWord(of line: String?) -> String? {
        line?.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.map(String.init)
    }

    /// The simulated host (`HostName` after `-F` config aliasing, else the name given) and the port.
    static func resolve(_ commandLine: SSHCommandLine) -> (host: String, port: String, user: String?) {
        let given = commandLine.destination ?? ""
        var config: [String: String] = [:]
        if let path = commandLine.configFile, path != "none" {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                config = SSHConfig.settings(for: given, configText: text)
            }
        }
        let host = commandLine.settings["hostname"].map { SSHConfig.expand($0, host: given) }
            ?? config["hostname"] ?? given
        let port = commandLine.settings["port"] ?? config["port"] ?? "22"
        return (host, port, commandLine.settings["user"] ?? config["user"])
    }

    /// What a login on the simulated host sees: PATH with the fake tools first, HOME, the world, the
    /// host name, the zfake binary, LANG=C. Nothing else of the caller's environment.
    static func remoteEnvironment(host: String) -> [String: String] {
        let caller = ProcessInfo.processInfo.environment
        var path = "/usr/local/bin:/usr/bin:/bin"
        if let fakebin = fakeToolDirectory(caller) { path = fakebin + ":" + path }
        var environment = [
            "PATH": path,
            "HOME": caller["HOME"] ?? "/",
            "LANG": "C",
            FakeWorld.hostVariable: host,
            "ZFAKE_BIN": caller["ZFAKE_BIN"] ?? ownExecutable(),
        ]
        environment[FakeWorld.worldVariable] = caller[FakeWorld.worldVariable]
        return environment
    }

    /// The fakebin directory: `ZFAKE_FAKEBIN` (the ssh shim exports it), else the first PATH entry
    /// holding `zfake-ctl`.
    static func fakeToolDirectory(_ environment: [String: String]) -> String? {
        if let explicit = environment["ZFAKE_FAKEBIN"], !explicit.isEmpty { return explicit }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            if access("\(directory)/zfake-ctl", X_OK) == 0 { return String(directory) }
        }
        return nil
    }

    static func ownExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static let usage = """
        usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]
                   [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]
                   [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]
                   [-i identity_file] [-J destination] [-L address]
                   [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option] [-P tag]
                   [-p port] [-Q query_option] [-R address] [-S ctl_path]
                   [-W host:port] [-w local_tun[:remote_tun]] destination [command [argument ...]]

        """
}
