import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// zettabee's handling of SIGINT, SIGTERM and SIGHUP.
///
/// `install()` sets `sigaction` handlers that only write the signal number into a self-pipe; a watcher
/// thread reads it, records the first signal in `pendingSignal` and tells every running graph to tear
/// itself down (a second signal skips the grace period). Nothing is ever set to `SIG_IGN`, and handlers
/// are reset to the default by exec, so children start with default dispositions.
///
/// After installing, these signals no longer kill zettabee: the caller must check `pendingSignal`
/// (runs throw `RunFailure.Kind.interrupted`, and refuse to start once it is set), clean up, and exit
/// with `128 + signal`.
public enum SignalTrap {
    /// The first SIGINT/SIGTERM/SIGHUP received since `install()`, if any.
    public static var pendingSignal: Int32? {
        state.lock.withLock { state.pending }
    }

    /// Installs the handlers (once; later calls do nothing). Also unblocks the three signals on the calling
    /// thread and, if zettabee was started with SIGPIPE ignored, restores its default so that children
    /// (which inherit ignored dispositions) die of SIGPIPE like any pipeline stage should.
    public static func install() {
        state.lock.lock()
        defer { state.lock.unlock() }
        guard !state.installed else { return }
        state.installed = true

        guard let fds = try? Descriptors.makePipe() else { fatalError("SignalTrap: cannot create a pipe") }
        _ = fcntl(fds.write, F_SETFL, O_NONBLOCK)
        signalPipeWriteEnd = fds.write
        let readEnd = fds.read

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let savedErrno = errno
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalPipeWriteEnd, &byte, 1)
            errno = savedErrno
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in trappedSignals {
            sigaction(signal, &action, nil)
            sigaddset(&unblock, signal)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)

        var pipeAction = sigaction()
        sigaction(SIGPIPE, nil, &pipeAction)
        if unsafeBitCast(pipeAction.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
            signal(SIGPIPE, SIG_DFL)
        }

        let watcher = Thread {
            clearSignalMaskOfCurrentThread()
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 {
                    received(Int32(byte))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        watcher.name = "zettabee signal watcher"
        watcher.start()
    }

    static let trappedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Registers a function called (on the watcher thread) with every trapped signal; returns a token for
    /// `removeListener`.
    static func addListener(_ listener: @escaping @Sendable (Int32) -> Void) -> Int {
        state.lock.withLock {
            state.nextToken += 1
            state.listeners[state.nextToken] = listener
            return state.nextToken
        }
    }

    static func removeListener(_ token: Int) {
        _ = state.lock.withLock { state.listeners.removeValue(forKey: token) }
    }

    private static func received(_ signal: Int32) {
        let listeners = state.lock.withLock {
            if state.pending == nil { state.pending = signal }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener(signal) }
    }

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var installed = false
        var pending: Int32?
        var listeners: [Int: @Sendable (Int32) -> Void] = [:]
        var nextToken = 0
    }

    private static let state = State()
}

/// The write end of the self-pipe; read by the signal handler, so a plain global.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Unblocks every signal on the calling thread. Children inherit the spawning thread's mask, and
/// Dispatch threads block most signals.
func clearSignalMaskOfCurrentThread() {
    var empty = sigset_t()
    sigemptyset(&empty)
    pthread_sigmask(SIG_SETMASK, &empty, nil)
}
