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
        ("volsize", "V"), ("volblocksize", "V"), ("recordsize", "F"), ("mountpoint", "F"), ("sharenfs", "F"),
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
        ("redact_snaps", "SB"), ("snapshots_changed", "FV"), ("prefetch", "FV"),
    ]

    /// What the fake does not model yet (README: what the fake leaves out); volumes it has none of.
    static let leftOut: Set<String> = [
        "volsize", "volblocksize", "aclmode", "aclinherit", "version", "utf8only", "normalization",
        "casesensitivity", "vscan", "nbmand", "objsetid", "mlslabel", "dnodesize", "refcompressratio", "volmode",
        "filesystem_limit", "snapshot_limit", "filesystem_count", "snapshot_count", "snapdev", "acltype", "context",
        "fscontext", "defcontext", "rootcontext", "relatime", "redundant_metadata", "overlay",
        "special_small_blocks", "redact_snaps", "snapshots_changed", "prefetch",
    ]

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
        // Not a clone: no origin; not encrypted: no encryptionroot, keystatus (get all skips what has no value).
        XCTAssertEqual(rows, expected(for: "F", skipping: ["origin", "encryptionroot", "keystatus"]))
    }

    func testEncryptedFilesystemRows() {
        h.ok("zfake-ctl create tank/secret --passphrase 'correct horse'")
        XCTAssertEqual(properties("zfs get -H -o property all tank/secret"), expected(for: "F", skipping: ["origin"]))
    }

    func testSnapshotRowsFollowOpenZFSTable() {
        XCTAssertEqual(properties("zfs get -H -o property all tank/src@a"),
                       expected(for: "S", skipping: ["encryptionroot", "keystatus"]))
        let clones = h.sh("zfs get -H -o property,value,source clones tank/src@a")
        XCTAssertEqual(clones.out, "clones\t\t-\n")
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
}
