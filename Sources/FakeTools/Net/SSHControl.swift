import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH connection sharing, as far as the fake models it. The call log's `ssh` field says what each
/// invocation was, so tests and benchmarks can count real connections:
/// - `master`: `-M` or `-o ControlMaster=yes` with a control path: one connection, which listens on a
///   Unix socket at the control path until `-O exit` or SIGTERM (with `-N` it runs no command);
/// - `mux`: a client whose control path has a live master: no new connection;
/// - `direct`: every other ssh (a client without a master connects by itself, as OpenSSH does);
/// - `control`: `-O check` / `-O exit` requests to a master.
/// `ControlMaster=auto`/`ask` are treated as `no`, and `ControlPersist` is ignored.
enum SSHControl {
    /// The master's socket path, for the SIGTERM handler.
    nonisolated(unsafe) static var socketPath: UnsafeMutablePointer<CChar>?

    /// Runs a master for `path`: returns the exit code once told to exit.
    static func runMaster(path: String, invocation: NetCall) -> Int32 {
        var clients = 0
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0, bindUnix(listener, path), listen(listener, 16) == 0 else {
            NetIO.stderr("ControlSocket \(path) already exists, disabling multiplexing\r\n")
            return invocation.finish(waitForSignal(), extra: ["ssh": "master", "clients": 0])
        }
        socketPath = strdup(path)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            if let path = SSHControl.socketPath { unlink(path) }
            _exit(255)
        }
        sigemptyset(&action.sa_mask)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaction(signal, &action, nil) }
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                break
            }
            let request = readLine(connection)
            switch request {
            case "exit":
                NetIO.writeAll(connection, "ok\n")
                close(connection)
                unlink(path)
                close(listener)
                return invocation.finish(0, extra: ["ssh": "master", "clients": clients])
            case "client":
                clients += 1
                NetIO.writeAll(connection, "ok\n")
            default:
                NetIO.writeAll(connection, "ok \(getpid())\n")
            }
            close(connection)
        }
        unlink(path)
        return invocation.finish(255, extra: ["ssh": "master", "clients": clients])
    }

    /// True when a master listens at `path` (it then counts this client).
    static func joinMaster(path: String) -> Bool {
        guard let fd = connectUnix(path) else { return false }
        defer { close(fd) }
        NetIO.writeAll(fd, "client\n")
        return readLine(fd) == "ok"
    }

    /// `-O check` / `-O exit`.
    static func request(_ command: String, path: String, invocation: NetCall) -> Int32 {
        guard command == "check" || command == "exit" else {
            NetIO.stderr("Unsupported control command \(command)\r\n")
            return invocation.finish(255, extra: ["ssh": "control"])
        }
        guard let fd = connectUnix(path) else {
            NetIO.stderr("Control socket connect(\(path)): \(NetIO.errorText(errno))\r\n")
            return invocation.finish(255, extra: ["ssh": "control"])
        }
        defer { close(fd) }
        NetIO.writeAll(fd, command + "\n")
        let answer = readLine(fd)
        if command == "exit" {
            NetIO.stderr("Exit request sent.\r\n")
        } else {
            NetIO.stderr("Master running (pid=\(answer.split(separator: " ").last ?? "?"))\r\n")
        }
        return invocation.finish(0, extra: ["ssh": "control"])
    }

    private static func waitForSignal() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        sigprocmask(SIG_BLOCK, &set, nil)
        var received: Int32 = 0
        sigwait(&set, &received)
        return 255
    }

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
        guard var address = unixAddress(path) else { return false }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    private static func connectUnix(_ path: String) -> Int32? {
        guard var address = unixAddress(path) else { return nil }
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
