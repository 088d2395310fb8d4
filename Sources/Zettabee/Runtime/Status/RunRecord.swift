import CommandGraph
import Foundation

/// How a run ended.
public enum RunResult: String, Codable, Sendable {
    case success, failure
}

/// The record of a pair's last initialize or update, kept in `<run-dir>/<fp>.last.json`:
///
///     {"action":"update","bytes":1048576,"end":"2026-11-26T18:33:20Z","message":"base zettabee.…",
///      "nagios":0,"result":"success","snapshot":"zettabee.…","start":"2026-11-26T18:33:19Z"}
///
/// `bytes` is the stream's size (see `Replicator.countedStage`), absent when nothing was measured (no
/// transfer ran, or a failure left no final count); `snapshot` only on success;
/// `nagios` is the code the run was reported with (0 OK … 3 UNKNOWN).
public struct RunRecord: Codable, Hashable, Sendable {
    public var action: String
    public var start: Date
    public var end: Date
    public var result: RunResult
    /// One line: the new base on success, the reason on failure.
    public var message: String
    public var bytes: UInt64?
    public var snapshot: String?
    public var nagios: Int

    public init(
        action: String, start: Date, end: Date, result: RunResult, message: String, bytes: UInt64?, snapshot: String?,
        nagios: NagiosStatus
    ) {
        self.action = action
        self.start = start
        self.end = end
        self.result = result
        self.message = message
        self.bytes = bytes
        self.snapshot = snapshot
        self.nagios = nagios.rawValue
    }

    public var duration: Double { end.timeIntervalSince(start) }

    /// Writes the record atomically.
    public func save(to path: String) throws {
        try AtomicFile.write(try StateJSON.encoder.encode(self), to: path)
    }

    /// The record at `path`; nil when there is none or it cannot be read.
    public static func load(from path: String) -> RunRecord? {
        guard let data = AtomicFile.read(path) else { return nil }
        return try? StateJSON.decoder.decode(RunRecord.self, from: data)
    }
}
