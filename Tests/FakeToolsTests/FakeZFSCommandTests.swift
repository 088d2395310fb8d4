import Foundation
import XCTest

/// list/get/set/inherit, snapshots, destroy, holds, zpool, legacy mode, faults, estimates and the call log.
final class FakeZFSCommandTests: FakeWorldTestCase {
    /// Every call-log line is one JSON object that gives back the argv exactly, whatever the words hold:
    /// quotes, backslashes, newlines, control characters, non-ASCII.
    func testTheCallLogKeepsEveryArgumentExactly() {
        let word = "a\"b\\c\nd\te\u{1}f é 🐝 /"
        _ = h.sh("zfs list \"$WORD\"", env: ["WORD": word])
        let call = h.calls().last
        XCTAssertEqual(call?["argv"] as? [String], ["list", word])
        XCTAssertEqual(call?["tool"] as? String, "zfs")
        XCTAssertEqual(call?["exit"] as? Int, 1)
        XCTAssertNotNil(call?["duration"] as? Double)
    }

    func testSnapshotsHaveGuidCreatetxgAndCreation() {
        h.ok("zfake-ctl clock 1700000000 && zfs snapshot tank/src@c")
        var r = h.sh("zfs get -Hp -o property,value guid,createtxg,creation tank/src@c")
        let lines = r.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(lines.count, 3)
        XCTAssertNotNil(UInt64(lines[0][1]))
        XCTAssertNotNil(UInt64(lines[1][1]))
        XCTAssertEqual(lines[2][1], "1700000000")
        r = h.sh("zfs get -H -o value creation tank/src@c")
        XCTAssertEqual(r.out, "Tue Nov 14 22:13 2023\n")
        r = h.sh("zfs snapshot tank/src@c")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot create snapshot 'tank/src@c': dataset already exists\n")
        r = h.sh("zfs snapshot tank/nofs@x")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("cannot open 'tank/nofs': dataset does not exist\nusage:\n"))
        r = h.sh("zfs snapshot tank/src@m1 tank/src@m2 && zfs get -H -o value createtxg tank/src@m1 tank/src@m2")
        let txgs = r.out.split(separator: "\n")
        XCTAssertEqual(txgs.count, 2)
        XCTAssertEqual(txgs[0], txgs[1], "snapshots of one command share a createtxg")
    }

    func testListSnapshotSemanticsAndOrder() {
        h.ok("zfs create tank/src/child && zfs snapshot tank/src/child@k")
        var r = h.sh("zfs list -H -o name -t snapshot tank/src")
        XCTAssertEqual(r.out, "tank/src@a\ntank/src@b\n", "-t snapshot DS means -d 1")
        r = h.sh("zfs list -H -o name -t snapshot -r tank/src")
        XCTAssertEqual(r.out, "tank/src@a\ntank/src@b\ntank/src/child@k\n")
        r = h.sh("zfs list -H -o name -t all -r tank")
        XCTAssertEqual(r.out, "tank\ntank/src\ntank/src@a\ntank/src@b\ntank/src/child\ntank/src/child@k\n")
        r = h.sh("zfs list -H -o name -s createtxg -t snapshot -S name tank/src")
        XCTAssertEqual(r.code, 0)
        r = h.sh("zfs list -H -o name,bogus tank")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.hasPrefix("bad property list: invalid property 'bogus'\nusage:\n"))
        r = h.sh("zfs list -H tank/missing tank")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'tank/missing': dataset does not exist\n")
        XCTAssertTrue(r.out.hasPrefix("tank\t"))
        r = h.sh("zfs list -t snapshot backup")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.err, "no datasets available\n")
        r = h.sh("zfs list -Hp -o name,referenced tank/src@a")
        XCTAssertEqual(r.out, "tank/src@a\t3145728\n")
        r = h.sh("zfs list -o name,refer tank/src@a")
        XCTAssertEqual(r.out, "NAME        REFER\ntank/src@a     3M\n")
    }

    func testPropertiesInheritanceAndSources() {
        h.ok("zfs create tank/src/child && zfs set com.example:tag=blue tank/src && zfs set readonly=on tank/src")
        let r = h.sh("zfs get -H -o name,property,value,source com.example:tag,readonly,compression,com.example:unset tank/src tank/src/child tank/src@a")
        XCTAssertEqual(r.out, """
            tank/src\tcom.example:tag\tblue\tlocal
            tank/src\treadonly\ton\tlocal
            tank/src\tcompression\toff\tdefault
            tank/src\tcom.example:unset\t-\t-
            tank/src/child\tcom.example:tag\tblue\tinherited from tank/src
            tank/src/child\treadonly\ton\tinherited from tank/src
            tank/src/child\tcompression\toff\tdefault
            tank/src/child\tcom.example:unset\t-\t-
            tank/src@a\tcom.example:tag\tblue\tinherited from tank/src
            tank/src@a\treadonly\t-\t-
            tank/src@a\tcompression\t-\t-
            tank/src@a\tcom.example:unset\t-\t-

            """)
        h.ok("zfs inherit com.example:tag tank/src")
        XCTAssertEqual(h.sh("zfs get -H -o value,source com.example:tag tank/src/child").out, "-\t-\n")
        XCTAssertEqual(h.sh("zfs get -H -o value com.example:x tank/src").code, 0)
    }

    func testSetValidationAndNameRules() {
        var r = h.sh("zfs set Com.Example:x=1 tank/src")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "cannot set property for 'tank/src': invalid property 'Com.Example:x'\n")
        r = h.sh("zfs set nocolon=1 tank/src")
        XCTAssertEqual(r.err, "cannot set property for 'tank/src': invalid property 'nocolon'\n")
        r = h.sh("zfs set readonly=maybe tank/src")
        XCTAssertEqual(r.err, "cannot set property for 'tank/src': 'readonly' must be one of 'on | off'\n")
        r = h.sh("zfs set used=5 tank/src")
        XCTAssertEqual(r.err, "cannot set property for 'tank/src': 'used' is readonly\n")
        r = h.sh("zfs set com.example:x=1 tank/missing")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot open 'tank/missing': dataset does not exist\n")
        r = h.sh("zfs create 'tank/a%b'")
        XCTAssertEqual(r.err, "cannot create 'tank/a%b': invalid character % in name\n")
        r = h.sh("zfs create 'tank/a*b'")
        XCTAssertEqual(r.err, "cannot create 'tank/a*b': invalid character '*' in name\n")
        r = h.sh("zfs create 'tank/with space' && zfs list -H -o name 'tank/with space'")
        XCTAssertEqual(r.out, "tank/with space\n", "space is legal")
        r = h.sh("zfs create tank/x/y")
        XCTAssertEqual(r.err, "cannot create 'tank/x/y': parent does not exist\n")
        r = h.sh("zfs create -p tank/x/y && zfs list -H -o name -r tank/x")
        XCTAssertEqual(r.out, "tank/x\ntank/x/y\n")
    }

    func testHeldSnapshotCannotBeDestroyed() {
        h.ok("zfs hold keep tank/src@a && zfs hold other tank/src@a")
        XCTAssertEqual(h.sh("zfs get -H -o value userrefs tank/src@a").out, "2\n")
        var r = h.sh("zfs destroy tank/src@a")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot destroy snapshot tank/src@a: dataset is busy\n")
        r = h.sh("zfs destroy tank/src@a", env: ["ZFAKE_ZFS_VERSION": "2.3.3"])
        XCTAssertEqual(r.err, "cannot destroy snapshot tank/src@a: it's being held. Run 'zfs holds -r tank/src@a' to see holders.\n")
        r = h.sh("zfs hold keep tank/src@a")
        XCTAssertEqual(r.err, "cannot hold snapshot 'tank/src@a': tag already exists on this dataset\n")
        r = h.sh("zfs release nope tank/src@a")
        XCTAssertEqual(r.err, "cannot release hold from snapshot 'tank/src@a': no such tag on this dataset\n")
        r = h.sh("zfs holds -H tank/src@a")
        XCTAssertEqual(r.out.split(separator: "\n").map { $0.split(separator: "\t").prefix(2).joined(separator: " ") }, ["tank/src@a keep", "tank/src@a other"])
        r = h.sh("zfs destroy -d tank/src@a && zfs get -H -o value defer_destroy tank/src@a && zfs release keep tank/src@a && zfs release other tank/src@a && zfs list tank/src@a")
        XCTAssertEqual(r.out, "on\n")
        XCTAssertEqual(r.err, "cannot open 'tank/src@a': dataset does not exist\n", "released last hold destroys a deferred snapshot")
        r = h.sh("zfs hold .x tank/src@b")
        XCTAssertEqual(r.code, 2)
    }

    func testDestroyRangesAndLists() {
        h.ok("for s in c d e f; do zfs snapshot tank/src@$s; done")
        var r = h.sh("zfs destroy -nv tank/src@b%d,f")
        XCTAssertEqual(r.out, "would destroy tank/src@b\nwould destroy tank/src@c\nwould destroy tank/src@d\nwould destroy tank/src@f\nwould reclaim 0B\n")
        r = h.sh("zfs destroy tank/src@b%d,f,nothere && zfs list -H -o name -t snapshot tank/src")
        XCTAssertEqual(r.out, "tank/src@a\ntank/src@e\n")
        r = h.sh("zfs destroy tank/src@zz")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "could not find any snapshots to destroy; check snapshot names.\n")
        r = h.sh("zfs destroy tank/src")
        XCTAssertEqual(r.err, "cannot destroy 'tank/src': filesystem has children\nuse '-r' to destroy the following datasets:\ntank/src@a\ntank/src@e\n")
        h.ok("zfs destroy -r tank/src")
        XCTAssertEqual(h.sh("zfs list tank/src").code, 1)
    }

    func testZpoolVersionAndFeatures() {
        h.ok("zfake-ctl --host old create-pool old --legacy")
        var r = h.sh("zpool get -H -o value version tank")
        XCTAssertEqual(r.out, "-\n")
        r = h.sh("zpool get -H -o value feature@extensible_dataset tank")
        XCTAssertEqual(r.out, "active\n")
        r = h.sh("zpool get -H -o value feature@no_such_feature tank")
        XCTAssertEqual(r.code, 0)
        XCTAssertEqual(r.out, "")
        r = h.sh("zpool get version nopool")
        XCTAssertEqual(r.err, "Cannot get properties of nopool: no such pool available.\n")
        r = h.sh("zpool get version nopool", env: ["ZFAKE_ZFS_VERSION": "2.1.5"])
        XCTAssertEqual(r.err, "cannot open 'nopool': no such pool\n")
        r = h.sh("zpool get version old", env: ["ZFAKE_HOST": "old"])
        XCTAssertEqual(r.out.split(separator: "\n").last.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }, ["old", "version", "23", "default"])
        r = h.sh("zfs version", env: ["ZFAKE_HOST": "old"])
        XCTAssertEqual(r.code, 2, "a host with a legacy pool runs zfs-fuse")
    }

    func testLegacyModeRejections() {
        h.ok("zfake-ctl legacy on")
        let cases: [(String, String)] = [
            ("zfs send -n tank/src@a", "invalid option 'n'\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"),
            ("zfs receive -s backup/x", "invalid option 's'\nusage:\n\treceive [-vnF] <filesystem|volume|snapshot>\n\treceive [-vnF] -d <filesystem>\n"),
            ("zfs list -p", "invalid option 'p'\nusage:\n\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"),
            ("zfs get -t snapshot all", "invalid option 't'\nusage:\n"),
            ("zfs destroy -n tank/src@a", "invalid option 'n'\nusage:\n\tdestroy [-rRf] <filesystem|volume>\n\tdestroy [-rRd] <snapshot>\n"),
            ("zfs version", "unrecognized command 'version'\nusage: zfs command args ...\n"),
            ("zfs bookmark tank/src@a tank/src#a", "unrecognized command 'bookmark'\n"),
            ("zpool get -H version tank", "bad property list: invalid property '-H'\nusage:\n"),
        ]
        for (command, prefix) in cases {
            let r = h.sh(command)
            XCTAssertEqual(r.code, 2, command)
            XCTAssertTrue(r.err.hasPrefix(prefix), "\(command): \(r.err.prefix(300))")
        }
        var r = h.sh("zfs holds tank/src@a")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.out, "internal error: /usr/lib/zfs/pyzfs.py not found\n")
        r = h.sh("zfs get -H -o value guid tank/src@a")
        XCTAssertNotNil(r.out.range(of: #"^[0-9.]+[KMGTPE]\n$"#, options: .regularExpression), "guids are humanized: \(r.out)")
        r = h.sh("zpool get version tank")
        XCTAssertTrue(r.out.contains(" 23 "), r.out)
        r = h.sh("zfs hold zb tank/src@a && zfs destroy tank/src@a")
        XCTAssertEqual(r.err, "cannot destroy 'tank/src@a': dataset is busy\n")
        r = h.sh("zfs send tank/src@a > \(h.world)/s && head -c 1000 \(h.world)/s | zfs receive backup/t")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: invalid backup stream\n")
        r = h.sh("zfs send tank/src@a | zfs receive backup")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: destination 'backup' exists\nmust specify -F to overwrite it\n"
            + "warning: cannot send 'tank/src@a': Broken pipe\n", "a legacy sender reports the broken pipe")
        r = h.sh("zfs send -v tank/src@a | zfs receive -v backup/t")
        XCTAssertEqual(r.code, 0)
        XCTAssertTrue(r.out.hasSuffix(" seconds (" + r.out.split(separator: "(").last!), r.out)
        XCTAssertNotNil(r.out.range(of: #"received [0-9.]+[KMG]?B? stream in [0-9]+ seconds"#, options: .regularExpression), r.out)
    }

    func testLegacySurvivesWithoutEnvironment() throws {
        h.ok("zfake-ctl --host old create-pool p --legacy")
        let state = try h.dump(host: "old")
        XCTAssertEqual(state["legacy"] as? Bool, true, "recorded in the host's state file, not only the environment")
        let r = h.sh("env -u ZFAKE_ZFS_LEGACY ZFAKE_HOST=old zfs version")
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(h.sh("zfs version").out, "zfs-2.2.7-1\nzfs-kmod-2.2.7-1\n", "other hosts stay modern")
    }

    func testEstimatesAndProgressLines() {
        // A single send (-i, or full without -R) goes through zfs_send_one: the source in full.
        var r = h.sh("zfs send -nvP -i @a tank/src@b")
        XCTAssertEqual(r.out, "incremental\ttank/src@a\ttank/src@b\t1048576\nsize\t1048576\n")
        r = h.sh("zfs send -nvP -I @a tank/src@b")
        XCTAssertEqual(r.out, "incremental\ta\ttank/src@b\t1048576\nsize\t1048576\n")
        r = h.sh("zfs send -nv -I @a tank/src@b")
        XCTAssertEqual(r.out, "send from @a to tank/src@b estimated size is 1M\ntotal estimated size is 1M\n")
        r = h.sh("zfs send -nv tank/src@a")
        XCTAssertEqual(r.out, "full send of tank/src@a estimated size is 3M\ntotal estimated size is 3M\n")
        r = h.sh("zfs send -nv -i @a tank/src@b")
        XCTAssertEqual(r.out, "send from tank/src@a to tank/src@b estimated size is 1M\ntotal estimated size is 1M\n")
        r = h.sh("zfs send -nvP tank/src@a", env: ["ZFAKE_FAULTS": #"{"tool":"zfs","effect":"estimate-factor","factor":"2"}"#])
        XCTAssertEqual(r.out, "full\ttank/src@a\t6291456\nsize\t6291456\n")
        // About 2.5 seconds of streaming: at least two progress lines.
        let slow = #"{"tool":"zfs","sub":"send","effect":"send-rate","bytes_per_second":"1300000"}"#
        r = h.sh("zfs send -v tank/src@a > /dev/null", env: ["ZFAKE_FAULTS": slow])
        XCTAssertEqual(r.code, 0, r.err)
        var lines = r.err.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(3)), ["full send of tank/src@a estimated size is 3M", "total estimated size is 3M",
                                                "TIME        SENT   SNAPSHOT tank/src@a"])
        let progress = lines.dropFirst(3)
        XCTAssertGreaterThanOrEqual(progress.count, 1, r.err)
        for line in progress {
            XCTAssertNotNil(line.range(of: #"^[0-9]{2}:[0-9]{2}:[0-9]{2}   [ 0-9.KMG]{5}   tank/src@a$"#, options: .regularExpression), line)
        }
        r = h.sh("zfs send -vP tank/src@a > /dev/null", env: ["ZFAKE_FAULTS": slow])
        lines = r.err.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(2)), ["full\ttank/src@a\t3145728", "size\t3145728"])
        XCTAssertGreaterThanOrEqual(lines.count, 3)
        for line in lines.dropFirst(2) {
            XCTAssertNotNil(line.range(of: #"^[0-9]{2}:[0-9]{2}:[0-9]{2}\t[0-9]+\ttank/src@a$"#, options: .regularExpression), line)
        }
    }

    func testSendRefusesTerminal() throws {
        guard FileManager.default.fileExists(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) not installed") }
        let r = h.sh("script -qec 'zfs send tank/src@a' /dev/null")
        XCTAssertTrue(r.out.contains("Error: Stream can not be written to a terminal.\r\nYou must redirect standard output."), r.out)
    }

    func testCallLogRecordsEveryInvocation() {
        _ = h.sh("zfs list -H -o name tank; zfs destroy tank/nothing; zpool get version tank")
        let calls = h.calls()
        let zfsCalls = calls.filter { ($0["tool"] as? String) == "zfs" || ($0["tool"] as? String) == "zpool" }
        let last3 = zfsCalls.suffix(3)
        XCTAssertEqual(last3.map { $0["argv"] as? [String] ?? [] }, [["list", "-H", "-o", "name", "tank"], ["destroy", "tank/nothing"], ["get", "version", "tank"]])
        XCTAssertEqual(last3.map { $0["exit"] as? Int ?? -1 }, [0, 1, 0])
        XCTAssertTrue(last3.allSatisfy { ($0["duration"] as? Double).map { $0 >= 0 } ?? false })
    }

    func testFailOnceAndNth() {
        h.ok(#"zfake-ctl fault-add '{"tool":"zfs","sub":"snapshot","match":"*tank/src@*","effect":"fail","message":"cannot create snapshot: out of space","exit":"1","when":"once"}'"#)
        var r = h.sh("zfs snapshot tank/src@f1")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot create snapshot: out of space\n")
        XCTAssertEqual(h.sh("zfs list tank/src@f1").code, 1, "a failed call changes nothing")
        r = h.sh("zfs snapshot tank/src@f1")
        XCTAssertEqual(r.code, 0, "once: the second call succeeds")
        h.ok(#"zfake-ctl fault-clear && zfake-ctl fault-add '{"tool":"zfs","sub":"list","effect":"fail","message":"boom","exit":"7","when":"nth","nth":"2"}'"#)
        XCTAssertEqual(h.sh("zfs list tank").code, 0)
        XCTAssertEqual(h.sh("zfs list tank").code, 7)
        XCTAssertEqual(h.sh("zfs list tank").code, 0)
    }

    func testSendFaults() throws {
        func faulted(_ rule: String, _ script: String) -> Ran { h.sh(script, env: ["ZFAKE_FAULTS": rule]) }
        var r = faulted(#"{"tool":"zfs","sub":"send","effect":"send-fail-after","bytes":"100000"}"#, "zfs send tank/src@a | wc -c")
        XCTAssertEqual(r.err, "warning: cannot send 'tank/src@a': Input/output error\n")
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "100000")
        r = faulted(#"{"tool":"zfs","sub":"send","effect":"send-kill-after","bytes":"5000"}"#, "zfs send tank/src@a > /dev/null; echo $?")
        XCTAssertEqual(r.out, "137\n")
        r = faulted(#"{"tool":"zfs","sub":"send","effect":"send-truncate-at","bytes":"5000"}"#, "zfs send tank/src@a | zfs receive backup/t; echo $?")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: incomplete stream\n")
        r = faulted(#"{"tool":"zfs","sub":"send","effect":"send-corrupt-at","bytes":"700000"}"#, "zfs send tank/src@a | zfs receive backup/t")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: checksum mismatch\n")
        r = h.sh("sh -c 'zfs send tank/src@a; echo rc=$? >&2' | head -c 10 > /dev/null")
        XCTAssertEqual(r.err, "rc=141\n", "dies of SIGPIPE by default")
        r = faulted(#"{"tool":"zfs","sub":"send","effect":"sigpipe","mode":"message"}"#, "sh -c 'zfs send tank/src@a; echo rc=$? >&2' | head -c 10 > /dev/null")
        XCTAssertEqual(r.err, "warning: cannot send 'tank/src@a': Broken pipe\nrc=1\n")
    }

    func testReceiveFaults() {
        func faulted(_ rule: String, _ script: String) -> Ran { h.sh(script, env: ["ZFAKE_FAULTS": rule]) }
        var r = faulted(#"{"tool":"zfs","sub":"receive","effect":"recv-fail-after","bytes":"1000000"}"#, "zfs send tank/src@a | zfs receive -s backup/t")
        XCTAssertTrue(r.err.hasPrefix("cannot receive new filesystem stream: checksum mismatch or incomplete stream.\n"), r.err)
        XCTAssertNotEqual(h.sh("zfs get -H -o value receive_resume_token backup/t").out, "-\n")
        r = faulted(#"{"tool":"zfs","sub":"receive","effect":"recv-enospc-after","bytes":"1000000"}"#, "zfs send tank/src@a | zfs receive backup/u")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: out of space\n")
        r = faulted(#"{"tool":"zfs","sub":"receive","effect":"recv-fail","at":"end","message":"cannot receive: late failure","exit":"1"}"#,
                    "zfs send tank/src@a | zfs receive backup/v")
        XCTAssertEqual(r.err, "cannot receive: late failure\n")
        r = faulted(#"{"tool":"zfs","sub":"receive","effect":"recv-fail","at":"start","message":"cannot receive: early","exit":"1"}"#,
                    "zfs send tank/src@a | zfs receive backup/w; zfs list backup/w")
        XCTAssertTrue(r.err.hasPrefix("cannot receive: early\n"), r.err)
        XCTAssertTrue(r.err.contains("cannot open 'backup/w': dataset does not exist"))
    }

    /// Links named after the tools start zfake as that tool with no shell shim, and ssh through such a
    /// link finds the linked zfs for the remote side: the same answers as through the shims.
    func testLinksNamedAfterTheToolsWorkLikeTheShims() throws {
        let links = h.world + "/links"
        try FileManager.default.createDirectory(atPath: links, withIntermediateDirectories: true)
        for tool in ["zfs", "zpool", "ssh", "zfake-ctl"] {
            try FileManager.default.createSymbolicLink(atPath: links + "/" + tool, withDestinationPath: h.zfake)
        }
        func script(_ pool: String) -> String {
            "zfake-ctl --host src create-pool \(pool) && zfs list -H -o name tank/src"
                + " && ssh src zfs list -H -o name \(pool) && zpool get -H -o value version tank"
        }
        let throughShims = h.sh(script("far1"))
        XCTAssertEqual(throughShims.code, 0, throughShims.err)
        let throughLinks = h.sh(script("far2"), env: ["PATH": links + ":/usr/bin:/bin", "ZFAKE_BIN": ""])
        XCTAssertEqual(throughLinks.code, 0, throughLinks.err)
        XCTAssertEqual(throughShims.out, "tank/src\nfar1\n-\n")
        XCTAssertEqual(throughLinks.out, "tank/src\nfar2\n-\n")
    }
}
