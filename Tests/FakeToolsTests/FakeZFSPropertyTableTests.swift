import Foundation
import XCTest

/// `zfs get all` against OpenZFS 2.2's own property table, transcribed here as data from
/// include/sys/fs/zfs.h (zfs_prop_t: the order `get all` walks, zprop_iter unsorted) and
/// module/zcommon/zfs_prop.c (which types each visible property applies to). Every row the fake prints
/// must be a row of that table, in its order; the rows it leaves out are listed, so each one added
/// later moves from `leftOut` to the fake's output.
final class FakeZFSPropertyTableTests: FakeWorldTestCase {
    /// Visible properties in zfs_prop_t order with the dataset types they apply to
    /// (F filesystem, V volume, S snapshot, B bookmark). Hidden ones (name, iscsioptions, numclones,
    /// useraccounting, stmf_sbd_lu, unique, inconsistent, prevsnap, pbkdf2salt, keyguid, remaptxg,
    /// ivsetguid, redacted) are left out, as is FreeBSD's `jailed`.
    static let openZFS22: [(String, String)] = [
        ("type", "FVSB"), ("creation", "FVSB"), ("used", "FVS"), ("available", "FV"), ("referenced", "FVSB"),
        ("compressratio", "FVSB"), ("mounted", "F"), ("origin", "FV"), ("quota", "F"), ("reservation", "FV"),
        ("volsize", "VS"), ("volblocksize", "V"), ("recordsize", "F"), ("mountpoint", "F"), ("sharenfs", "F"),
        ("checksum", "FV"), ("compression", "FV"), ("atime", "F"), ("devices", "FS"), ("exec", "FS"),
        ("setuid", "FS"), ("readonly", "FV"), ("zoned", "F"), ("snapdir", "F"), ("aclmode", "F"),
        ("aclinherit", "F"), ("createtxg", "FVSB"), ("canmount", "F"), ("xattr", "FS"), ("copies", "FV"),
        ("version", "FS"), ("utf8only", "FS"), ("normalization", "FS"), ("casesensitivity", "FS"),
        ("vscan", "F"), ("nbmand", "FS"), ("sharesmb", "F"), ("refquota", "F"), ("refreservation", "FV"),
        ("guid", "FVSB"), ("primarycache", "FVS"), ("secondarycache", "FVS"), ("usedbysnapshots", "FV"),
        ("usedbydataset", "FV"), ("usedbychildren", "FV"), ("usedbyrefreservation", "FV"),
        ("defer_destroy", "S"), ("userrefs", "S"), ("logbias", "FV"), ("objsetid", "FVS"), ("dedup", "FV"),
        ("mlslabel", "FVS"), ("sync", "FV"), ("dnodesize", "F"), ("refcompressratio", "FVS"), ("written", "FVS"),
        ("clones", "S"), ("logicalused", "FV"), ("logicalreferenced", "FVSB"), ("volmode", "FV"),
        ("filesystem_limit", "F"), ("snapshot_limit", "FV"), ("filesystem_count", "F"), ("snapshot_count", "FV"),
        ("snapdev", "FV"), ("acltype", "FS"), ("context", "FVS"), ("fscontext", "FVS"), ("defcontext", "FVS"),
        ("rootcontext", "FVS"), ("relatime", "F"), ("redundant_metadata", "FV"), ("overlay", "F"),
        ("receive_resume_token", "FV"), ("encryption", "FVS"), ("keylocation", "FV"), ("keyformat", "FV"),
        ("pbkdf2iters", "FV"), ("encryptionroot", "FVS"), ("keystatus", "FVS"), ("special_small_blocks", "F"),
        ("redact_snaps", "FVSB"), ("snapshots_changed", "FV"), ("prefetch", "FVS"),
    ]

    /// Rows the fake does not print (none: volumes are modelled too).
    static let leftOut: Set<String> = []

    /// Rows libzfs prints in `get all` only where they have a value: `origin` of a clone, a cut receive's
    /// token, a redacted dataset's snapshots, the time snapshots last changed.
    static let onlyWhenSet: Set<String> = ["origin", "receive_resume_token", "redact_snaps", "snapshots_changed"]

    func properties(_ script: String) -> [String] {
        let r = h.sh(script)
        XCTAssertEqual(r.code, 0, r.err)
        return r.out.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }

