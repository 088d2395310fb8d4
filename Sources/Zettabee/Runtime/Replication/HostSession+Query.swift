import CommandGraph
import GraphRunner

extension HostSession {
    /// What a read that may partly fail returned: stdout in full, and the failure when it did not succeed.
    public struct QueryOutcome: Sendable {
        public var stdout: String
        public var failure: CommandFailure?
    }

    /// Runs a read such as `zfs get … A B C` whose stdout is useful even when it fails (zfs lists the
    /// datasets that exist and exits 1 for the missing ones).
    public func query(_ command: Command, limit: Int = 16 << 20) -> QueryOutcome {
        do {
            return QueryOutcome(stdout: try run(command, limit: limit), failure: nil)
        } catch {
            return QueryOutcome(stdout: error.capturedStdout, failure: error)
        }
    }
}
