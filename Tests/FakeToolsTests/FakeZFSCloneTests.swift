import Foundation
import XCTest

/// clone, promote, rename, bookmark copies and the other subcommands replication and snapshot tools call,
/// with OpenZFS 2.2's messages and exit codes (zfs_main.c, libzfs_dataset.c).
final class FakeZFSCloneTests: FakeWorldTestCase {
    func names(_ script: String) -> String { h.sh(script).out }

    func testACloneStartsAsItsSnapshotAndNamesItsOrigin() {
        h.ok("zfs clone -o atime=off tank/src@a tank/c")
        XCTAssertEqual(h.sh("zfs get -Hp -o property,value,source origin,referenced,atime,mounted tank/c").out, """
            origin\ttank/src@a\t-
            referenced\t3145728\t-
            atime\toff\tlocal
            mounted\tyes\t-

            """)
        XCTAssertEqual(h.sh("zfs get -H -o name,value clones tank/src@a tank/src@b").out, "tank/src@a\ttank/c\ntank/src@b\t-\n")
        XCTAssertTrue(h.sh("zfs get -H -o property all tank/c").out.contains("origin\n"), "get all shows a clone's origin")
        XCTAssertTrue(h.sh("zfs get -H -o property all tank/src@a").out.contains("clones\n"))
        XCTAssertFalse(h.sh("zfs get -H -o property all tank/src@b").out.contains("clones\n"), "no clones, no row")
    }

    func testCloneRefusals() {
        let cases: [(String, String, Int32)] = [
            ("zfs clone tank/src@nope tank/c", "cannot open 'tank/src@nope': dataset does not exist\n", 1),
            ("zfs clone tank/src tank/c", "cannot open 'tank/src': operation not applicable to datasets of this type\n", 1),
            ("zfs clone tank/src@a tank/src", "cannot create 'tank/src': dataset already exists\n", 1),
            ("zfs clone tank/src@a tank/x/c", "cannot create 'tank/x/c': parent does not exist\n", 1),
            ("zfs clone tank/src@a backup/c", "cannot create 'backup/c': source and target pools differ\n", 1),
        ]
        expectRefusals(cases)
        h.ok("zfs clone -p tank/src@a tank/x/c")
        XCTAssertEqual(names("zfs list -H -o name,origin -r tank/x"), "tank/x\t-\ntank/x/c\ttank/src@a\n")
    }

    func testASnapshotWithClonesIsDestroyedOnlyWithMinusR() {
        h.ok("zfs clone tank/src@a tank/c && zfs create tank/c/kid")
        var r = h.sh("zfs destroy tank/src@a")
        XCTAssertEqual(r.err, "cannot destroy 'tank/src@a': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\ntank/c\ntank/c/kid\n")
        XCTAssertEqual(r.code, 1)
        r = h.sh("zfs destroy -r tank/src")
        XCTAssertEqual(r.err, "cannot destroy 'tank/src': filesystem has dependent clones\nuse '-R' to destroy the following datasets:\ntank/c\ntank/c/kid\n")
        XCTAssertEqual(names("zfs list -H -o name -t all -r tank"), "tank\ntank/c\ntank/c/kid\ntank/src\ntank/src@a\ntank/src@b\n", "nothing destroyed")
        h.ok("zfs destroy -R tank/src@a")
        XCTAssertEqual(names("zfs list -H -o name -t all -r tank"), "tank\ntank/src\ntank/src@b\n")
    }

    func testPromoteSwapsTheOriginAndTheClone() {
        h.ok("zfs clone tank/src@a tank/c && zfs snapshot tank/c@c1 && zfs clone tank/src@a tank/sibling")
        h.ok("zfs promote tank/c")
        XCTAssertEqual(names("zfs list -H -t all -o name,origin,clones -r tank"), """
            tank\t-\t-
            tank/c\t-\t-
            tank/c@a\t-\ttank/sibling,tank/src
            tank/c@c1\t-\t-
            tank/sibling\ttank/c@a\t-
            tank/src\ttank/c@a\t-
            tank/src@b\t-\t-

            """)
        var r = h.sh("zfs promote tank/c")
        XCTAssertEqual(r.err, "cannot promote 'tank/c': not a cloned filesystem\n")
        XCTAssertEqual(r.code, 1)
        // Promoting back: tank/src takes @a again.
        h.ok("zfs promote tank/src")
        XCTAssertEqual(names("zfs list -H -t snapshot -o name -r tank"), "tank/c@c1\ntank/src@a\ntank/src@b\n")
        h.ok("zfs snapshot tank/c@a2 && zfs snapshot tank/src@a2")
        h.ok("zfs rename tank/c@a2 tank/c@later")
        h.ok("zfs clone tank/src@b tank/d && zfs snapshot tank/d@b")
        r = h.sh("zfs promote tank/d")
        XCTAssertEqual(r.err, "cannot promote 'tank/d': conflicting snapshot 'b' from parent 'tank/src'\n")
        XCTAssertEqual(r.code, 1)
        r = h.sh("zfs promote tank/src@a")
        XCTAssertEqual(r.err, "cannot open 'tank/src@a': operation not applicable to datasets of this type\n")
    }

