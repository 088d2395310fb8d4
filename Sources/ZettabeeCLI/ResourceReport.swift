import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// With `ZETTABEE_RESOURCE_REPORT=FILE` in the environment, zettabee appends one line to FILE as it
/// exits: its own CPU time (not its children's) and its peak resident memory. For the benchmarks.
public enum ResourceReport {
    public static let variable = "ZETTABEE_RESOURCE_REPORT"

    public static func writeIfRequested(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment[variable], !path.isEmpty else { return }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let line = "pid=\(getpid()) utime=\(user) stime=\(system) vmhwm_kib=\(peakResidentKiB() ?? -1)\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// `VmHWM` from /proc/self/status.
    static func peakResidentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
}
