/// What one host's zfs can do, so commands are built for the zfs that will run them.
///
/// ## Probe
/// Two cheap commands per host suffice (over ssh for the source, locally for the destination):
///
/// 1. `zfs version` → `ZFSVersionReport.parse(stdout:stderr:exitStatus:)`.
///    Its presence marks OpenZFS ≥ 0.8, which has every modern option zettabee uses; its usage
///    error marks an old zfs (zfs-fuse 0.7, pool version 23), which has none of them.
/// 2. On OpenZFS `zpool get -H -o value version,feature@large_blocks,feature@embedded_data,feature@encryption POOL`
///    (POOL = the pair's pool on that host) → `PoolProbe.parse`; on old zfs the table of
///    `zpool get version POOL` → `PoolVersion.parseTable`.
///
/// Only for bookmarks, and only when (1) found OpenZFS and (2) found feature flags, a third:
/// `zpool get -H -o value feature@bookmarks POOL` → `FeatureState.parse`.
///
/// OpenZFS 0.7, which has resumable receive but no `zfs version`, is treated as old: zettabee
/// then only loses resumability, never sends an option the host rejects.
public struct HostCapabilities: Hashable, Sendable {
    /// The OpenZFS release, nil for a zfs that predates `zfs version`.
    public var zfsVersion: ZFSVersion?
    public var poolVersion: PoolVersion
    /// `receive -s`, `send -t TOKEN`, `receive -A`, the `receive_resume_token` property.
    public var resumableReceive: Bool
    /// `receive -o PROP=VALUE` and `receive -x PROP`.
    public var receivePropertyOverrides: Bool
    /// `receive -u` (do not mount).
    public var receiveWithoutMounting: Bool
    /// `send -n -v -P`: size estimates and parsable progress.
    public var sendEstimates: Bool
    /// `zfs list -p`; without it creation times come in the human form.
    public var parsableList: Bool
    /// `zfs holds` (on zfs-fuse it fails; `userrefs` still counts holds).
    public var holdsListing: Bool
    /// `zfs bookmark`, and `send -i pool/fs#bookmark`.
    public var bookmarks: Bool
    /// `send -w` and native encryption (OpenZFS with the pool's `encryption` feature).
    public var rawStreams: Bool = false
    /// `send -c` (OpenZFS).
    public var compressedStreams: Bool = false
    /// Streams with large blocks (`send -L`) can be received here: the pool's `large_blocks` feature.
    public var largeBlocks: Bool = false
    /// Streams with embedded data (`send -e`) can be received here: the pool's `embedded_data` feature.
    public var embeddedData: Bool = false

    /// Whether the pool uses feature flags rather than a legacy version number.
    public var featureFlags: Bool { poolVersion == .featureFlags }

    /// Derives the capabilities from the probe's parsed answers (see the type's documentation).
    /// `bookmarksFeature` is nil when that query was not run.
    public static func derive(zfs: ZFSVersionReport, pool: PoolProbe, bookmarksFeature: FeatureState? = nil) -> HostCapabilities {
        var capabilities = derive(zfs: zfs, pool: pool.version, bookmarksFeature: bookmarksFeature)
        let modern = capabilities.zfsVersion != nil
        capabilities.rawStreams = modern && pool.usable("encryption")
        capabilities.compressedStreams = modern
        capabilities.largeBlocks = modern && pool.usable("large_blocks")
        capabilities.embeddedData = modern && pool.usable("embedded_data")
        return capabilities
    }

    public static func derive(
        zfs: ZFSVersionReport, pool: PoolVersion, bookmarksFeature: FeatureState? = nil
    ) -> HostCapabilities {
        let version: ZFSVersion?
        switch zfs {
        case .openZFS(let reported): version = reported
        case .predatesVersionCommand: version = nil
        }
        let modern = version != nil
        return HostCapabilities(
            zfsVersion: version,
            poolVersion: pool,
            resumableReceive: modern && pool == .featureFlags,
            receivePropertyOverrides: modern,
            receiveWithoutMounting: modern,
            sendEstimates: modern,
            parsableList: modern,
            holdsListing: modern,
            bookmarks: modern && pool == .featureFlags && bookmarksFeature?.isUsable == true
        )
    }
}