    func testRenameMovesATreeWithItsSnapshotsAndClonesFollow() {
        h.ok("zfs create tank/src/kid && zfs snapshot -r tank/src@r && zfs clone tank/src@a tank/c")
        h.ok("zfs rename tank/src tank/moved")
        XCTAssertEqual(names("zfs list -H -t all -o name -r tank/moved"),
                       "tank/moved\ntank/moved@a\ntank/moved@b\ntank/moved@r\ntank/moved/kid\ntank/moved/kid@r\n")
        XCTAssertEqual(names("zfs get -H -o value origin,mountpoint tank/c tank/moved/kid"), "tank/moved@a\n/tank/c\n-\n/tank/moved/kid\n")
        // Snapshots: full, short and @short new names; -r renames the children's too.
        h.ok("zfs rename tank/moved@a tank/moved@first && zfs rename tank/moved@first second && zfs rename tank/moved@second @third")
        h.ok("zfs rename -r tank/moved@r recursive")
        XCTAssertEqual(names("zfs list -H -t snapshot -o name -r tank/moved"),
                       "tank/moved@third\ntank/moved@b\ntank/moved@recursive\ntank/moved/kid@recursive\n")
        XCTAssertEqual(names("zfs get -H -o value origin tank/c"), "tank/moved@third\n")
        h.ok("zfs rename -p tank/c tank/deep/er/c")
        XCTAssertEqual(names("zfs list -H -o name -r tank/deep"), "tank/deep\ntank/deep/er\ntank/deep/er/c\n")
    }

    func testRenameRefusals() {
        h.ok("zfs create tank/src/kid && zfs snapshot tank/src/kid@b && zfs create tank/other")
        let cases: [(String, String, Int32)] = [
            ("zfs rename tank/src tank/src/kid/x", "cannot rename to 'tank/src/kid/x': New dataset name cannot be a descendant of current dataset name\n", 1),
            ("zfs rename tank/src tank/other", "cannot rename 'tank/src': dataset already exists\n", 1),
            ("zfs rename tank/src tank/no/x", "cannot create 'tank/no/x': parent does not exist\n", 1),
            ("zfs rename tank/src backup/x", "cannot rename to 'backup/x': datasets must be within same pool\n", 1),
            ("zfs rename tank/src@a tank/other@a", "cannot rename to 'tank/other@a': snapshots must be part of same dataset\n", 1),
            ("zfs rename tank/src@a tank/src@b", "cannot rename 'tank/src@a': dataset already exists\n", 1),
            ("zfs rename -r tank/src@a b", "cannot rename 'tank/src@a': a child dataset already has a snapshot with the new name\n", 1),
            ("zfs rename tank/nope tank/x", "cannot open 'tank/nope': dataset does not exist\n", 1),
        ]
        h.ok("zfs snapshot tank/src/kid@a")
        expectRefusals(cases)
        let usage = h.sh("zfs rename -r tank/src tank/x")
        XCTAssertTrue(usage.err.hasPrefix("source dataset for recursive rename must be a snapshot\nusage:\n\trename"), usage.err)
        XCTAssertEqual(usage.code, 2)
        XCTAssertEqual(names("zfs list -H -t all -o name -r tank/src"), "tank/src\ntank/src@a\ntank/src@b\ntank/src/kid\ntank/src/kid@b\ntank/src/kid@a\n",
                       "nothing renamed")
    }