    func expected(for type: Character, skipping skipped: Set<String>) -> [String] {
        Self.openZFS22.filter { $0.1.contains(type) && !Self.leftOut.contains($0.0) && !skipped.contains($0.0) }.map(\.0)
    }

    func testFilesystemRowsFollowOpenZFSTable() {
        let rows = properties("zfs get -H -o property all tank/src")
        // Not a clone, no cut receive, nothing redacted; not encrypted: no encryptionroot, keystatus.
        XCTAssertEqual(rows, expected(for: "F", skipping: Self.onlyWhenSet.subtracting(["snapshots_changed"]).union(["encryptionroot", "keystatus"])))
    }

    func testEncryptedFilesystemRows() {
        h.ok("zfake-ctl create tank/secret --passphrase 'correct horse'")
        XCTAssertEqual(properties("zfs get -H -o property all tank/secret"), expected(for: "F", skipping: Self.onlyWhenSet))
    }

    func testSnapshotRowsFollowOpenZFSTable() {
        XCTAssertEqual(properties("zfs get -H -o property all tank/src@a"),
                       expected(for: "S", skipping: ["encryptionroot", "keystatus", "redact_snaps", "clones", "volsize"]),
                       "a filesystem's snapshot: no volsize (a volume's snapshots have it)")
        let clones = h.sh("zfs get -H -o property,value,source clones tank/src@a")
        XCTAssertEqual(clones.out, "clones\t-\t-\n", "no clones: - (and no row in get all)")
    }

    func testEveryFakeRowIsInTheTable() {
        let known = Set(Self.openZFS22.map(\.0))
        for row in properties("zfs get -H -o property all tank/src tank/src@a") {
            XCTAssertTrue(known.contains(row) || row.contains(":"), "\(row) is not an OpenZFS 2.2 property")
        }
        let origin = h.sh("zfs get -H -o property,value,source origin tank/src")
        XCTAssertEqual(origin.out, "origin\t-\t-\n")
        XCTAssertEqual(h.sh("zfs list -H -o name,origin tank/src").out, "tank/src\t-\n")
    }

    func testWrittenSinceSnapshotAndBookmark() {
        // @a holds 3 MiB, @b 1 MiB more; then 2 MiB more on the filesystem.
        h.ok("zfake-ctl write tank/src 2M && zfs bookmark tank/src@a tank/src#mark")
        var r = h.sh("zfs get -Hp -o property,value,source written@a,written#mark,written@b,written@tank/src@a tank/src")
        XCTAssertEqual(r.out, """
            written@a\t3145728\tlocal
            written#mark\t3145728\tlocal
            written@b\t2097152\tlocal
            written@tank/src@a\t3145728\tlocal

            """, r.err)
        r = h.sh("zfs get -H -o value written@a tank/src@b")
        XCTAssertEqual(r.out, "1M\n")
        r = h.sh("zfs get -H -o value,source written@nosuch,written@b tank/src@a")
        XCTAssertEqual(r.out, "-\t-\n-\t-\n", "unknown, or not earlier")
        r = h.sh("zfs list -o name,written@a,com.example:tag tank/src")
        XCTAssertEqual(r.out, "NAME      WRITTEN@A  COM.EXAMPLE:TAG\ntank/src         3M  -\n")
    }

    func testTypeAloneWithAFilesystemListsItsSnapshotsOrBookmarks() {
        h.ok("zfs bookmark tank/src@a tank/src#mark && zfs create tank/src/child && zfs snapshot tank/src/child@c")
        XCTAssertEqual(h.sh("zfs list -H -o name -t snapshot tank/src").out, "tank/src@a\ntank/src@b\n")
        XCTAssertEqual(h.sh("zfs list -H -o name -t bookmark tank/src").out, "tank/src#mark\n")
        XCTAssertEqual(h.sh("zfs list -H -o name -t snapshot,bookmark tank/src").out, "", "a mix lists the operand, of neither type")
        XCTAssertEqual(h.sh("zfs list -H -o name -t snapshot -r tank/src").out, "tank/src@a\ntank/src@b\ntank/src/child@c\n")
        XCTAssertEqual(h.sh("zfs get -H -o name,value -t snapshot guid tank/src").out.split(separator: "\n").map { String($0.split(separator: "\t")[0]) },
                       ["tank/src@a", "tank/src@b"])
        XCTAssertEqual(h.sh("zfs get -H -o name -t bookmark guid tank/src").out, "tank/src#mark\n")
    }

