import CommandGraph

/// How the destination's `zfs receive` is to be run.
public struct ReceiveSettings: Hashable, Sendable {
    /// `-F`: roll the destination back to the base first (only with the operator's consent).
    public var force = false
    /// `-s`: keep a partial receive for resuming (only where the destination's zfs supports it).
    public var resumable = false
    /// `-o P=V`: properties set by the receive itself (only where supported; else set afterwards).
    public var setting: [PropertyAssignment] = []
    /// Where the stream lands: the pair's destination (nil), or one of its descendants (resuming a
    /// partial receive of a child).
    public var target: DatasetName?
    /// `-x P`: properties of the stream the received datasets do not take (they inherit instead).
    public var excluding: [PropertyName] = []

    public init(force: Bool = false, resumable: Bool = false, setting: [PropertyAssignment] = [], target: DatasetName? = nil) {
        self.force = force
        self.resumable = resumable
        self.setting = setting
        self.target = target
    }
}

/// What to send: a full stream of `snapshot`, or the increment from `base`.
public struct SendSpecification: Hashable, Sendable {
    public var snapshot: SnapshotName
    public var base: SnapshotName?
    /// `-R`: the filesystem with its descendants.
    public var recursive: Bool
    /// `-t TOKEN`: resume an interrupted receive instead (the token carries the original's flags).
    public var resumeToken: String?
    /// `-w`, `-L`, `-c`, `-e`: see `StreamFormat`.
    public var format = StreamFormat()

    public init(snapshot: SnapshotName, base: SnapshotName? = nil, recursive: Bool = false, resumeToken: String? = nil) {
        self.snapshot = snapshot
        self.base = base
        self.recursive = recursive
        self.resumeToken = resumeToken
    }
}

/// Builds the graphs zettabee runs for a pair. Pure: no processes, no I/O.
public enum TransferPlanner {
    /// How long the sender waits for the local mbuffer to listen before the transfer is given up.
    public static let listenerTimeout = 30.0

    /// The ssh destination of the pair's source host.
    public static func sourceLocation(of pair: Pair, sshConfig: String?) throws(InvalidValue) -> SSHDestination {
        try SSHDestination(
            host: pair.source.host.rawValue, user: pair.options.ssh.user,
            port: pair.options.ssh.port.map { Int($0.number) }, identityFile: pair.options.ssh.keyPath,
            configFile: sshConfig)
    }

    /// The stream from the source's `zfs send` into the destination's `zfs receive`, over the pair's
    /// transport:
    /// - mbuffer: `mbuffer -I DSTHOST:PORT | zfs receive` here, and, once it listens,
    ///   `ssh SRC 'zfs send | mbuffer -O DSTHOST:PORT'`;
    /// - ssh: `ssh SRC 'zfs send [| compress]' [| decompress] | zfs receive`.
    /// `listen`: where the mbuffer listener binds; nil for the destination host's name.
    public static func transfer(
        pair: Pair, source: SSHDestination, send: SendSpecification, receive: ReceiveSettings, listen: ListenAddress? = nil
    ) throws(InvalidValue) -> Graph {
        let sendCommand: Command
        if let token = send.resumeToken {
            sendCommand = try ZFS.resumeSend(token: token)
        } else {
            sendCommand = ZFS.send(
                send.snapshot, incremental: send.base.map { ZFS.Incremental.from($0) }, replicate: send.recursive,
                raw: send.format.raw, largeBlocks: send.format.largeBlocks, compressed: send.format.compressed,
                embedded: send.format.embedded)
        }
        let receiveCommand = ZFS.receive(
            into: receive.target ?? pair.destination.dataset, force: receive.force, resumable: receive.resumable,
            setting: receive.setting, excluding: receive.excluding)

        switch pair.options.transport {
        case .mbuffer(let mbuffer):
            let port = Int(mbuffer.port.number)
            let destinationHost = pair.destination.host.rawValue
            let listenHost: String?
            switch listen {
            case nil: listenHost = destinationHost
            case .anyInterface?: listenHost = nil
            case .host(let host)?: listenHost = host.rawValue
            }
            let memory = try quantity(mbuffer.bufferSize, field: "buffer")
            let listenerOptions = try Mbuffer.Options(blockSize: try mbufferBlockSize(), memory: memory, quiet: true)
            let senderOptions = try Mbuffer.Options(
                blockSize: try mbufferBlockSize(), memory: memory,
                writeRateLimit: try quantity(mbuffer.rateLimit, field: "rate"), quiet: true)
            let listener = Pipeline([
                .local(try Mbuffer.listen(port: port, address: listenHost, options: listenerOptions)),
                .local(receiveCommand),
            ])
            let sender = Pipeline(
                [
                    .remote(sendCommand, on: source),
                    .remote(try Mbuffer.send(toHost: destinationHost, port: port, options: senderOptions), on: source),
                ],
                start: .afterTCPListening(port: port, pipelineIndex: 0, timeout: listenerTimeout))
            return Graph([listener, sender])
        case .ssh(let compression):
            var stages: [Stage] = [.remote(sendCommand, on: source)]
            switch compression {
            case .none:
                // ssh does not count what it writes into the pipe apart from its connection's traffic:
                // `cat` feeds the receive instead, so the stream's exact size is its write count
                // (`exactsize=no` leaves it out).
                if pair.options.countsStreamExactly { stages.append(.local(Cat.copy())) }
            case .zstd:
                stages += [.remote(try Zstd.compress(), on: source), .local(Zstd.decompress())]
            case .lz4:
                stages += [.remote(LZ4.compress(), on: source), .local(LZ4.decompress())]
            }
            stages.append(.local(receiveCommand))
            return Graph(Pipeline(stages))
        }
    }

    static func quantity(_ size: ByteSize?, field: String) throws(InvalidValue) -> ByteQuantity? {
        guard let size else { return nil }
        return try ByteQuantity(size.text, field: field)
    }

    /// mbuffer's block size: 1 MiB, 10 to 15 % faster over loopback than 128 KiB and 32 KiB in every
    /// `scripts/bench` run (see docs/performance.md).
    static func mbufferBlockSize() throws(InvalidValue) -> ByteQuantity {
        try ByteQuantity("1M", field: "mbuffer block size")
    }
}