    func testBookmarksFromSnapshotsOrBookmarksInShortOrFullForms() {
        h.ok("zfs bookmark tank/src@a '#one' && zfs bookmark tank/src#one tank/src#two && zfs bookmark '#two' tank/src#three")
        XCTAssertEqual(names("zfs list -H -t bookmark -o name,guid,refer -r tank/src").split(separator: "\n").map { $0.split(separator: "\t")[2] },
                       ["3M", "3M", "3M"], "a bookmark made with bookmark_written shows what its snapshot referenced")
        let guids = Set(names("zfs list -H -t bookmark,snapshot -o guid tank/src@a tank/src#one tank/src#two tank/src#three").split(separator: "\n"))
        XCTAssertEqual(guids.count, 1, "every copy keeps the snapshot's guid")
        XCTAssertEqual(properties("zfs get -H -o property all tank/src#two"),
                       ["type", "creation", "referenced", "compressratio", "createtxg", "guid", "logicalreferenced"])
        h.ok("zfs create tank/src/kid")
        let cases: [(String, String, Int32)] = [
            ("zfs bookmark tank/src@a tank/src#one", "cannot create bookmark 'tank/src#one': bookmark exists\n", 1),
            ("zfs bookmark tank/src@a tank/src/kid#x", "cannot create bookmark 'tank/src/kid#x': source is not an ancestor of the new bookmark's dataset\n", 1),
            ("zfs bookmark tank/src@a tank/nope#x", "cannot create bookmark 'tank/nope#x': dataset does not exist\n", 1),
            ("zfs bookmark tank/src@a backup/x#x", "cannot create bookmark 'backup/x#x': bookmark is in a different pool\n", 1),
        ]
        expectRefusals(cases)
        let missing = h.sh("zfs bookmark tank/src@zz tank/src#y")
        XCTAssertTrue(missing.err.hasPrefix("cannot open 'tank/src@zz': dataset does not exist\nusage:\n\tbookmark"), missing.err)
        XCTAssertEqual(missing.code, 2)
        let noDelimiter = h.sh("zfs bookmark tank/src tank/src#y")
        XCTAssertTrue(noDelimiter.err.hasPrefix("invalid source name 'tank/src': must contain a '@' or '#'\nusage:"), noDelimiter.err)
    }

    func testCreateDryRunVerboseAndParsable() {
        var r = h.sh("zfs create -nv -o compression=zstd-3 -o atime=off tank/n1")
        XCTAssertEqual(r.out, "would create tank/n1\n\tcompression=zstd-3\n\tatime=off\n")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(h.sh("zfs list tank/n1").code, 1, "a dry run creates nothing")
        r = h.sh("zfs create -P -p tank/p1/p2")
        XCTAssertEqual(r.out, "create_ancestors\ttank/p1/p2\ncreate\ttank/p1/p2\n")
        XCTAssertEqual(names("zfs list -H -o name -r tank/p1"), "tank/p1\ntank/p1/p2\n")
        r = h.sh("zfs create -nv -V 1G tank/vol")
        XCTAssertEqual(r.out, "would create tank/vol\n")
        XCTAssertEqual(h.sh("zfs list tank/vol").code, 1)
    }

    func testHoldsListsHeaderEvenWithoutHoldsAndRefusesNonSnapshots() {
        XCTAssertEqual(h.sh("zfs holds tank/src@a").out, "NAME        TAG  TIMESTAMP\n")
        var r = h.sh("zfs holds tank/src")
        XCTAssertEqual(r.err, "'tank/src' is not a snapshot\nno datasets available\n")
        XCTAssertEqual(r.code, 1)
        r = h.sh("zfs holds tank/src@nope tank/src@a")
        XCTAssertEqual(r.err, "cannot open 'tank/src@nope': dataset does not exist\n")
        XCTAssertEqual(r.out, "NAME        TAG  TIMESTAMP\n")
        XCTAssertEqual(r.code, 1)
    }

    func testReceiveDryRunSaysWouldReceive() {
        let r = h.sh("zfs send tank/src@a | zfs receive -nv tank/rx")
        XCTAssertEqual(r.out, "would receive full stream of tank/src@a into tank/rx@a\n")
        XCTAssertEqual(h.sh("zfs list tank/rx").code, 1)
    }

    func testListSpaceColumnsAndEveryCompressionName() {
        XCTAssertEqual(h.sh("zfs list -o space tank/src").out.split(separator: "\n").first,
                       "NAME      AVAIL  USED  USEDSNAP  USEDDS  USEDREFRESERV  USEDCHILD")
        for value in ["zstd-3", "zstd-19", "zstd-fast", "zstd-fast-1000", "gzip-9", "lz4"] {
            h.ok("zfs set compression=\(value) tank/src")
            XCTAssertEqual(h.sh("zfs get -H -o value compression tank/src").out, value + "\n")
        }
        for value in ["zstd-20", "zstd-fast-11", "gzip-10"] {
            XCTAssertNotEqual(h.sh("zfs set compression=\(value) tank/src").code, 0, value)
        }
    }

    func testUsageListsTheCommandsInOpenZFSOrderWithItsGroupBreaks() {
        let usage = h.sh("zfs --help").out
        XCTAssertTrue(usage.contains("\tversion\n\n\tcreate"), usage)
        XCTAssertTrue(usage.contains("\trollback [-rRf] <snapshot>\n\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>\n\tpromote <clone-filesystem>\n\trename [-f]"))
        XCTAssertTrue(usage.contains("\trename -r <snapshot> <snapshot>\n\tbookmark <snapshot|bookmark> <newbookmark>\n\n\tlist"))
    }

    func properties(_ script: String) -> [String] {
        h.sh(script).out.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }
}
