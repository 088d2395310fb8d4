/// How a pair's stream is sent and received: raw or not, blocks as stored or not, and what the
/// receive does with the source's mountpoints. Decided once per run from the pair's options, both
/// hosts' capabilities and the source tree. Pure.
///
/// - Raw (`send -w`): the destination stores the source's ciphertext and never needs its key. With
///   `raw=auto` exactly when some dataset of the source tree is encrypted.
/// - Blocks as stored (`send -L -c -e`, `compressed=yes`): where both sides run OpenZFS; `-L` and `-e`
///   only where the destination's pool has the `large_blocks` and `embedded_data` features. `-w`
///   implies all three.
/// - Mountpoints (`mountpoints=destination`): a recursive stream (`-R`) carries the source's local
///   mountpoints. On OpenZFS the receive excludes them (`-x mountpoint`): the destination tree
///   inherits from the destination's parent, the source's values are only kept as received values.
///   Old zfs has no `-x`; see `MountpointGuard`.
public struct StreamFormat: Hashable, Sendable {
    public var raw = false
    public var largeBlocks = false
    public var compressed = false
    public var embedded = false
    /// `receive -x mountpoint`.
    public var excludesMountpoint = false
    /// Old zfs, recursive pair: the receive cannot exclude the source's mountpoints (no `-x`), so
    /// `MountpointGuard` keeps them off the destination.
    public var guardsMountpoints = false

    public init() {}

    /// The properties that tell whether a dataset is encrypted and whether its key is loaded (OpenZFS).
    public static let encryptionProperties = ["encryption", "keystatus", "encryptionroot"]

    /// The `zfs send` flags in the form the log and README describe them.
    public var sendFlags: [String] {
        (raw ? ["-w"] : []) + (largeBlocks ? ["-L"] : []) + (compressed ? ["-c"] : []) + (embedded ? ["-e"] : [])
    }

    /// Decides the format, or says in one line why the pair cannot be sent as configured. Nothing has
    /// changed on either host when this refuses.
    public static func decide(
        options: PairOptions, source: DatasetState, recursive: Bool,
        sourceCapabilities: HostCapabilities, destinationCapabilities: HostCapabilities
    ) -> Result<StreamFormat, StreamFormatRefusal> {
        var format = StreamFormat()
        let encrypted = source.tree.filter(\.isEncrypted)
        let bothModern = sourceCapabilities.zfsVersion != nil && destinationCapabilities.zfsVersion != nil
        switch options.raw {
        case .auto: format.raw = !encrypted.isEmpty
        case .yes: format.raw = true
        case .no: format.raw = false
        }
        if format.raw {
            guard bothModern, sourceCapabilities.compressedStreams else {
                guard options.raw == .auto, let first = encrypted.first else {
                    return .failure(StreamFormatRefusal("raw=yes needs OpenZFS on both hosts (zfs send -w); set raw=no or raw=auto"))
                }
                let decrypted = recursive
                    ? "a tree with an encrypted dataset cannot be sent decrypted either"
                    : "raw=no sends it decrypted, where its key is loaded on the source"
                return .failure(StreamFormatRefusal(
                    "\(first.dataset) is encrypted, so raw=auto sends it raw (zfs send -w), which needs OpenZFS on both hosts; "
                        + decrypted))
            }
            if !encrypted.isEmpty, !destinationCapabilities.rawStreams {
                return .failure(StreamFormatRefusal(
                    "\(encrypted[0].dataset) is encrypted and is sent raw, but the destination's pool cannot receive "
                        + "encrypted streams (its encryption feature is not enabled)"))
            }
        } else if let first = encrypted.first {
            if recursive {
                return .failure(StreamFormatRefusal(
                    "raw=no, but \(first.dataset) is encrypted: OpenZFS refuses it (encrypted dataset \(first.dataset) "
                        + "may not be sent with properties without the raw flag); use raw=auto"))
            }
            if let locked = encrypted.first(where: { $0.value("keystatus") != "available" }) {
                return .failure(StreamFormatRefusal(
                    "raw=no, but the key of \(locked.dataset) is not loaded on the source: OpenZFS refuses it "
                        + "(dataset key must be loaded); load the key or use raw=auto"))
            }
        }
        if !format.raw, options.sendsStoredBlocks, bothModern, sourceCapabilities.compressedStreams,
           destinationCapabilities.compressedStreams {
            format.compressed = true
            format.largeBlocks = destinationCapabilities.largeBlocks
            format.embedded = destinationCapabilities.embeddedData && encrypted.isEmpty
        }
        if options.mountpoints == .destination, recursive {
            if destinationCapabilities.receivePropertyOverrides {
                format.excludesMountpoint = true
            } else {
                format.guardsMountpoints = true
            }
        }
        return .success(format)
    }

    /// Why the destination cannot take this run's stream although both trees hold the base: the source
    /// was encrypted after it was first replicated in the clear, or the reverse; or the copy was received
    /// raw and `raw=no` would now send it decrypted. Needs
    /// `encryptionProperties` read on both sides (OpenZFS); nil when they were not read.
    public func encryptionMismatch(source: DatasetState, destination: DatasetState) -> String? {
        guard source.value("encryption") != nil, destination.value("encryption") != nil else { return nil }
        let sourceEncrypted = source.isEncrypted
        if raw, sourceEncrypted, !destination.isEncrypted {
            return "\(source.dataset) is encrypted but its copy \(destination.dataset) is not (it was replicated "
                + "unencrypted); a raw stream cannot go on top of it: re-initialize the pair, or set raw=no"
        }
        let ownRoot = destination.value("encryptionroot").map {
            $0 == destination.dataset.rawValue || $0.hasPrefix(destination.dataset.rawValue + "/")
        } ?? false
        if !sourceEncrypted, destination.isEncrypted, ownRoot {
            return "\(destination.dataset) is encrypted (it was received raw) but \(source.dataset) is not any more; "
                + "re-initialize the pair"
        }
        if !raw, sourceEncrypted, destination.isEncrypted, ownRoot {
            return "\(destination.dataset) was received raw (encrypted) but raw=no would send \(source.dataset) decrypted; "
                + "a plain stream cannot go on top of it: set raw=auto, or re-initialize the pair"
        }
        return nil
    }
}

/// Why a pair's stream cannot be sent as its options say.
public struct StreamFormatRefusal: Error, Hashable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

extension DatasetState {
    /// `encryption` is set and not `off` (only read on OpenZFS).
    public var isEncrypted: Bool {
        guard let value = value("encryption") else { return false }
        return value != "off" && value != "-"
    }
}