    func testVolumeAndItsSnapshotRowsFollowOpenZFSTable() {
        h.ok("zfs create -V 1G tank/vol && zfake-ctl write tank/vol 5M && zfs snapshot tank/vol@s")
        XCTAssertEqual(properties("zfs get -H -o property all tank/vol"),
                       expected(for: "V", skipping: Self.onlyWhenSet.subtracting(["snapshots_changed"]).union(["encryptionroot", "keystatus"])))
        // A snapshot of a volume: the snapshot rows but those of filesystems' snapshots only.
        let rows = Self.openZFS22.filter { $0.1.contains("S") && ($0.1.contains("V") || $0.1 == "S") }.map(\.0)
            .filter { !["encryptionroot", "keystatus", "redact_snaps", "clones"].contains($0) }
        XCTAssertEqual(properties("zfs get -H -o property all tank/vol@s"), rows)
        XCTAssertEqual(h.sh("zfs get -Hp -o property,value,source type,volsize,volblocksize,refreservation,usedbyrefreservation,mountpoint tank/vol").out, """
            type\tvolume\t-
            volsize\t1073741824\tlocal
            volblocksize\t16384\tdefault
            refreservation\t1073741824\tlocal
            usedbyrefreservation\t1068498944\t-
            mountpoint\t-\t-

            """)
    }

    func testVolumesAreMadeListedSentAndRefusedWhereFilesystemsGo() {
        h.ok("zfs create -s -b 8K -V 100M tank/sparse && zfs snapshot tank/sparse@s")
        XCTAssertEqual(h.sh("zfs list -H -o name,volsize,refreservation,mountpoint -t volume").out, "tank/sparse\t100M\tnone\t-\n")
        XCTAssertEqual(h.sh("zfs list -H -o name -r tank").out, "tank\ntank/sparse\ntank/src\n", "filesystems and volumes by default")
        h.ok("zfs send tank/sparse@s | zfs receive backup/copy")
        XCTAssertEqual(h.sh("zfs get -H -o value type,volsize,volblocksize backup/copy").out, "volume\n100M\n8K\n")
        XCTAssertEqual(h.sh("zfs mount").out.contains("copy"), false, "a volume is never mounted")
        h.ok("zfs set volsize=200M tank/sparse")
        XCTAssertEqual(h.sh("zfs get -H -o value volsize tank/sparse").out, "200M\n")
        let cases: [(String, String, Int32)] = [
            ("zfs create tank/sparse/x", "cannot create 'tank/sparse/x': parent is not a filesystem\n", 1),
            ("zfs set mountpoint=/x tank/sparse", "cannot set property for 'tank/sparse': 'mountpoint' does not apply to datasets of this type\n", 255),
            ("zfs set volsize=1G tank/src", "cannot set property for 'tank/src': 'volsize' does not apply to datasets of this type\n", 255),
            ("zfs create -V 1000 tank/odd", "cannot create 'tank/odd': volume size must be a multiple of volume block size\n", 1),
        ]
        expectRefusals(cases)
        let mount = h.sh("zfs mount tank/sparse")
        XCTAssertEqual(mount.err, "cannot open 'tank/sparse': operation not applicable to datasets of this type\n")
        XCTAssertEqual(mount.code, 1)
        h.ok("zfs mount -a")
        h.ok("zfs clone tank/sparse@s tank/vclone")
        XCTAssertEqual(h.sh("zfs get -H -o value type,origin tank/vclone").out, "volume\ntank/sparse@s\n")
        XCTAssertTrue(h.sh("zfs destroy -r tank/sparse").err.hasPrefix("cannot destroy 'tank/sparse': volume has dependent clones\n"))
        let flags = h.sh("zfs create -s tank/fs")
        XCTAssertTrue(flags.err.hasPrefix("'-s' and '-b' can only be used when creating a volume\nusage:"), flags.err)
        XCTAssertEqual(flags.code, 2)
    }

