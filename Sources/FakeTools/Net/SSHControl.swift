import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH connection sharing as clients use it (ssh(1) `-M`, `-S`, `-O`; ssh_config(5) `ControlMaster`,
/// `ControlPath`, `ControlPersist`). The call log's `ssh` field says what each invocation was, so tests
/// and benchmarks can count real connections:
/// - `master`: the process holding the one connection, listening on a Unix socket at the control path:
///   `-M`/`ControlMaster=yes`, or `auto`/`autoask` when no master answers. Without `ControlPersist` it
///   runs its own command (or none with `-N`) and ends when that and its clients are done (with `-N`, on
///   `-O exit` or a signal). With `ControlPersist=yes|N` it goes to the background (stdio on /dev/null,
///   its own session) once the socket listens: the foreground process then exits 0 with `-N`, or runs
///   the command as the master's first client; the background master ends on `-O exit`, a signal, or
///   after N seconds without clients (never for `yes` or `0`).
/// - `persist`: the foreground of a `ControlPersist` master started with `-N` (it exits at once);
/// - `mux`: a client whose control path has a live master (`ControlMaster=no|auto`): no new connection;
///   it stays the master's client until its command ends;
/// - `direct`: every other ssh (without a live master a `ControlMaster=no` client connects by itself,
///   and `ControlMaster=yes` with a socket already there says so and does the same, as OpenSSH does);
/// - `control`: `-O check`, `-O exit`, `-O stop`, `-O forward` and `-O cancel` requests to a master;
/// - `fork`: the foreground of an `ssh -f`, which exits 0 once connected (a master's socket listening):
///   its background half (a `master`, `direct` or `mux` line of its own when it ends) runs the command
///   with stdin on /dev/null and the caller's stdout and stderr, or with `-N` holds the connection;
/// - `config`: `ssh -G`, which prints the resolved configuration and connects nowhere.
/// `ask`/`autoask` are `yes`/`auto` without the confirmation (there is no one to ask).
enum SSHControl {
    enum MasterMode: Equatable { case no, yes, auto }

    /// `ControlPersist`: nil for `no`; `.some(nil)` to stay until told to exit; `.some(N)` idle seconds.
    typealias Persist = Double??

    /// The master's socket path and own session, for the signal handler.
    nonisolated(unsafe) static var socketPath: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var sessionChild: pid_t = 0

    /// The environment variable that tells a spawned zfake it is a detached master and which descriptor
    /// is its listening socket.
    static let listenerVariable = "ZFAKE_SSH_MASTER_FD"

    /// The environment variable that tells a spawned zfake it is the background half of an `ssh -f`
    /// (see `Background`).
    static let backgroundVariable = "ZFAKE_SSH_BACKGROUND"

    /// The `-O` commands OpenSSH 9.2 accepts that the fake answers (`proxy` is not modelled).
    static let requests: Set<String> = ["check", "forward", "cancel", "exit", "stop"]

    /// What the foreground of an `ssh -f` hands its background half: whether it was a client of a live
    /// master (the background joins it again) and the `drop` fault that fired for its connection (the
    /// background does not look at faults again).
    struct Background: Equatable {
        var multiplexed: Bool
        var drop: (bytes: Int?, seconds: Double?)?

        static func == (a: Background, b: Background) -> Bool { a.encoded == b.encoded }

        init(multiplexed: Bool, drop: (bytes: Int?, seconds: Double?)?) {
            self.multiplexed = multiplexed
            self.drop = drop
        }

        /// `mux|direct[ drop BYTES SECONDS]` (`-` for an unset number).
        var encoded: String {
            var text = multiplexed ? "mux" : "direct"
            if let drop { text += " drop \(drop.bytes.map(String.init) ?? "-") \(drop.seconds.map { String($0) } ?? "-")" }
            return text
        }

        init(encoded: String) {
            let words = encoded.split(separator: " ").map(String.init)
            multiplexed = words.first == "mux"
            if words.count == 4 && words[1] == "drop" {
                drop = (Int(words[2]), Double(words[3]))
            }
        }
    }

    // MARK: - Option values

    static func masterMode(_ value: String?, flagM: Bool) -> MasterMode? {
        if flagM { return .yes }
        guard let value else { return .no }
        switch value.lowercased() {
        case "yes", "ask", "true": return .yes
        case "no", "false": return .no
        case "auto", "autoask": return .auto
        default: return nil
        }
    }

    /// OpenSSH's `ControlPersist` values: `yes`, `no`, or a time (convtime: `90`, `1m`, `1h30m`; 0 means
    /// indefinitely). Returns nil (outer) for an invalid value.
    static func persist(_ value: String?) -> Persist? {
        guard let value else { return .some(nil) }
        switch value.lowercased() {
        case "no", "false": return .some(nil)
        case "yes", "true": return .some(.some(nil))
        default:
            guard let seconds = convtime(value) else { return nil }
            return .some(.some(seconds == 0 ? nil : seconds))
        }
    }

    /// `convtime(3)` of OpenSSH: digits with an optional s/m/h/d/w unit, concatenated.
    static func convtime(_ text: String) -> Double? {
        guard !text.isEmpty else { return nil }
        var total = 0.0
        var digits = ""
        for character in text {
            if character.isASCII && character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s", "S": unit = 1
            case "m", "M": unit = 60
            case "h", "H": unit = 3600
            case "d", "D": unit = 86400
            case "w", "W": unit = 604800
            default: return nil
            }
            guard let number = Double(digits) else { return nil }
            total += number * unit
            digits = ""
        }
        if !digits.isEmpty {
            guard let number = Double(digits) else { return nil }
            total += number
        }
        return total
    }

    // MARK: - Master

    /// Binds and listens at `path`. A stale socket (nothing answers) is replaced when `replaceStale`
    /// (ControlMaster=auto, as OpenSSH unlinks it). Returns nil with errno set when the path is taken.
    static func listen(at path: String, replaceStale: Bool) -> Int32? {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { return nil }
        if replaceStale, access(path, F_OK) == 0, connectUnix(path) == nil, errno == ECONNREFUSED { unlink(path) }
        guard bindUnix(listener, path), Glibc.listen(listener, 64) == 0 else {
            let code = errno
            close(listener)
            errno = code
            return nil
        }
        return listener
    }

    /// Starts a detached ssh (a new zfake process in its own session, stdio on /dev/null but stdout and
    /// stderr with `keepOutput`): a master that takes over `listener`, and/or with `background` the
    /// background half of an `ssh -f`. The listener already listens, so a client that connects before
    /// the new process accepts waits in its backlog. Returns the pid.
    /// `holdSignals`: TERM, INT and HUP start blocked (a background `-N` connection waits for them with
    /// sigwait, so one sent the moment it starts is not lost).
    static func detach(listener: Int32?, arguments: [String], background: Background? = nil,
                       keepOutput: Bool = false, holdSignals: Bool = false) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...(keepOutput ? 0 : 2) {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let inherited: Int32 = 3
        if let listener { posix_spawn_file_actions_adddup2(&actions, listener, inherited) } // dup2 clears close-on-exec
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        if holdSignals { for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&mask, signal) } }
        posix_spawnattr_setsigmask(&attributes, &mask)
        let setsid: Int32 = 0x80 // POSIX_SPAWN_SETSID (glibc), which the Glibc module does not export
        posix_spawnattr_setflags(&attributes, Int16(setsid | Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)))
        var environment = ProcessInfo.processInfo.environment
        environment[listenerVariable] = listener.map { _ in String(inherited) }
        environment[backgroundVariable] = background?.encoded
        let executable = SSHTool.ownExecutable()
        let argv = [executable, "ssh"] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { errno = result; return nil }
        return pid
    }

    /// Closes every open descriptor above `low` but `keep` (a detached master holds nothing of its
    /// starter's: a caller waiting for EOF on an inherited pipe or socket would wait for the master).
    static func closeDescriptors(above low: Int32, except keep: Int32) {
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init)
        for fd in open where fd > low && fd != keep { close(fd) }
    }

    /// Serves the control socket: counts clients (each holds its connection while its command runs),
    /// answers `check`, `exit` and `stop`. Ends on `exit`, a signal, once its own session (`session`,
    /// a started remote shell) and all clients are done, or after `idle` seconds without clients.
    /// Returns the exit code (the session's, else 0; 255 on a signal).
    static func serve(listener: Int32, path: String, session: pid_t?, idle: Double?, stayUntilExit: Bool,
                      invocation: NetCall) -> Int32 {
        socketPath = strdup(path)
        sessionChild = session ?? 0
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { received in
            if let path = SSHControl.socketPath { unlink(path) }
            if SSHControl.sessionChild > 0 { kill(SSHControl.sessionChild, SIGHUP) }
            _exit(received == SIGTERM || received == SIGINT || received == SIGHUP ? 255 : 255)
        }
        sigemptyset(&action.sa_mask)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaction(signal, &action, nil) }
        signal(SIGPIPE, SIG_IGN)

        var listening: Int32? = listener
        var clients: [Int32] = []
        var served = 0
        var sessionStatus: Int32? = session == nil ? 0 : nil
        var idleSince = NetIO.now()
        func finish(_ code: Int32) -> Int32 {
            if let listening { close(listening); unlink(path) }
            clients.forEach { close($0) }
            return invocation.finish(code, extra: ["ssh": "master", "clients": served])
        }
        while true {
            if let session, sessionStatus == nil {
                var status: Int32 = 0
                if waitpid(session, &status, WNOHANG) == session {
                    sessionStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 255
                    sessionChild = 0
                }
            }
            if clients.isEmpty {
                if session != nil, let sessionStatus, !stayUntilExit { return finish(sessionStatus) }
                if listening == nil { return finish(sessionStatus ?? 0) }
                if let idle, NetIO.now() - idleSince >= idle { return finish(0) }
            }
            var pollers = clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let listening { pollers.insert(pollfd(fd: listening, events: Int16(POLLIN), revents: 0), at: 0) }
            var wait: Double = 60
            if session != nil && sessionStatus == nil { wait = 0.02 } // the session's end is looked for
            if let idle, clients.isEmpty { wait = min(wait, max(0, idle - (NetIO.now() - idleSince)) + 0.001) }
            let ready = poll(&pollers, nfds_t(pollers.count), Int32(wait * 1000))
            if ready < 0 && errno != EINTR { return finish(255) }
            if ready <= 0 { continue }
            var closed: Set<Int32> = []
            for poller in pollers where poller.revents != 0 {
                if poller.fd == listening {
                    let connection = accept(poller.fd, nil, nil)
                    guard connection >= 0 else { continue }
                    _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                    let request = readLine(connection)
                    switch request {
                    case "exit":
                        NetIO.writeAll(connection, "ok\n")
                        close(connection)
                        return finish(0)
                    case "stop":
                        NetIO.writeAll(connection, "ok\n")
                        close(connection)
                        if let listener = listening { close(listener); unlink(path) }
                        listening = nil
                    case "client":
                        served += 1
                        NetIO.writeAll(connection, "ok\n")
                        clients.append(connection)
                    default:
                        NetIO.writeAll(connection, "ok \(getpid())\n")
                        close(connection)
                    }
                } else {
                    // A client's connection only ever closes.
                    closed.insert(poller.fd)
                }
            }
            if !closed.isEmpty {
                closed.forEach { close($0) }
                clients.removeAll { closed.contains($0) }
                if clients.isEmpty { idleSince = NetIO.now() }
            }
        }
    }

    /// Waits for TERM, INT or HUP; returns 255 as ssh does when killed so.
    static func waitForSignal() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        sigprocmask(SIG_BLOCK, &set, nil)
        var received: Int32 = 0
        sigwait(&set, &received)
        return 255
    }

    // MARK: - Clients

    /// Connects to the master at `path` as a client: the returned descriptor stays open while the
    /// client's command runs. Nil (errno from connect) when no master answers.
    static func joinMaster(path: String) -> Int32? {
        guard let fd = connectUnix(path) else { return nil }
        NetIO.writeAll(fd, "client\n")
        guard readLine(fd) == "ok" else {
            close(fd)
            errno = ECONNREFUSED
            return nil
        }
        return fd
    }

    /// `-O check` / `-O exit` / `-O stop`; `-O forward` / `-O cancel` (no forwardings are modelled: the
    /// master is asked, nothing is printed).
    static func request(_ command: String, path: String, invocation: NetCall) -> Int32 {
        guard let fd = connectUnix(path) else {
            NetIO.stderr("Control socket connect(\(path)): \(NetIO.errorText(errno))\r\n")
            return invocation.finish(255, extra: ["ssh": "control"])
        }
        defer { close(fd) }
        NetIO.writeAll(fd, command + "\n")
        let answer = readLine(fd)
        switch command {
        case "exit": NetIO.stderr("Exit request sent.\r\n")
        case "stop": NetIO.stderr("Stop listening request sent.\r\n")
        case "forward", "cancel": break
        default: NetIO.stderr("Master running (pid=\(answer.split(separator: " ").last ?? "?"))\r\n")
        }
        return invocation.finish(0, extra: ["ssh": "control"])
    }

    // MARK: - Unix sockets

    private static func unixAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return address
    }

    private static func bindUnix(_ fd: Int32, _ path: String) -> Bool {
        guard var address = unixAddress(path) else { errno = ENAMETOOLONG; return false }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    static func connectUnix(_ path: String) -> Int32? {
        guard var address = unixAddress(path) else { errno = ENAMETOOLONG; return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            errno = code
            return nil
        }
        return fd
    }

    private static func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 256 {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0x0a { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
