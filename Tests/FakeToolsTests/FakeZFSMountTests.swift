import Foundation
import XCTest

/// Mount state in the fake (reference §A15): `zfs mount`/`unmount` and their messages, `mounted`,
/// `canmount`, mountpoints with received values, what a receive mounts, and what `zfake ctl dump` shows.
final class FakeZFSMountTests: FakeWorldTestCase {
    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    /// Dataset name → its fields in `zfake ctl dump`.
    func dumped() throws -> [String: [String: Any]] {
        try XCTUnwrap(try h.dump()["datasets"] as? [String: [String: Any]])
    }

    func testMountUnmountAndTheirMessages() {
        func expect(_ command: String, _ code: Int32, _ err: String, line: UInt = #line) {
            let r = h.sh(command)
            XCTAssertEqual(r.code, code, command, line: line)
            XCTAssertEqual(r.err, err, command, line: line)
        }
        XCTAssertEqual(h.sh("zfs mount").out, "backup                          /backup\ntank                            /tank\n"
            + "tank/src                        /tank/src\n", "created filesystems are mounted; the list is \"%-30s  %s\"")
        XCTAssertEqual(h.sh("zfs get -H -o property,value,source mounted,canmount tank/src").out, "mounted\tyes\t-\ncanmount\ton\tdefault\n")
        expect("zfs mount tank/src", 1, "cannot mount 'tank/src': filesystem already mounted\n")
        expect("zfs unmount tank/src", 0, "")
        expect("zfs umount tank/src", 1, "cannot unmount 'tank/src': not currently mounted\n")
        expect("zfs mount tank/nothere", 1, "cannot open 'tank/nothere': dataset does not exist\n")
        expect("zfs mount tank/src@a", 1, "cannot open 'tank/src@a': operation not applicable to datasets of this type\n")
        expect("zfs mount tank/src", 0, "")
        expect("zfs unmount /tank/src", 0, "")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted tank/src").out, "no\n", "unmounted by its mountpoint")
        h.ok("zfs create -o mountpoint=none tank/none && zfs create -o canmount=off tank/off && zfs create -o mountpoint=legacy tank/legacy"
            + " && zfs create -o canmount=noauto tank/noauto && zfs create -u tank/later")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value mounted tank/none tank/off tank/legacy tank/noauto tank/later").out),
                       ["no", "no", "no", "no", "no"], "only canmount=on with a mountpoint mounts; -u mounts nothing")
        expect("zfs mount tank/none", 1, "cannot mount 'tank/none': no mountpoint set\n")
        expect("zfs mount tank/off", 1, "cannot mount 'tank/off': 'canmount' property is set to 'off'\n")
        expect("zfs mount tank/legacy", 1, "cannot mount 'tank/legacy': legacy mountpoint\nuse mount(8) to mount this filesystem\n")
        expect("zfs unmount tank/legacy", 1, "cannot unmount 'tank/legacy': legacy mountpoint\nuse umount(8) to unmount this filesystem\n")
        expect("zfs mount -a", 0, "")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value mounted tank/src tank/noauto tank/later tank/off").out), ["yes", "no", "yes", "no"],
                       "mount -a skips noauto")
        expect("zfs mount tank/noauto", 0, "")
        expect("zfs inherit canmount tank/noauto", 1, "'canmount' property cannot be inherited\n")
        expect("zfs unmount -a", 0, "")
        XCTAssertEqual(h.sh("zfs mount").out, "tank/noauto                     /tank/noauto\n", "unmount -a leaves noauto mounts")
        expect("zfs mount -o", 2, "missing argument for 'o' option\nusage:\n\tmount\n\tmount [-flvO] [-o opts] <-a|-R filesystem|filesystem>\n"
            + "\nFor the property list, run: zfs set|get\n\nFor the delegated permission list, run: zfs allow|unallow\n"
            + "\nFor further help on a command or topic, run: zfs help [<topic>]\n")
    }

    func testMountpointChangesAndChildren() {
        h.ok("zfs create tank/src/child && zfs set mountpoint=/srv/data tank/src")
        XCTAssertEqual(h.sh("zfs mount").out.split(separator: "\n").filter { $0.hasPrefix("tank/src") }.map(String.init),
                       ["tank/src                        /srv/data", "tank/src/child                  /srv/data/child"])
        h.ok("zfs set mountpoint=none tank/src")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value mounted tank/src tank/src/child").out), ["no", "no"])
        h.ok("zfs inherit mountpoint tank/src")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value mounted,mountpoint tank/src tank/src/child").out),
                       ["yes", "/tank/src", "yes", "/tank/src/child"], "a mountpoint again: what can mount, mounts")
        h.ok("zfs set canmount=off tank/src/child")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted tank/src/child").out, "no\n")
        h.ok("zfake-ctl busy tank/src on")
        let r = h.sh("zfs unmount tank/src")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot unmount '/tank/src': pool or dataset is busy\n")
        h.ok("zfake-ctl busy tank/src off && zfs unmount tank/src")
    }

    /// A `-R` stream of a tree whose child has a local mountpoint on the source.
    func replicationSetup() {
        h.ok("zfs create -o mountpoint=/srv/child tank/src/child && zfs set canmount=noauto tank/src/child"
            + " && zfs set com.example:tag=blue tank/src/child && zfs snapshot -r tank/src@r1")
    }

    func testReplicationStreamCarriesMountpointsAsReceivedValues() throws {
        replicationSetup()
        h.ok("zfs set canmount=on tank/src/child && zfs snapshot -r tank/src@r2")
        var r = h.sh("zfs send -R tank/src@r2 | zfs receive backup/copy")
        XCTAssertEqual(r.code, 0, r.err)
        r = h.sh("zfs get -H -o name,property,value,received,source mountpoint,canmount,com.example:tag,mounted backup/copy/child")
        XCTAssertEqual(lines(r.out), ["backup/copy/child\tmountpoint\t/srv/child\t/srv/child\treceived",
                                      "backup/copy/child\tcanmount\ton\ton\treceived",
                                      "backup/copy/child\tcom.example:tag\tblue\tblue\treceived",
                                      "backup/copy/child\tmounted\tno\t-\t-"],
                       "OpenZFS 2.2.7's mount step leaves out a child whose mountpoint is received")
        XCTAssertEqual(h.sh("zfs get -H -o value,source mountpoint,mounted backup/copy").out, "/backup/copy\tdefault\nyes\t-\n")
        let datasets = try dumped()
        let child = try XCTUnwrap(datasets["backup/copy/child"])
        XCTAssertEqual(child["mounted"] as? Bool, false, "not mounted over the source's live path")
        XCTAssertEqual(child["mountpoint"] as? String, "/srv/child")
        XCTAssertEqual(child["mountpointSource"] as? String, "received")
        XCTAssertEqual((child["received"] as? [String: String])?["mountpoint"], "/srv/child")
        XCTAssertEqual(datasets["tank/src/child"]?["mountpoint"] as? String, "/srv/child")
        XCTAssertEqual(datasets["tank/src/child"]?["mounted"] as? Bool, true)
        // inherit masks the received value, -S restores it.
        h.ok("zfs inherit mountpoint backup/copy/child")
        XCTAssertEqual(h.sh("zfs get -H -o value,received,source mountpoint backup/copy/child").out, "/backup/copy/child\t/srv/child\tdefault\n")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/copy/child").out, "yes\n", "remounted at the inherited place")
        XCTAssertEqual(try dumped()["backup/copy/child"]?["mountpoint"] as? String, "/backup/copy/child")
        h.ok("zfs inherit -S mountpoint backup/copy/child")
        XCTAssertEqual(h.sh("zfs get -H -o value,received,source mountpoint backup/copy/child").out, "/srv/child\t/srv/child\treceived\n")
    }

    func testReceiveWithExcludedMountpointAndNoMount() throws {
        replicationSetup()
        h.ok("zfs set mountpoint=/vault backup")
        var r = h.sh("zfs send -R tank/src@r1 | zfs receive -x mountpoint -u backup/copy")
        XCTAssertEqual(r.code, 0, r.err)
        r = h.sh("zfs get -H -o name,value,received,source mountpoint -r -t filesystem backup/copy")
        XCTAssertEqual(lines(r.out), ["backup/copy\t/vault/copy\t-\tinherited from backup",
                                      "backup/copy/child\t/vault/copy/child\t/srv/child\tinherited from backup"],
                       "inherited from the destination's parent, the received value kept")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value mounted backup/copy backup/copy/child").out), ["no", "no"], "-u mounts nothing")
        let datasets = try dumped()
        XCTAssertEqual(datasets["backup/copy/child"]?["mounted"] as? Bool, false)
        XCTAssertEqual(datasets["backup/copy/child"]?["mountpoint"] as? String, "/vault/copy/child")
        XCTAssertEqual((datasets["backup/copy/child"]?["received"] as? [String: String])?["mountpoint"], "/srv/child")
        // -x canmount drops the received canmount altogether (it cannot be inherited).
        r = h.sh("zfs send -R tank/src@r1 | zfs receive -x canmount -u backup/nocan"
            + " && zfs get -H -o value,received,source canmount backup/nocan/child")
        XCTAssertEqual(r.out, "on\t-\tdefault\n", r.err)
        // -o mountpoint sets the top locally; the children inherit it.
        r = h.sh("zfs send -R tank/src@r1 | zfs receive -o mountpoint=/restore -u backup/local"
            + " && zfs get -H -o name,value,source mountpoint -r -t filesystem backup/local")
        XCTAssertEqual(lines(r.out), ["backup/local\t/restore\tlocal", "backup/local/child\t/restore/child\tinherited from backup/local"], r.err)
    }

    func testReceiveWithCanmountNoauto() {
        replicationSetup()
        h.ok("zfs set canmount=on tank/src/child && zfs snapshot -r tank/src@r2")
        let r = h.sh("zfs send -R tank/src@r2 | zfs receive -o canmount=noauto backup/quiet"
            + " && zfs get -H -o name,value,source canmount,mounted -r -t filesystem backup/quiet")
        XCTAssertEqual(r.code, 0, r.err)
        // noauto is set on the top only (below it the -o is an explicit inherit, and canmount cannot be
        // inherited). OpenZFS 2.2.7's mount step mounts the top all the same (only canmount=off keeps it
        // unmounted) and leaves out the child, whose mountpoint is received.
        XCTAssertEqual(lines(r.out), ["backup/quiet\tnoauto\tlocal", "backup/quiet\tyes\t-",
                                      "backup/quiet/child\ton\tdefault", "backup/quiet/child\tno\t-"])
        // A plain full stream with -o canmount=noauto: mounted; with canmount=off: not.
        let plain = h.sh("zfs send tank/src@a | zfs receive -o canmount=noauto backup/plain && zfs get -H -o value mounted backup/plain")
        XCTAssertEqual(plain.out, "yes\n", plain.err)
        let off = h.sh("zfs send tank/src@a | zfs receive -o canmount=off backup/off && zfs get -H -o value mounted backup/off")
        XCTAssertEqual(off.out, "no\n", off.err)
    }

    func testIncrementalReceiveKeepsMountState() {
        h.ok("zfs send tank/src@a | zfs receive backup/dst")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/dst").out, "yes\n", "a received new filesystem is mounted")
        h.ok("zfs unmount backup/dst && zfs send -i @a tank/src@b | zfs receive backup/dst")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/dst").out, "no\n", "a plain incremental mounts nothing")
        h.ok("zfs send tank/src@a | zfs receive -u backup/quiet")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/quiet").out, "no\n")
        // A full stream over a mounted filesystem (-F) unmounts it first and mounts it again after.
        h.ok("zfs create backup/over && zfake-ctl busy backup/over on")
        let r = h.sh("zfs send tank/src@a | zfs receive -F backup/over")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot unmount '/backup/over': pool or dataset is busy\n")
        h.ok("zfake-ctl busy backup/over off && zfs send tank/src@a | zfs receive -F backup/over")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/over").out, "yes\n")
        h.ok("zfs destroy -r backup/over && zfs create backup/over && zfs send tank/src@a | zfs receive -F -u backup/over")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted backup/over").out, "no\n", "-u: unmounted and left so")
    }

    func testLegacyHostKeepsNoMountState() throws {
        h.ok("zfake-ctl --host old create-pool old --legacy && zfake-ctl --host old create old/fs")
        let old = try XCTUnwrap(try h.dump(host: "old")["datasets"] as? [String: [String: Any]])
        XCTAssertEqual(old["old/fs"]?["mounted"] as? Bool, false)
        XCTAssertEqual(h.sh("zfs get -H -o value mounted old/fs", env: ["ZFAKE_HOST": "old"]).out, "no\n")
        XCTAssertEqual(h.sh("zfs unmount old/fs", env: ["ZFAKE_HOST": "old"]).code, 2, "zfs-fuse's command set here has no unmount")
    }
}
