/// How a pair's stream travels from source to destination.
public enum Transport: Hashable, Sendable {
    /// `zfs send | mbuffer` on the source, over TCP, into `mbuffer | zfs receive` here.
    case mbuffer(MbufferOptions)
    /// `zfs send` on the source, streamed back through the ssh control connection.
    case ssh(compression: Compression)

    public var name: String {
        switch self {
        case .mbuffer: "mbuffer"
        case .ssh: "ssh"
        }
    }
}

/// The mbuffer transport's settings.
public struct MbufferOptions: Hashable, Sendable {
    /// The TCP port mbuffer listens on at the destination.
    public var port: TCPPort
    /// mbuffer's rate limit (`-r`), none by default.
    public var rateLimit: ByteSize?
    /// mbuffer's memory (`-m`), mbuffer's default when nil.
    public var bufferSize: ByteSize?
    /// `listen=`: where the listener binds. nil: the destination host's address, unless that name
    /// resolves to loopback only (then every interface).
    public var listen: ListenAddress?

    public init(port: TCPPort, rateLimit: ByteSize? = nil, bufferSize: ByteSize? = nil, listen: ListenAddress? = nil) {
        self.port = port
        self.rateLimit = rateLimit
        self.bufferSize = bufferSize
        self.listen = listen
    }
}

/// Where the mbuffer listener binds.
public enum ListenAddress: Hashable, Sendable {
    /// Every interface (`mbuffer -I PORT`), as the original Zettabee listens: `listen=*`.
    case anyInterface
    /// One host name or address (`mbuffer -I HOST:PORT`).
    case host(HostName)
}

/// Stream compression on the ssh transport.
public enum Compression: String, Hashable, Sendable, CaseIterable {
    case none, zstd, lz4
}

/// How zettabee reaches the source host over ssh.
public struct SSHOptions: Hashable, Sendable {
    /// The remote login, `root` by default as in the original.
    public var user: String
    /// ssh's `-p`; ssh's own default (or the ssh config) when nil.
    public var port: TCPPort?
    /// ssh's `-i`, an absolute path.
    public var keyPath: String?

    public init(user: String = "root", port: TCPPort? = nil, keyPath: String? = nil) {
        self.user = user
        self.port = port
        self.keyPath = keyPath
    }
}

/// Lag and run-time alert thresholds; nil means no check.
public struct Thresholds: Hashable, Sendable {
    public var warningLag: TimeSpan?
    public var criticalLag: TimeSpan?
    public var warningRun: TimeSpan?
    public var criticalRun: TimeSpan?

    public init(warningLag: TimeSpan? = nil, criticalLag: TimeSpan? = nil,
                warningRun: TimeSpan? = nil, criticalRun: TimeSpan? = nil) {
        self.warningLag = warningLag
        self.criticalLag = criticalLag
        self.warningRun = warningRun
        self.criticalRun = criticalRun
    }
}

/// Everything the options field of a configuration line sets.
public struct PairOptions: Hashable, Sendable {
    public var transport: Transport
    public var ssh: SSHOptions
    public var thresholds: Thresholds
    /// How many of the pair's snapshots to keep on the destination.
    public var keep: Int
    /// Whether `update` may roll the destination back (`zfs receive -F`) when it was modified.
    public var rollback: Bool
    /// A transfer in which nothing moved for this long is torn down (`stall=`).
    public var stallTimeout: TimeSpan = PairOptions.defaultStallTimeout
    /// `raw=`: when the stream is sent raw (`zfs send -w`), encrypted blocks as they are stored.
    public var raw: RawSending = .auto
    /// `compressed=`: send blocks as they are stored (`zfs send -L -c -e`) where both sides can.
    public var sendsStoredBlocks = true
    /// `mountpoints=`: the destination tree's mountpoints come from the destination (the default) or, for
    /// a mirror, from the source.
    public var mountpoints: MountpointOrigin = .destination
    /// `exactsize=`: over plain ssh, a `cat` between ssh and `zfs receive` counts the stream exactly
    /// (the default); `no` leaves it out, for hosts whose CPUs the copy would slow down, and the size is
    /// then `zfs receive`'s read count, about the stream's.
    public var countsStreamExactly = true

    public static let defaultStallTimeout = TimeSpan(seconds: 600)

    public static let defaultKeep = 10

    public init(transport: Transport = .ssh(compression: .none), ssh: SSHOptions = SSHOptions(),
                thresholds: Thresholds = Thresholds(), keep: Int = PairOptions.defaultKeep, rollback: Bool = false) {
        self.transport = transport
        self.ssh = ssh
        self.thresholds = thresholds
        self.keep = keep
        self.rollback = rollback
    }
}

/// When zettabee sends raw (`zfs send -w`): the destination stores ciphertext and never needs the key.
public enum RawSending: String, Hashable, Sendable, CaseIterable {
    /// Raw exactly when some dataset of the source tree is encrypted.
    case auto
    /// Always raw (for an unencrypted source this is `-L -c -e`).
    case yes
    /// Never raw: the source's key must be loaded, and the destination stores plaintext.
    case no
}

/// Where the received datasets' mountpoints come from.
public enum MountpointOrigin: String, Hashable, Sendable, CaseIterable {
    /// The destination tree inherits its mountpoints from the destination's parent; nothing is ever
    /// mounted at a path the source set.
    case destination
    /// The source's mountpoints are kept (a mirror that mounts where the source does).
    case source
}