    func testRowsOfAFreshFilesystemWithOpenZFSValuesAndSources() {
        let rows = "aclmode,aclinherit,version,utf8only,normalization,casesensitivity,vscan,nbmand,mlslabel,dnodesize,"
            + "refcompressratio,volmode,filesystem_limit,snapshot_limit,filesystem_count,snapshot_count,snapdev,acltype,"
            + "context,relatime,redundant_metadata,overlay,special_small_blocks,prefetch,redact_snaps,written,logicalused"
        h.ok("zfs create tank/fresh")
        XCTAssertEqual(h.sh("zfs get -H -o property,value,source \(rows) tank/fresh").out, """
            aclmode\tdiscard\tdefault
            aclinherit\trestricted\tdefault
            version\t5\t-
            utf8only\toff\t-
            normalization\tnone\t-
            casesensitivity\tsensitive\t-
            vscan\toff\tdefault
            nbmand\toff\tdefault
            mlslabel\tnone\tdefault
            dnodesize\tlegacy\tdefault
            refcompressratio\t1.00x\t-
            volmode\tdefault\tdefault
            filesystem_limit\tnone\tdefault
            snapshot_limit\tnone\tdefault
            filesystem_count\tnone\tdefault
            snapshot_count\tnone\tdefault
            snapdev\thidden\tdefault
            acltype\toff\tdefault
            context\tnone\tdefault
            relatime\ton\tdefault
            redundant_metadata\tall\tdefault
            overlay\ton\tdefault
            special_small_blocks\t0\tdefault
            prefetch\tall\tdefault
            redact_snaps\t-\t-
            written\t0\t-
            logicalused\t0\t-

            """)
        // -p: the limits stay `none`, ratios lose their x.
        XCTAssertEqual(h.sh("zfs get -Hp -o value filesystem_limit,refcompressratio,special_small_blocks tank/fresh").out,
                       "none\n1.00\n0\n")
        let objsetids = h.sh("zfs get -H -o value objsetid tank/fresh tank/src tank/src@a").out.split(separator: "\n")
        XCTAssertEqual(Set(objsetids).count, 3, "each dataset and snapshot has its own objsetid")
        XCTAssertTrue(objsetids.allSatisfy { UInt64($0) != nil }, "objsetid is printed in full, never as 1.2K")
    }

    func testSnapshotsShowTheirFilesystemsZPLPropertiesAndSettingsButDefaultLabels() {
        h.ok("zfs set acltype=posixacl tank/src && zfs set xattr=dir tank/src && zfs set context=system_u:object_r:fs_t tank/src")
        XCTAssertEqual(h.sh("zfs get -H -o property,value,source acltype,xattr,context,version,casesensitivity tank/src@a").out, """
            acltype\tposix\tinherited from tank/src
            xattr\ton\tinherited from tank/src
            context\tnone\tdefault
            version\t5\t-
            casesensitivity\tsensitive\t-

            """)
        XCTAssertEqual(h.sh("zfs get -H -o value context tank/src").out, "system_u:object_r:fs_t\n")
        let label = h.sh("zfs set mlslabel=secret tank/src")
        XCTAssertEqual(label.err, "cannot set property for 'tank/src': mlslabels are unsupported\n")
        XCTAssertNotEqual(label.code, 0)
    }

    func testCreateOnlyPropertiesAreFixedAtCreateAndInheritedByNewChildren() {
        h.ok("zfs create -o casesensitivity=mixed -o normalization=formD tank/ci && zfs create tank/ci/kid")
        XCTAssertEqual(h.sh("zfs get -H -o name,property,value,source casesensitivity,normalization,utf8only tank/ci tank/ci/kid").out, """
            tank/ci\tcasesensitivity\tmixed\t-
            tank/ci\tnormalization\tformD\t-
            tank/ci\tutf8only\ton\t-
            tank/ci/kid\tcasesensitivity\tmixed\t-
            tank/ci/kid\tnormalization\tformD\t-
            tank/ci/kid\tutf8only\ton\t-

            """)
        let set = h.sh("zfs set utf8only=off tank/ci")
        XCTAssertEqual(set.err, "cannot set property for 'tank/ci': 'utf8only' is readonly\n")
        XCTAssertNotEqual(set.code, 0)
        let bad = h.sh("zfs create -o casesensitivity=upper tank/bad")
        XCTAssertEqual(bad.err, "cannot create 'tank/bad': 'casesensitivity' must be one of 'sensitive | insensitive | mixed'\n")
        XCTAssertEqual(h.sh("zfs list tank/bad").code, 1, "nothing was created")
    }

