import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX helpers shared by the fake ssh, mbuffer and send_nsca.
enum NetIO {
    /// Writes all of `count` bytes, retrying on EINTR and short writes. Returns false on error (errno set).
    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Bool {
        var done = 0
        while done < count {
            let n = write(fd, base + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { writeAll(fd, $0.baseAddress!, $0.count) }
    }

    /// Writes `text` to standard error unbuffered.
    static func stderr(_ text: String) { writeAll(2, text) }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Sleeps for `seconds` (used only to pace rate limits, never to synchronise).
    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Monotonic time in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func isPipe(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
    }

    /// `splice(2)`, looked up at run time because the Glibc module does not export it.
    typealias SpliceFunction = @convention(c) (
        Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32
    ) -> Int
    static let splice: SpliceFunction? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "splice") else { return nil }
        return unsafeBitCast(symbol, to: SpliceFunction.self)
    }()
    static let spliceMove: UInt32 = 1
    static let spliceMore: UInt32 = 4
    static let setPipeSize: Int32 = 1031
}

/// Times one fake invocation and writes its call-log line when it ends.
struct NetCall {
    let world: FakeWorld
    let tool: String
    let arguments: [String]
    let started = NetIO.now()

    func finish(_ code: Int32, extra: [String: Any] = [:]) -> Int32 {
        world.logCall(tool: tool, arguments: arguments, exitCode: code, duration: NetIO.now() - started, extra: extra)
        return code
    }
}

/// Parses sizes and rates as mbuffer does: a number with an optional `b`/`B`/`k`/`K`/`M`/`G`/`T` suffix
/// (binary multiples). Returns nil for an unknown suffix character, reported via `badCharacter`.
func parseBinarySize(_ text: String) -> (value: Double?, badCharacter: Character?) {
    var digits = ""
    var rest = Substring(text)
    while let c = rest.first, c.isNumber || c == "." { digits.append(c); rest = rest.dropFirst() }
    guard let number = Double(digits) else { return (nil, rest.first) }
    guard let suffix = rest.first else { return (number, nil) }
    let multiplier: Double
    switch suffix {
    case "b", "B": multiplier = 1
    case "k", "K": multiplier = 1024
    case "m", "M": multiplier = 1024 * 1024
    case "g", "G": multiplier = 1024 * 1024 * 1024
    case "t", "T": multiplier = 1024 * 1024 * 1024 * 1024
    case "%": multiplier = 1 // a share of memory: the fake has no buffer to size
    default: return (nil, suffix)
    }
    return (number * multiplier, nil)
}
