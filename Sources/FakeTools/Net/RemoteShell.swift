import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The remote side of the fake ssh: `/bin/sh` spawned with a clean signal state and the remote
/// environment. A TERM/INT/HUP sent to the fake ssh hangs up the remote shell (as a closed connection
/// would) and then kills the fake ssh with the same signal.
enum RemoteShell {
    nonisolated(unsafe) static var child: pid_t = 0
    nonisolated(unsafe) static var caughtSignal: Int32 = 0
    static let forwardedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Runs the shell with inherited stdio; returns its exit code (255 if a signal killed it, as ssh does).
    static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        guard let pid = spawn(arguments, environment: environment, stdoutPipe: nil, ownGroup: false) else {
            NetIO.stderr("zfake ssh: cannot start /bin/sh: \(NetIO.errorText(errno))\n")
            return 255
        }
        return finish(waitFor(pid))
    }

    /// Starts the shell with inherited stdio and returns its pid (a master's own session).
    static func start(_ arguments: [String], environment: [String: String]) -> pid_t? {
        spawn(arguments, environment: environment, stdoutPipe: nil, ownGroup: false)
    }

    /// Runs the shell with stdout relayed through the fake so the "connection" can die after `afterBytes`
    /// bytes or `afterSeconds` seconds.
    static func runDropping(_ arguments: [String], environment: [String: String], afterBytes: Int?,
                            afterSeconds: Double?, host: String) -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return 255 }
        guard let pid = spawn(arguments, environment: environment, stdoutPipe: fds, ownGroup: true) else {
            NetIO.stderr("zfake ssh: cannot start /bin/sh: \(NetIO.errorText(errno))\n")
            return 255
        }
        close(fds[1])
        signal(SIGPIPE, SIG_IGN)
        let deadline = afterSeconds.map { NetIO.now() + $0 }
        var remaining = afterBytes ?? Int.max
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var dropped = false
        relay: while true {
            if let deadline {
                let left = deadline - NetIO.now()
                if left <= 0 { dropped = true; break }
                var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Int32(min(left * 1000 + 1, 60_000)))
                if ready == 0 { continue }
                if ready < 0 && errno == EINTR { continue }
            }
            if remaining == 0 { dropped = true; break }
            let n = read(fds[0], buffer, min(size, remaining))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break relay }
            if !NetIO.writeAll(1, buffer, n) { break relay }
            remaining -= n
            if remaining == 0 && afterBytes != nil { dropped = true; break }
        }
        close(fds[0])
        if dropped {
            kill(-pid, SIGKILL)
            _ = waitFor(pid)
            NetIO.stderr("Connection to \(host) closed by remote host.\r\n")
            return 255
        }
        return finish(waitFor(pid))
    }

    private static func finish(_ status: Int32) -> Int32 {
        if caughtSignal != 0 {
            signal(caughtSignal, SIG_DFL)
            raise(caughtSignal)
        }
        if (status & 0x7f) == 0 { return (status >> 8) & 0xff }
        return 255
    }

    private static func waitFor(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 255 << 8 }
        }
        return status
    }

    private static func spawn(_ arguments: [String], environment: [String: String], stdoutPipe: [Int32]?,
                              ownGroup: Bool) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdoutPipe {
            posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
            posix_spawn_file_actions_addclose(&actions, stdoutPipe[0])
            posix_spawn_file_actions_addclose(&actions, stdoutPipe[1])
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if ownGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        installForwarding()
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard result == 0 else { errno = result; return nil }
        child = pid
        return pid
    }

    private static func installForwarding() {
        for signal in forwardedSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                RemoteShell.caughtSignal = received
                if RemoteShell.child > 0 { kill(RemoteShell.child, SIGHUP) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }
}
