import Foundation
import XCTest

/// The fake `zpool` against OpenZFS 2.2.7's: `get` (every property, every feature, feature states that
/// follow use), `list` (default columns, column-name aliases), `status`, the usage texts, and the
/// zfs-fuse (legacy) host left as it was.
final class FakeZpoolTests: FakeWorldTestCase {
    /// Left-justified in `width`, as printf's `%-*s`.
    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func values(_ query: String) -> [String] {
        h.sh(query).out.split(separator: "\n").map(String.init)
    }

    static let features: [(String, String)] = [
        ("async_destroy", "enabled"), ("empty_bpobj", "active"), ("lz4_compress", "active"),
        ("multi_vdev_crash_dump", "enabled"), ("spacemap_histogram", "active"), ("enabled_txg", "active"),
        ("hole_birth", "active"), ("extensible_dataset", "active"), ("embedded_data", "active"),
        ("bookmarks", "enabled"), ("filesystem_limits", "enabled"), ("large_blocks", "enabled"),
        ("large_dnode", "enabled"), ("sha512", "enabled"), ("skein", "enabled"), ("edonr", "enabled"),
        ("userobj_accounting", "active"), ("encryption", "enabled"), ("project_quota", "active"),
        ("device_removal", "enabled"), ("obsolete_counts", "enabled"), ("zpool_checkpoint", "enabled"),
        ("spacemap_v2", "active"), ("allocation_classes", "enabled"), ("resilver_defer", "enabled"),
        ("bookmark_v2", "enabled"), ("redaction_bookmarks", "enabled"), ("redacted_datasets", "enabled"),
        ("bookmark_written", "enabled"), ("log_spacemap", "active"), ("livelist", "enabled"),
        ("device_rebuild", "enabled"), ("zstd_compress", "enabled"), ("draid", "enabled"),
        ("zilsaxattr", "enabled"), ("head_errlog", "active"), ("blake3", "enabled"),
        ("block_cloning", "enabled"), ("vdev_zaps_v2", "active"),
    ]

    /// Rows of `zpool get all tank` after the standard setup (10G, 4M written).
    private func allRows(guid: String, loadGUID: String) -> [(String, String, String)] {
        [
            ("size", "10G", "-"), ("capacity", "0%", "-"), ("altroot", "-", "default"), ("health", "ONLINE", "-"),
            ("guid", guid, "-"), ("version", "-", "default"), ("bootfs", "-", "default"),
            ("delegation", "on", "default"), ("autoreplace", "off", "default"), ("cachefile", "-", "default"),
            ("failmode", "wait", "default"), ("listsnapshots", "off", "default"), ("autoexpand", "off", "default"),
            ("dedupratio", "1.00x", "-"), ("free", "10.0G", "-"), ("allocated", "4M", "-"), ("readonly", "off", "-"),
            ("ashift", "0", "default"), ("comment", "-", "default"), ("expandsize", "-", "-"), ("freeing", "0", "-"),
            ("fragmentation", "0%", "-"), ("leaked", "0", "-"), ("multihost", "off", "default"),
            ("checkpoint", "-", "-"), ("load_guid", loadGUID, "-"), ("autotrim", "off", "default"),
            ("compatibility", "off", "default"), ("bcloneused", "0", "-"), ("bclonesaved", "0", "-"),
            ("bcloneratio", "1.00x", "-"),
        ] + Self.features.map { ("feature@" + $0.0, $0.1, "local") }
    }

    // MARK: get

    /// `zpool get all`: every visible property in zpool_prop_t order, then every feature of 2.2 in
    /// spa_feature_t order; PROPERTY and VALUE are as wide as the longest feature name.
    func testGetAllPrintsEveryPropertyThenEveryFeature() {
        let ids = values("zpool get -H -o value guid,load_guid tank")
        XCTAssertEqual(ids.count, 2)
        XCTAssertNotNil(UInt64(ids[0]))
        XCTAssertNotNil(UInt64(ids[1]))
        XCTAssertEqual(values("zpool get -H -o value load_guid tank"), [ids[1]], "load_guid stays the same")
        let rows = allRows(guid: ids[0], loadGUID: ids[1])
        var r = h.sh("zpool get all tank")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.err, "")
        let expected = "NAME  \(pad("PROPERTY", 29))  \(pad("VALUE", 29))  SOURCE\n"
            + rows.map { "tank  \(pad($0.0, 29))  \(pad($0.1, 29))  \($0.2)\n" }.joined()
        XCTAssertEqual(r.out, expected)
        XCTAssertEqual(rows.count, 31 + 39)

