/// OpenSSH connection sharing: one master connection per host and run, which the short control
/// commands of the run (`zfs get`, `zfs snapshot`, `zfs set`, …) multiplex over, so that an update
/// costs one TCP connection and one authentication for all of them instead of one each.
///
/// The stream goes through the master only where nothing else runs beside it (one pair's own master;
/// see `Replicator.streamSource`).
public struct SSHSharing: Sendable, Hashable {
    /// The master's control socket (`-o ControlPath=`); an absolute path.
    public let controlPath: String

    /// OpenSSH binds the socket under a temporary name 17 characters longer than the path, and a
    /// Unix socket path holds at most 107 bytes.
    public static let maximumPathLength = 90

    public init(controlPath: String) throws(InvalidValue) {
        try Check.path(controlPath, field: "ssh control path")
        guard controlPath.hasPrefix("/") else {
            throw InvalidValue(field: "ssh control path", value: controlPath, reason: "must be absolute")
        }
        guard controlPath.utf8.count <= Self.maximumPathLength else {
            throw InvalidValue(
                field: "ssh control path", value: controlPath,
                reason: "longer than \(Self.maximumPathLength) bytes, too long for a Unix socket")
        }
        // ssh reads the `-o` value as a configuration line: `%` is expanded, blanks and quotes split it.
        if let bad = controlPath.first(where: { "% \t\"'".contains($0) }) {
            throw InvalidValue(field: "ssh control path", value: controlPath, reason: "ssh would misread '\(bad)' in it")
        }
        self.controlPath = controlPath
    }

    /// `destination` as a client of the master: `-o ControlMaster=no -o ControlPath=PATH` after its own
    /// options. Without a live master such an ssh connects by itself, as if no sharing were set up.
    public func client(of destination: SSHDestination) -> SSHDestination {
        // The options are validated words; `try!` cannot fail for these constant keys and a checked path.
        let options = destination.options + [try! .init("ControlMaster", "no"), try! .init("ControlPath", controlPath)]
        return try! SSHDestination(
            host: destination.host, user: destination.user, port: destination.port,
            identityFile: destination.identityFile, configFile: destination.configFile, options: options)
    }

    /// `ssh OPTIONS -o ControlMaster=yes -o ControlPath=PATH -o ControlPersist=no -N -- DEST`: the master,
    /// which runs no command and lives until `exit(_:)` (or SIGTERM) ends it. `endingWithParent`: started
    /// as `setpriv --pdeathsig TERM -- ssh …` (util-linux), so the kernel sends it SIGTERM when the
    /// process that started it dies, even by SIGKILL: no connection outlives its run.
    public func master(of destination: SSHDestination, endingWithParent: Bool = false) -> ProcessSpec {
        let ssh = destination.optionArguments
            + ["-o", "ControlMaster=yes", "-o", "ControlPath=" + controlPath, "-o", "ControlPersist=no", "-N", "--",
               destination.destination]
        let label = "ssh \(destination.host): master"
        guard endingWithParent else { return ProcessSpec(executable: "ssh", arguments: ssh, label: label) }
        return ProcessSpec(executable: "setpriv", arguments: ["--pdeathsig", "TERM", "--", "ssh"] + ssh, label: label)
    }

    /// `ssh OPTIONS -o ControlPath=PATH -O exit -- DEST`: asks the master to close the connection and exit.
    public func exit(_ destination: SSHDestination) -> ProcessSpec {
        let arguments = destination.optionArguments
            + ["-o", "ControlPath=" + controlPath, "-O", "exit", "--", destination.destination]
        return ProcessSpec(executable: "ssh", arguments: arguments, label: "ssh \(destination.host): -O exit")
    }
}
