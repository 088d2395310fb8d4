import CommandGraph
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A helper process that lives alongside an action (an ssh connection master): started on the spawn
/// thread in its own process group with stdin and stdout on /dev/null, its stderr tail kept (bounded),
/// and ended by `stop`. It is never waited for by polling the run loop: its exit arrives through the
/// termination handler.
public final class BackgroundProcess: BackgroundRunning, @unchecked Sendable {
    public let spec: ProcessSpec
    private let process = Process()
    private let lock = NSLock()
    private let exited = DispatchSemaphore(value: 0)
    private var termination: Termination?
    private var tail: [UInt8] = []
    private static let tailLimit = 4096

    /// Starts `spec` with zettabee's environment and `extra` on top (or, `replacing`, with `extra`
    /// alone); throws `RunFailure` when the executable is missing or cannot start.
    public init(_ spec: ProcessSpec, environment extra: [String: String] = [:], replacing: Bool = false) throws {
        self.spec = spec
        Descriptors.ensureStandardDescriptorsOpen()
        var environment = replacing ? [:] : ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let path = ExecutableResolver.resolve(spec.executable, searchPath: searchPath) else {
            throw RunFailure(kind: .missingExecutable(name: spec.executable, searchedPATH: searchPath), result: nil)
        }
        let errorPipe = try Descriptors.makePipe()
        let null = try Descriptors.open("/dev/null", flags: O_RDWR)
        defer {
            close(null)
            close(errorPipe.write)
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = spec.arguments
        process.environment = environment
        process.standardInput = FileHandle(fileDescriptor: null, closeOnDealloc: false)
        process.standardOutput = FileHandle(fileDescriptor: null, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: errorPipe.write, closeOnDealloc: false)
        process.terminationHandler = { [self] process in
            let status = process.terminationStatus
            lock.withLock {
                termination = process.terminationReason == .uncaughtSignal ? .signaled(status) : .exited(status)
            }
            exited.signal()
        }
        let readEnd = errorPipe.read
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                lock.withLock {
                    tail += buffer[0..<count]
                    if tail.count > Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
                }
            }
            close(readEnd)
        }
        thread.name = "zettabee background stderr"
        let process = self.process
        let startError: Error? = SpawnThread.shared.perform {
            do {
                try process.run()
                return nil
            } catch {
                return error
            }
        }
        if let startError {
            close(readEnd)
            throw RunFailure(
                kind: .startFailed(StageID(pipeline: 0, stage: 0), reason: "\(shellQuotedCommand(spec.display)): \(SystemErrorText.describe(startError))"),
                result: nil)
        }
        thread.start()
    }

    public var pid: Int32 { process.processIdentifier }

    /// How it ended, or nil while it runs.
    public var terminationStatus: Termination? { lock.withLock { termination } }

    /// What it wrote on stderr (the last 4 KiB).
    public var stderrTail: String { lock.withLock { String(decoding: tail, as: UTF8.self) } }

    /// Waits at most `seconds` for it to end; true when it has.
    @discardableResult
    public func waitForExit(seconds: Double) -> Bool {
        if terminationStatus != nil { return true }
        if exited.wait(timeout: .now() + seconds) == .success {
            exited.signal()  // later waiters return at once
            return true
        }
        return false
    }

    /// Ends it: SIGTERM to its process group, SIGKILL after 2 s.
    public func stop() { stop(gracePeriod: 2) }

    /// Ends it: SIGTERM to its process group, SIGKILL after `gracePeriod`.
    public func stop(gracePeriod: Double) {
        guard terminationStatus == nil else { return }
        let pid = self.pid
        kill(-pid, SIGTERM)
        if !waitForExit(seconds: gracePeriod) {
            kill(-pid, SIGKILL)
            waitForExit(seconds: gracePeriod)
        }
    }
}
