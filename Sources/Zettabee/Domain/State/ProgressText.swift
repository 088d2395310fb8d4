import Foundation

/// How progress is shown to people: runstatus lines, the terminal progress bar, byte counts. Pure.
public enum ProgressText {
    /// `20.0 MiB`, `512 B`, `1.5 GiB`.
    public static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `update transfer: 5.0 MiB of 20.0 MiB (25%) at 2.0 MiB/s, elapsed 0:00:02, ETA 0:00:07`.
    public static func line(_ progress: RunProgress) -> String {
        var text = "\(progress.action) \(progress.phase): \(bytes(progress.bytes))"
        if let estimate = progress.estimatedBytes, estimate > 0 {
            text += " of \(bytes(estimate)) (\(min(100, Int(Double(progress.bytes) * 100 / Double(estimate))))%)"
        }
        text += " at \(bytes(UInt64(progress.rate)))/s, elapsed \(TimeSpan(seconds: Int(progress.elapsed)).lagText)"
        if let eta = progress.eta { text += ", ETA \(TimeSpan(seconds: Int(eta.rounded(.up))).lagText)" }
        return text
    }

    /// `[#######-------------] ` followed by `line`; an indeterminate bar without an estimate.
    public static func bar(_ progress: RunProgress, width: Int = 20) -> String {
        var filled = 0
        if let estimate = progress.estimatedBytes, estimate > 0 {
            filled = min(width, Int(Double(progress.bytes) / Double(estimate) * Double(width)))
        } else {
            filled = Int(progress.elapsed * 2) % (width + 1)
        }
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " + line(progress)
    }

    /// The summary of a finished run: `update succeeded: 20.0 MiB in 0:00:03 (6.7 MiB/s), base zettabee.…`.
    public static func summary(_ record: RunRecord) -> String {
        let seconds = record.duration
        var text = "\(record.action) \(record.result == .success ? "succeeded" : "failed")"
        if let count = record.bytes {
            text += ": \(bytes(count)) in \(TimeSpan(seconds: Int(seconds.rounded())).lagText)"
            if seconds > 0 { text += " (\(bytes(UInt64(Double(count) / seconds)))/s)" }
        } else {
            text += " in \(TimeSpan(seconds: Int(seconds.rounded())).lagText)"
        }
        return text + ", " + record.message
    }
}
