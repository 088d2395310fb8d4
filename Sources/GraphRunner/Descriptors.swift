import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File descriptor plumbing. Every descriptor the runner opens is close-on-exec: Foundation's spawn
/// does not close the sources of the descriptors it duplicates onto 0/1/2, so without the flag every
/// child would inherit every other pipe end of the graph, and pipes would never see EOF.
enum Descriptors {
    struct SystemError: Error, CustomStringConvertible {
        var operation: String
        var code: Int32
        var description: String { "\(operation): \(String(cString: strerror(code)))" }
    }

    /// A new pipe: `(read, write)`, both ends close-on-exec. (Glibc's `pipe2` is not visible from Swift;
    /// the brief window before `fcntl` is harmless because Foundation's spawn closes every descriptor it was
    /// not asked to pass on.)
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemError(operation: "pipe", code: errno) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    static func open(_ path: String, flags: Int32) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw SystemError(operation: "cannot open \(path)", code: errno) }
        return fd
    }

    /// Writes all of `bytes` to `fd` (blocking).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write", code: errno)
            }
            offset += count
        }
    }

    /// If zettabee was started with 0, 1 or 2 closed, opens /dev/null there, so that no pipe the runner
    /// creates lands on one of them (posix_spawn would then dup2 a descriptor onto itself and the
    /// close-on-exec flag would close it in the child).
    static func ensureStandardDescriptorsOpen() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 {
            _ = Glibc.open("/dev/null", O_RDWR)
        }
    }
}

/// Finds executables the way exec would, but beforehand, so that a missing one stops the run before
/// anything starts.
enum ExecutableResolver {
    /// The absolute path of `name`: searched on `searchPath` when it is a bare name, checked when it
    /// contains a `/` (relative paths are taken from the current directory). `nil` when not found or not
    /// an executable regular file.
    static func resolve(_ name: String, searchPath: String) -> String? {
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : FileManager.default.currentDirectoryPath + "/" + name
            return isExecutableFile(path) ? path : nil
        }
        guard !name.isEmpty else { return nil }
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let base = directory.isEmpty ? FileManager.default.currentDirectoryPath : String(directory)
            let candidate = base.hasSuffix("/") ? base + name : base + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}

/// One long-lived thread, with an empty signal mask, on which every child is spawned: a child inherits
/// the spawning thread's mask, and threads of Dispatch or Swift concurrency block SIGINT/SIGTERM.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            clearSignalMaskOfCurrentThread()
            while true {
                self.condition.lock()
                while self.jobs.isEmpty { self.condition.wait() }
                let job = self.jobs.removeFirst()
                self.condition.unlock()
                job()
            }
        }
        thread.name = "zettabee spawner"
        thread.start()
    }

    /// Runs `body` on the spawn thread and returns its result.
    func perform<T>(_ body: @escaping () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        var result: T?
        condition.lock()
        jobs.append {
            result = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result!
    }
}
