/// Where a pair's lock and log files live: named by fingerprint, as in the original.
public struct PairFiles: Hashable, Sendable {
    public var runDirectory: String
    public var logDirectory: String

    public init(runDirectory: String, logDirectory: String) {
        self.runDirectory = runDirectory
        self.logDirectory = logDirectory
    }

    /// `<run-dir>/<fp>.lck`
    public func lockPath(for fingerprint: Fingerprint) -> String {
        join(runDirectory, "\(fingerprint).lck")
    }

    /// `<log-dir>/<fp>.log`
    public func logPath(for fingerprint: Fingerprint) -> String {
        join(logDirectory, "\(fingerprint).log")
    }

    private func join(_ directory: String, _ file: String) -> String {
        directory.hasSuffix("/") ? directory + file : directory + "/" + file
    }
}