        r = h.sh("zpool get -H -o name,property,value,source all tank")
        XCTAssertEqual(r.out, rows.map { "tank\t\($0.0)\t\($0.1)\t\($0.2)\n" }.joined())
        r = h.sh("zpool get -H -o all all tank")
        XCTAssertEqual(r.out, rows.map { "tank\t\($0.0)\t\($0.1)\t\($0.2)\n" }.joined())

        // Every pool, in name order.
        r = h.sh("zpool get -H -o name,property all")
        XCTAssertEqual(r.out.split(separator: "\n").count, 2 * 70)
        XCTAssertTrue(r.out.hasPrefix("backup\tsize\n"), r.out.prefix(40).description)
    }

    func testGetParsableAndColumnWidths() {
        var r = h.sh("zpool get -Hp -o property,value size,capacity,free,allocated,dedupratio,fragmentation,expandsize,checkpoint,bcloneratio,ashift tank")
        XCTAssertEqual(r.out, "size\t10737418240\ncapacity\t0\nfree\t10733223936\nallocated\t4194304\ndedupratio\t1.00\n"
            + "fragmentation\t0\nexpandsize\t-\ncheckpoint\t-\nbcloneratio\t1.00\nashift\t0\n")
        // Numbers have a fixed width (at least 5, or the column name's) unless -p widens them to the value.
        r = h.sh("zpool get version tank")
        XCTAssertEqual(r.out, "NAME  PROPERTY  VALUE    SOURCE\ntank  version   -        default\n")
        r = h.sh("zpool get -p size tank")
        XCTAssertEqual(r.out, "NAME  PROPERTY  VALUE        SOURCE\ntank  size      10737418240  -\n")
        // Column names in lower case stand for their properties; the rows name the property.
        r = h.sh("zpool get cap,frag tank")
        XCTAssertEqual(r.out, "NAME  PROPERTY       VALUE  SOURCE\ntank  capacity       0%     -\ntank  fragmentation  0%     -\n")
        r = h.sh("zpool get -o source,value,name version tank")
        XCTAssertEqual(r.out, "SOURCE  VALUE    NAME\ndefault  -        tank\n")
        // Pools print in name order whatever the arguments' order.
        r = h.sh("zpool get -H -o name,value version tank backup")
        XCTAssertEqual(r.out, "backup\t-\ntank\t-\n")
        r = h.sh("zpool get -H -o name,value,source user:prop tank")
        XCTAssertEqual(r.out, "tank\t-\tdefault\n")
    }

    func testGetErrors() {
        var r = h.sh("zpool get version nopool")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "Cannot get properties of nopool: no such pool available.\n")
        r = h.sh("zpool get version tank nopool")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("Expected a list of vdevs in \"tank\", but got:\n\tnopool (unknown)\n\nusage:\n\tget [-Hp]"), r.err)
        r = h.sh("zpool get -H -o value")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("missing property argument\nusage:\n\tget [-Hp] [-o \"all\" | field[,...]] <\"all\" | property[,...]> <pool> ...\n\nthe following properties are supported:\n\n\tPROPERTY             EDIT   VALUES\n\n\tallocated              NO   <size>\n"), r.err)
        XCTAssertTrue(r.err.hasSuffix("\tversion               YES   <version>\n\tfeature@...           YES   disabled | enabled | active\n\nThe feature@ properties must be appended with a feature name.\nSee zpool-features(7).\n"), r.err)
        XCTAssertTrue(r.err.contains("\tdelegation            YES   on | off\n\tfailmode              YES   wait | continue | panic\n"), r.err)
        r = h.sh("zpool get -o value,bogus version tank")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("invalid column name 'bogus'\nusage:\n"), r.err)
        r = h.sh("zpool get -o value,all version tank")
        XCTAssertTrue(r.err.hasPrefix("\"all\" conflicts with specific fields given to -o option\nusage:\n"), r.err)
        r = h.sh("zpool get version,bogus tank")
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(r.out, "")
        XCTAssertTrue(r.err.hasPrefix("bad property list: invalid property 'bogus'\nusage:\n"), r.err)
        r = h.sh("zpool get -x version tank")
        XCTAssertTrue(r.err.hasPrefix("invalid option 'x'\nusage:\n"), r.err)
    }

    // MARK: pools without feature flags

    /// zettabee's probe on a version-28 pool: the version, then `disabled` for each feature (a feature
    /// zpool knows but the pool lacks). A feature zpool does not know prints nothing, exit 0
    /// (zpool_prop_get_feature fails with ENOTSUP and get_callback skips the row).
    func testPoolWithoutFeatureFlagsReportsFeaturesDisabled() {
        h.ok("zfake-ctl create-pool old --version 28")
        var r = h.sh("zpool get -H -o value version,feature@large_blocks,feature@embedded_data,feature@encryption old")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "28\ndisabled\ndisabled\ndisabled\n")
        r = h.sh("zpool get -H version,feature@bookmarks old")
        XCTAssertEqual(r.out, "old\tversion\t28\tlocal\nold\tfeature@bookmarks\tdisabled\tlocal\n", "a version other than 5000 is set locally")
        r = h.sh("zpool get -H -o value version,feature@no_such_feature,health old")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "28\nONLINE\n")
        XCTAssertEqual(r.err, "")
        r = h.sh("zpool get -H -o property,value all old")
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 70)
        XCTAssertEqual(lines.filter { $0.hasPrefix("feature@") && $0.hasSuffix("\tdisabled") }.count, 39)
        XCTAssertTrue(lines.contains("fragmentation\t-"), "no spacemap histograms, no fragmentation figure")
        // A feature-flag pool: the version reads `-`.
        XCTAssertEqual(h.sh("zpool get -H -o value version,feature@large_blocks tank").out, "-\nenabled\n")
    }

    // MARK: feature states

    func testFeatureStatesFollowUse() {
        let query = "zpool get -H -o value feature@bookmarks,feature@bookmark_v2,feature@bookmark_written,"
            + "feature@large_blocks,feature@filesystem_limits,feature@encryption,feature@extensible_dataset tank"
        XCTAssertEqual(values(query), ["enabled", "enabled", "enabled", "enabled", "enabled", "enabled", "active"])
        h.ok("zfs bookmark tank/src@a tank/src#a")
        XCTAssertEqual(values(query), ["active", "active", "active", "enabled", "enabled", "enabled", "active"])
        h.ok("zfs destroy tank/src#a")
        XCTAssertEqual(values(query), ["enabled", "enabled", "enabled", "enabled", "enabled", "enabled", "active"])
        h.ok("zfs set recordsize=1M tank/src")
        XCTAssertEqual(values(query)[3], "active", "recordsize above 128K")
        h.ok("zfs set recordsize=128K tank/src")
        XCTAssertEqual(values(query)[3], "enabled")
        h.ok("zfs set snapshot_limit=10 tank/src")
        XCTAssertEqual(values(query)[4], "active")
        h.ok("zfake-ctl create tank/secret --passphrase hunter22")
        XCTAssertEqual(values(query)[5], "active")
        XCTAssertEqual(h.sh("zpool get -H -o value feature@encryption,feature@bookmarks backup").out, "enabled\nenabled\n",
                       "other pools are not touched")
    }

    // MARK: list

    func testListDefaultColumnsAndAliases() {
        var r = h.sh("zpool list")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, """
            NAME     SIZE  ALLOC   FREE  CKPOINT  EXPANDSZ   FRAG    CAP  DEDUP    HEALTH  ALTROOT
            backup    10G      0    10G        -         -     0%     0%  1.00x    ONLINE  -
            tank      10G     4M  10.0G        -         -     0%     0%  1.00x    ONLINE  -

            """)
        // sanoid --monitor-capacity's query.
        r = h.sh("zpool list -o name,size,cap,health,free,frag tank")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "NAME   SIZE    CAP    HEALTH   FREE   FRAG\ntank    10G     0%    ONLINE  10.0G     0%\n")
        r = h.sh("zpool list -H -p -o name,size,allocated,free,cap,frag,dedup tank")
        XCTAssertEqual(r.out, "tank\t10737418240\t4194304\t10733223936\t0\t0\t1.00\n")
        r = h.sh("zpool list -o name,feature@encryption,version,guid tank")
        let guid = values("zpool get -H -o value guid tank")[0]
        XCTAssertEqual(r.out, "NAME  FEATURE@ENCRYPTION  VERSION  \(String(repeating: " ", count: max(5, guid.count) - 4))GUID\n"
            + "tank  enabled                   -  \(guid)\n")
        r = h.sh("zpool list -H -o name,health")
        XCTAssertEqual(r.out, "backup\tONLINE\ntank\tONLINE\n")
    }

    func testListErrorsAndNoPools() {
        var r = h.sh("zpool list nopool")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "cannot open 'nopool': no such pool\n")
        r = h.sh("zpool list -H -o name tank nopool")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.out, "tank\n")
        r = h.sh("zpool list -o name,bogus tank")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("bad property list: invalid property 'bogus'\nusage:\n\tlist [-gHLpPv] [-o property[,...]] [-T d|u] [pool] ... \n\t    [interval [count]]\n\nthe following properties are supported:\n"), r.err)
        r = h.sh("zpool list", env: ["ZFAKE_HOST": "empty"])
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "no pools available\n")
        r = h.sh("zpool list -H", env: ["ZFAKE_HOST": "empty"])
        XCTAssertEqual(r.out, "")
    }

    // MARK: status

    func testStatusOfHealthyPools() {
        let tank = """
              pool: tank
             state: ONLINE
            config:

            \tNAME                 STATE     READ WRITE CKSUM
            \ttank                 ONLINE       0     0     0
            \t  /var/tmp/tank.img  ONLINE       0     0     0

            errors: No known data errors

            """
        var r = h.sh("zpool status tank")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, tank)
        r = h.sh("zpool status")
        XCTAssertEqual(r.out, """
              pool: backup
             state: ONLINE
            config:

            \tNAME                   STATE     READ WRITE CKSUM
            \tbackup                 ONLINE       0     0     0
            \t  /var/tmp/backup.img  ONLINE       0     0     0

            errors: No known data errors


            """ + tank)
        r = h.sh("zpool status -x")
        XCTAssertEqual(r.out, "all pools are healthy\n")
        r = h.sh("zpool status -x tank backup")
        XCTAssertEqual(r.out, "pool 'backup' is healthy\npool 'tank' is healthy\n")
        r = h.sh("zpool status nopool")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'nopool': no such pool\n")
        r = h.sh("zpool status", env: ["ZFAKE_HOST": "empty"])
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "no pools available\n")
    }

    func testStatusOfAVdevAndALegacyFormatPool() {
        h.ok("zfake-ctl create-pool a --vdev /dev/sdb && zfake-ctl create-pool old --version 28 --vdev /srv/old-pool-file")
        var r = h.sh("zpool status a")
        XCTAssertTrue(r.out.contains("\tNAME        STATE     READ WRITE CKSUM\n\ta           ONLINE       0     0     0\n\t  sdb       ONLINE       0     0     0\n"), r.out)
        r = h.sh("zpool status -P a")
        XCTAssertTrue(r.out.contains("\n\t  /dev/sdb  ONLINE       0     0     0\n"), r.out)
        r = h.sh("zpool status old")
        XCTAssertEqual(r.out, """
              pool: old
             state: ONLINE
            status: The pool is formatted using a legacy on-disk format.  The pool can
            \tstill be used, but some features are unavailable.
            action: Upgrade the pool using 'zpool upgrade'.  Once this is done, the
            \tpool will no longer be accessible on software that does not support
            \tfeature flags.
            config:

            \tNAME                  STATE     READ WRITE CKSUM
            \told                   ONLINE       0     0     0
            \t  /srv/old-pool-file  ONLINE       0     0     0

            errors: No known data errors

            """)
        XCTAssertEqual(h.sh("zpool status -x").out, "all pools are healthy\n", "-x does not report a legacy format")
    }

    // MARK: usage and commands

    static let fullUsage = """
        usage: zpool command args ...
        where 'command' is one of the following:

        \tversion

        \tcreate [-fnd] [-o property=value] ... 
        \t    [-O file-system-property=value] ... 
        \t    [-m mountpoint] [-R root] <pool> <vdev> ...
        \tdestroy [-f] <pool>

        \tadd [-afgLnP] [-o property=value] <pool> <vdev> ...
        \tremove [-npsw] <pool> <device> ...

        \tlabelclear [-f] <vdev>

        \tcheckpoint [-d [-w]] <pool> ...

        \tlist [-gHLpPv] [-o property[,...]] [-T d|u] [pool] ... 
        \t    [interval [count]]
        \tiostat [[[-c [script1,script2,...][-lq]]|[-rw]] [-T d | u] [-ghHLpPvy]
        \t    [[pool ...]|[pool vdev ...]|[vdev ...]] [[-n] interval [count]]
        \tstatus [--power] [-c [script1,script2,...]] [-DegiLpPstvx] [-T d|u] [pool] ...
        \t    [interval [count]]

        \tonline [--power][-e] <pool> <device> ...
        \toffline [--power]|[[-f][-t]] <pool> <device> ...
        \tclear [[--power]|[-nF]] <pool> [device]
        \treopen [-n] <pool>

        \tattach [-fsw] [-o property=value] <pool> <device> <new-device>
        \tdetach <pool> <device>
        \treplace [-fsw] [-o property=value] <pool> <device> [new-device]
        \tsplit [-gLnPl] [-R altroot] [-o mntopts]
        \t    [-o property=value] <pool> <newpool> [<device> ...]

        \tinitialize [-c | -s | -u] [-w] <pool> [<device> ...]
        \tresilver <pool> ...
        \tscrub [-s | -p] [-w] [-e] <pool> ...
        \ttrim [-dw] [-r <rate>] [-c | -s] <pool> [<device> ...]

        \timport [-d dir] [-D]
        \timport [-o mntopts] [-o property=value] ... 
        \t    [-d dir | -c cachefile] [-D] [-l] [-f] [-m] [-N] [-R root] [-F [-n]] -a
        \timport [-o mntopts] [-o property=value] ... 
        \t    [-d dir | -c cachefile] [-D] [-l] [-f] [-m] [-N] [-R root] [-F [-n]]
        \t    [--rewind-to-checkpoint] <pool | id> [newpool]
        \texport [-af] <pool> ...
        \tupgrade
        \tupgrade -v
        \tupgrade [-V version] <-a | pool ...>
        \treguid <pool>

        \thistory [-il] [<pool>] ...
        \tevents [-vHf [pool] | -c]

        \tget [-Hp] [-o "all" | field[,...]] <"all" | property[,...]> <pool> ...
        \tset <property=value> <pool>
        \tset <vdev_property=value> <pool> <vdev>
        \tsync [pool] ...

        \twait [-Hp] [-T d|u] [-t <activity>[,...]] <pool> [interval]

        For further help on a command or topic, run: zpool help [<topic>]

        """

    func testUsageListsEveryCommand() {
        for command in ["zpool --help", "zpool -?"] {
            let r = h.sh(command)
            XCTAssertEqual(r.code, 0, command)
            XCTAssertEqual(r.out, Self.fullUsage, command)
            XCTAssertEqual(r.err, "", command)
        }
        var r = h.sh("zpool")
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(r.out, "")
        XCTAssertEqual(r.err, "missing command\n" + Self.fullUsage)
        r = h.sh("zpool frobnicate")
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(r.err, "unrecognized command 'frobnicate'\n" + Self.fullUsage)
        r = h.sh("zpool create tank2 /var/tmp/tank2.img")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "zfake: 'zpool create' is not simulated\n")
        r = h.sh("zpool help")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "zfake: 'zpool help' is not simulated\n", "zpool help opens a manual page")
        r = h.sh("zpool version")
        XCTAssertEqual(r.out, "zfs-2.2.7-1\nzfs-kmod-2.2.7-1\n")
        XCTAssertEqual(h.sh("zpool version -x").out, "zfs-2.2.7-1\nzfs-kmod-2.2.7-1\n", "arguments are ignored")
        XCTAssertEqual(h.sh("zpool -V").out, "zfs-2.2.7-1\nzfs-kmod-2.2.7-1\n")
        XCTAssertEqual(h.sh("zpool sync tank").code, 0)
        r = h.sh("zpool sync nopool")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'nopool': no such pool\n")
    }

    // MARK: legacy

    /// A zfs-fuse host keeps zfs-fuse's zpool: eight rows for `get all`, no features, no status.
    func testLegacyHostKeepsZfsFuseOutput() {
        h.ok("zfake-ctl legacy on")
        var r = h.sh("zpool get all tank")
        XCTAssertEqual(r.code, 0)
        let rows = r.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(rows.map { $0[1] }, ["PROPERTY", "size", "capacity", "altroot", "health", "guid", "version", "free", "allocated"])
        XCTAssertEqual(rows[6], ["tank", "version", "23", "default"])
        r = h.sh("zpool get feature@async_destroy tank")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("bad property list: invalid property 'feature@async_destroy'\nusage:\n\tget <\"all\" | property[,...]> <pool> ...\n"), r.err)
        r = h.sh("zpool status")
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(r.err, "unrecognized command 'status'\nusage: zpool command args ...\n")
        r = h.sh("zpool list tank")
        XCTAssertTrue(r.out.hasPrefix("NAME  SIZE  ALLOC   FREE  CAP  DEDUP  HEALTH  ALTROOT\n"), r.out)
    }
}