    func testLimitsAndTheCountsKeptBelowThem() {
        h.ok("zfs create tank/src/kid && zfs snapshot tank/src/kid@k && zfs set snapshot_limit=10 tank/src")
        XCTAssertEqual(h.sh("zfs get -H -o name,property,value,source snapshot_limit,snapshot_count,filesystem_count tank/src tank/src/kid tank").out, """
            tank/src\tsnapshot_limit\t10\tlocal
            tank/src\tsnapshot_count\t3\tlocal
            tank/src\tfilesystem_count\t1\tlocal
            tank/src/kid\tsnapshot_limit\tnone\tdefault
            tank/src/kid\tsnapshot_count\t1\tlocal
            tank/src/kid\tfilesystem_count\t0\tlocal
            tank\tsnapshot_limit\tnone\tdefault
            tank\tsnapshot_count\tnone\tdefault
            tank\tfilesystem_count\tnone\tdefault

            """)
        let bad = h.sh("zfs set filesystem_limit=many tank/src")
        XCTAssertEqual(bad.err, "cannot set property for 'tank/src': bad numeric value 'many'\n")
    }

    func testSnapshotsChangedFollowsSnapshotsMadeAndDestroyed() {
        h.ok("zfs create tank/quiet")
        XCTAssertEqual(h.sh("zfs get -Hp -o value,source snapshots_changed tank/quiet").out, "-\t-\n", "never changed")
        h.ok("zfs snapshot tank/quiet@one", env: ["ZFAKE_CLOCK": "1700000000"])
        XCTAssertEqual(h.sh("zfs get -Hp -o value,source snapshots_changed tank/quiet").out, "1700000000\t-\n")
        XCTAssertEqual(h.sh("zfs get -H -o value snapshots_changed tank/quiet").out, "Tue Nov 14 22:13:20 2023\n")
        XCTAssertTrue(properties("zfs get -H -o property all tank/quiet").contains("snapshots_changed"))
        h.ok("zfs destroy tank/quiet@one", env: ["ZFAKE_CLOCK": "1700000100"])
        XCTAssertEqual(h.sh("zfs get -Hp -o value snapshots_changed tank/quiet").out, "1700000100\n")
    }

    func testUserGroupAndProjectAccounting() {
        // Everything the fake holds belongs to uid, gid and project 0.
        h.ok("zfs set userquota@nobody=1G tank/src")
        XCTAssertEqual(h.sh("zfs get -Hp -o property,value,source userused@root,userused@nobody,userquota@nobody,groupused@0,projectused@0 tank/src").out, """
            userused@root\t4194304\tlocal
            userused@nobody\t0\tlocal
            userquota@nobody\t1073741824\tlocal
            groupused@0\t4194304\tlocal
            projectused@0\t4194304\tlocal

            """)
        XCTAssertEqual(h.sh("zfs get -H -o value userused@root,userquota@root,userused@nobody,userused@no-such-user tank/src").out,
                       "4M\nnone\n0B\n-\n")
        XCTAssertEqual(h.sh("zfs get -H -o value userused@root tank/src@a").out, "3M\n", "a snapshot's own")
        let readonly = h.sh("zfs set userused@root=1 tank/src")
        XCTAssertEqual(readonly.err, "cannot set property for 'tank/src': 'userused@root' is readonly\n")
        XCTAssertEqual(h.sh("zfs list -H -o name,userused@root tank/src").out, "tank/src\t4M\n")
    }

    func testColumnNamesAndTheirLowerCaseAliases() {
        XCTAssertEqual(h.sh("zfs list -o name,rdonly,refratio,fslimit,lused tank/src").out, """
            NAME      RDONLY  REFRATIO  FSLIMIT  LUSED
            tank/src  off        1.00x     none     4M

            """)
        XCTAssertEqual(h.sh("zfs get -H -o property redund_md,dnsize,case,resumetok tank/src").out,
                       "redundant_metadata\ndnodesize\ncasesensitivity\nreceive_resume_token\n")
    }
}
