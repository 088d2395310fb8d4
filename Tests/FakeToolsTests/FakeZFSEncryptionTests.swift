import Foundation
import XCTest

/// Native encryption in the fake (reference §A11–A13): create and key commands with their messages and
/// exit codes, the properties `get all` shows, sends that need the key or refuse properties, raw sends
/// and receives (full, incremental, `-R`, resumed) and the receive's refusals.
final class FakeZFSEncryptionTests: FakeWorldTestCase {
    /// `tank/secret` (passphrase `secret12`) with `@a` (2 MiB) and `@b` (+1 MiB), and an inheriting child.
    func encryptedSetup() {
        h.ok("echo secret12 | zfs create -o encryption=on -o keyformat=passphrase tank/secret && zfs create tank/secret/kid"
            + " && zfake-ctl write tank/secret 2M && zfs snapshot -r tank/secret@a && zfake-ctl write tank/secret 1M && zfs snapshot -r tank/secret@b")
    }

    func unloadSecret() { h.ok("zfs unmount tank/secret && zfs unload-key tank/secret") }

    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    func testCreateMessagesAndExitCodes() throws {
        let cases: [(String, String)] = [
            ("zfs create -o encryption=on tank/x", "Keyformat required for new encryption root."),
            ("zfs create -o keylocation=prompt tank/x", "Encryption must be turned on to set encryption properties."),
            ("zfs create -o encryption=on -o keylocation=prompt tank/x", "Keyformat required for new encryption root."),
            ("zfs create -o keyformat=passphrase tank/x", "Encryption must be turned on to set encryption properties."),
            ("echo short | zfs create -o encryption=on -o keyformat=passphrase tank/x", "Passphrase too short (min 8)."),
            ("zfs create -o encryption=on -o keyformat=passphrase -o pbkdf2iters=1000 tank/x", "minimum pbkdf2 iterations is 100000"),
            ("zfs create -o encryption=on -o keyformat=raw -o keylocation=file://\(h.world)/short tank/x", "Raw key too short (expected 32)."),
            ("zfs create -o encryption=on -o keyformat=hex -o keylocation=file://\(h.world)/nokey tank/x",
             "Failed to open key material file: No such file or directory"),
            ("zfs create -o encryption=on -o keyformat=raw -o keylocation=file://\(h.world)/raw32 -o pbkdf2iters=200000 tank/x",
             "Cannot specify pbkdf2iters with a non-passphrase keyformat."),
            ("zfs create -o encryption=on -o keyformat=passphrase -o keylocation=nowhere tank/x", "invalid keylocation"),
        ]
        try Data(repeating: 0x41, count: 10).write(to: URL(fileURLWithPath: h.world + "/short"))
        try Data(repeating: 0x42, count: 32).write(to: URL(fileURLWithPath: h.world + "/raw32"))
        for (command, reason) in cases {
            let r = h.sh(command)
            XCTAssertEqual(r.code, 1, command)
            XCTAssertEqual(r.err, "cannot create 'tank/x': \(reason)\n", command)
        }
        XCTAssertEqual(h.sh("zfs list tank/x").code, 1, "nothing was created")
        encryptedSetup()
        var r = h.sh("zfs get -H -o value encryption,keystatus,mounted,encryptionroot tank/secret tank/secret/kid")
        XCTAssertEqual(lines(r.out), ["aes-256-gcm", "available", "yes", "tank/secret", "aes-256-gcm", "available", "yes", "tank/secret"])
        r = h.sh("zfs create -o encryption=on -o keyformat=raw -o keylocation=file://\(h.world)/raw32 tank/rawkey"
            + " && zfs create -o encryption=aes-128-ccm tank/secret/suite && zfs create -o encryption=off tank/secret/plain"
            + " && zfs get -H -o value encryption,keyformat,pbkdf2iters,encryptionroot tank/rawkey tank/secret/suite"
            + " && zfs get -H -o value encryption tank/secret/plain")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(lines(r.out), ["aes-256-gcm", "raw", "0", "tank/rawkey",
                                      "aes-128-ccm", "passphrase", "350000", "tank/secret", "off"],
                       "a suite alone keeps the parent's key; encryption=off under an encrypted parent is accepted")
        unloadSecret()
        r = h.sh("zfs create tank/secret/late")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot create 'tank/secret/late': encryption root's key is not loaded or provided\n")
        r = h.sh("zfs set encryption=off tank/secret")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "cannot set property for 'tank/secret': 'encryption' is readonly\n")
        r = h.sh("zfs set keylocation=file:///k tank/src")
        XCTAssertEqual(r.err, "cannot set property for 'tank/src': keylocation must be 'none' for unencrypted datasets\n")
        r = h.sh("zfs set keylocation=file:///k tank/secret/kid")
        XCTAssertEqual(r.err, "cannot set property for 'tank/secret/kid': keylocation may only be set on encryption roots\n")
        r = h.sh("zfs inherit keylocation tank/secret")
        XCTAssertEqual(r.err, "'keylocation' property cannot be inherited\n")
    }

    func testGetAllRowsForEncryptedAndUnencryptedDatasets() {
        encryptedSetup()
        let crypto = Set(["encryption", "keylocation", "keyformat", "pbkdf2iters", "encryptionroot", "keystatus"])
        func rows(_ dataset: String, _ flags: String = "-H") -> [String] {
            lines(h.sh("zfs get \(flags) -o property,value,source all \(dataset)").out)
                .filter { crypto.contains(String($0.split(separator: "\t").first ?? "")) }
        }
        XCTAssertEqual(rows("tank/src"), ["encryption\toff\tdefault", "keylocation\tnone\tdefault", "keyformat\tnone\tdefault",
                                          "pbkdf2iters\t0\tdefault"], "unencrypted: no encryptionroot or keystatus rows")
        XCTAssertEqual(rows("tank/secret"), ["encryption\taes-256-gcm\t-", "keylocation\tprompt\tlocal", "keyformat\tpassphrase\t-",
                                             "pbkdf2iters\t350000\t-", "encryptionroot\ttank/secret\t-", "keystatus\tavailable\t-"])
        XCTAssertEqual(rows("tank/secret", "-Hp"), rows("tank/secret"), "-p changes none of them")
        XCTAssertEqual(rows("tank/secret/kid"), ["encryption\taes-256-gcm\t-", "keylocation\tnone\tdefault", "keyformat\tpassphrase\t-",
                                                 "pbkdf2iters\t350000\t-", "encryptionroot\ttank/secret\t-", "keystatus\tavailable\t-"])
        XCTAssertEqual(rows("tank/secret@a"), ["encryption\taes-256-gcm\t-", "encryptionroot\ttank/secret\t-", "keystatus\tavailable\t-"])
        XCTAssertEqual(rows("tank/src@a"), ["encryption\toff\tdefault"])
        let named = h.sh("zfs get -H -o value,source encryptionroot,keystatus,keyformat tank/src tank/src@a")
        XCTAssertEqual(lines(named.out), ["-\t-", "-\t-", "none\tdefault", "-\t-", "-\t-", "-\t-"])
        unloadSecret()
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus tank/secret tank/secret/kid tank/secret@a").out, "unavailable\nunavailable\nunavailable\n")
        XCTAssertEqual(h.sh("zfs list -H -o name,encryptionroot,keystatus tank/secret").out, "tank/secret\ttank/secret\tunavailable\n")
    }

    func testLoadUnloadAndChangeKey() throws {
        encryptedSetup()
        func expect(_ command: String, _ code: Int32, _ err: String, out: String = "", stdin: String? = nil, line: UInt = #line) {
            let r = h.sh(command, stdin: stdin)
            XCTAssertEqual(r.code, code, command, line: line)
            XCTAssertEqual(r.err, err, command, line: line)
            XCTAssertEqual(r.out, out, command, line: line)
        }
        expect("zfs load-key tank/src", 255, "Key load error: 'tank/src' is not encrypted.\n")
        expect("zfs load-key tank/secret/kid", 255, "Key load error: Keys must be loaded for encryption root of 'tank/secret/kid' (tank/secret).\n")
        expect("zfs load-key tank/secret", 255, "Key load error: Key already loaded for 'tank/secret'.\n")
        expect("zfs unload-key tank/secret", 255, "Key unload error: 'tank/secret' is busy.\n")
        expect("zfs unload-key tank/secret/kid", 255, "Key unload error: Keys must be unloaded for encryption root of 'tank/secret/kid' (tank/secret).\n")
        expect("zfs load-key tank/nothere", 1, "cannot open 'tank/nothere': dataset does not exist\n")
        expect("zfs load-key", 2, "Missing dataset argument or -a option\nusage:\n\tload-key [-rn] [-L <keylocation>] <-a | filesystem|volume>\n"
            + usageTrailer)
        expect("zfs unload-key -n tank/secret", 2, "invalid option 'n'\nusage:\n\tunload-key [-r] <-a | filesystem|volume>\n" + usageTrailer)
        unloadSecret()
        XCTAssertEqual(h.sh("zfs get -H -o value mounted tank/secret tank/secret/kid").out, "no\nno\n", "unmounting the root unmounts the child")
        expect("zfs unload-key tank/secret", 255, "Key unload error: Key already unloaded for 'tank/secret'.\n")
        expect("zfs load-key tank/secret", 255, "Key load error: Incorrect key provided for 'tank/secret'.\n", stdin: "wrongpass\n")
        expect("zfs load-key -n tank/secret", 0, "", out: "1 / 1 key(s) successfully verified\n", stdin: "secret12\n")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus tank/secret").out, "unavailable\n", "-n only verifies")
        expect("zfs change-key -o keyformat=passphrase tank/secret", 255, "Key change error: Key must be loaded.\n", stdin: "another12\n")
        expect("zfs mount tank/secret", 1, "cannot mount 'tank/secret': encryption key not loaded\n")
        expect("zfs load-key -a", 0, "", out: "1 / 1 key(s) successfully loaded\n", stdin: "secret12\n")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus,mounted tank/secret/kid").out, "available\nno\n", "loading a key mounts nothing")
        expect("zfs load-key -r tank", 0, "", out: "", stdin: "")
        // A new hex key from a file, then the old passphrase no longer opens it.
        let hexKey = String(repeating: "ab", count: 32)
        try (hexKey + "\n").write(toFile: h.world + "/hex", atomically: true, encoding: .utf8)
        h.ok("zfs change-key -o keyformat=hex -o keylocation=file://\(h.world)/hex tank/secret")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value keyformat,keylocation,pbkdf2iters tank/secret").out),
                       ["hex", "file://\(h.world)/hex", "0"])
        h.ok("zfs unload-key tank/secret")
        expect("zfs load-key -L prompt tank/secret", 255, "Key load error: Hex key too short (expected 64).\n", stdin: "secret12\n")
        h.ok("zfs load-key tank/secret")
        // The child becomes a root of its own, then inherits again.
        expect("zfs change-key -i tank/secret/kid", 255, "Key change error: Key inheritting can only be performed on encryption roots.\n")
        h.ok("echo kidpass12 | zfs change-key -o keyformat=passphrase tank/secret/kid")
        XCTAssertEqual(h.sh("zfs get -H -o value encryptionroot,keylocation tank/secret/kid").out, "tank/secret/kid\nprompt\n")
        h.ok("zfs change-key -i tank/secret/kid")
        XCTAssertEqual(h.sh("zfs get -H -o value encryptionroot,keylocation tank/secret/kid").out, "tank/secret\nnone\n")
        expect("zfs change-key -o compression=on tank/secret", 255, "Key change error: Only keyformat, keylocation and pbkdf2iters may be set with this command.\n")
        expect("zfs change-key -i -o keyformat=hex tank/secret", 2, "Properties not allowed for inheriting\nusage:\n"
            + "\tchange-key [-l] [-o keyformat=<value>]\n\t    [-o keylocation=<value>] [-o pbkdf2iters=<value>]\n"
            + "\t    <filesystem|volume>\n\tchange-key -i [-l] <filesystem|volume>\n" + usageTrailer)
        // unmount -u unmounts and unloads.
        h.ok("zfs mount tank/secret && zfs unmount -u tank/secret")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus,mounted tank/secret").out, "unavailable\nno\n")
        h.ok("zfs mount -l tank/secret")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus,mounted tank/secret").out, "available\nyes\n", "mount -l loads the key from its location")
    }

    func testSendOfEncryptedDatasetWithoutRaw() {
        encryptedSetup()
        var r = h.sh("zfs send -p tank/secret@a > /dev/null")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot send tank/secret@a: encrypted dataset tank/secret may not be sent with properties without the raw flag\n"
            + "warning: cannot send 'tank/secret@a': backup failed\n")
        h.ok("zfs snapshot -r tank@top")
        r = h.sh("zfs send -R tank@top > /dev/null")
        XCTAssertEqual(r.err, "cannot send tank@top: encrypted dataset tank/secret may not be sent with properties without the raw flag\n"
            + "warning: cannot send 'tank@top': backup failed\n")
        XCTAssertEqual(h.sh("zfs send tank/secret@a | zfs receive backup/plain && zfs get -H -o value encryption backup/plain").out, "off\n",
                       "with the key loaded a plain send decrypts")
        unloadSecret()
        r = h.sh("zfs send tank/secret@a > /dev/null")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "warning: cannot send 'tank/secret@a': dataset key must be loaded\n")
        r = h.sh("zfs send -i @a tank/secret@b > /dev/null")
        XCTAssertEqual(r.err, "warning: cannot send 'tank/secret@b': dataset key must be loaded\n")
        r = h.sh("zfs send -I @a tank/secret@b > /dev/null")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "warning: cannot send 'tank/secret@b': source key must be loaded\n")
        r = h.sh("zfs send -nvP tank/secret@a")
        XCTAssertEqual(r.code, 0, "an estimate needs no key")
        XCTAssertEqual(r.out, "full\ttank/secret@a\t2097152\nsize\t2097152\n")
        XCTAssertEqual(h.sh("zfs send -w tank/secret@a | wc -c").code, 0, "a raw send needs no key")
    }

    func testRawFullAndIncrementalRoundTrip() throws {
        encryptedSetup()
        unloadSecret()
        var r = h.sh("zfs send -w tank/secret@a | zfs receive backup/secret && zfs send -w -i @a tank/secret@b | zfs receive backup/secret")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.err, "")
        r = h.sh("zfs get -H -o property,value,source encryption,keylocation,keyformat,pbkdf2iters,encryptionroot,keystatus,mounted backup/secret")
        XCTAssertEqual(lines(r.out), ["encryption\taes-256-gcm\t-", "keylocation\tprompt\tlocal", "keyformat\tpassphrase\t-",
                                      "pbkdf2iters\t350000\t-", "encryptionroot\tbackup/secret\t-", "keystatus\tunavailable\t-",
                                      "mounted\tno\t-"])
        let guids = lines(h.sh("zfs get -H -o value guid tank/secret@a tank/secret@b backup/secret@a backup/secret@b").out)
        XCTAssertEqual(guids.count, 4)
        XCTAssertEqual(Array(guids[0..<2]), Array(guids[2..<4]), "the same snapshots")
        r = h.sh("zfs load-key backup/secret", stdin: "otherpass\n")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "Key load error: Incorrect key provided for 'backup/secret'.\n")
        h.ok("echo secret12 | zfs load-key backup/secret")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus,mounted backup/secret").out, "available\nno\n")
        // A raw stream of a child carries its root's key: it becomes a root opened by that passphrase.
        h.ok("zfs send -w tank/secret/kid@a | zfs receive backup/kid && echo secret12 | zfs load-key backup/kid")
        XCTAssertEqual(h.sh("zfs get -H -o value encryptionroot,keystatus backup/kid").out, "backup/kid\navailable\n")
        // The state shows it as well.
        let state = try h.dump(host: "localhost")
        let datasets = try XCTUnwrap(state["datasets"] as? [String: [String: Any]])
        XCTAssertEqual(datasets["backup/secret"]?["keystatus"] as? String, "available")
        XCTAssertEqual(datasets["backup/secret"]?["mounted"] as? Bool, false)
    }

    func testRawReplicationStreamRebuildsEncryptionRoots() {
        encryptedSetup()
        h.ok("echo ownpass12 | zfs create -o encryption=on -o keyformat=passphrase -o keylocation=prompt tank/secret/own"
            + " && zfs snapshot -r tank/secret@r1")
        var r = h.sh("zfs send -R -w tank/secret@r1 | zfs receive backup/tree")
        XCTAssertEqual(r.code, 0, r.err)
        r = h.sh("zfs get -H -o name,value encryptionroot,keystatus -r -t filesystem backup/tree")
        XCTAssertEqual(lines(r.out), ["backup/tree\tbackup/tree", "backup/tree\tunavailable",
                                      "backup/tree/kid\tbackup/tree", "backup/tree/kid\tunavailable",
                                      "backup/tree/own\tbackup/tree/own", "backup/tree/own\tunavailable"])
        r = h.sh("zfs get -H -o name,value,source keylocation -r -t filesystem backup/tree")
        XCTAssertEqual(lines(r.out), ["backup/tree\tprompt\tlocal", "backup/tree/kid\tnone\tdefault", "backup/tree/own\tprompt\tlocal"])
        r = h.sh("zfs load-key -r backup/tree", stdin: "secret12\nownpass12\n")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "2 / 2 key(s) successfully loaded\n")
        XCTAssertEqual(h.sh("zfs get -H -o value keystatus -r -t filesystem backup/tree").out, "available\navailable\navailable\n")
        XCTAssertEqual(h.sh("zfs get -H -o value mounted -r -t filesystem backup/tree").out, "no\nno\nno\n", "a raw receive mounts nothing")
        // An incremental raw package needs no key either.
        h.ok("zfs unload-key -r backup/tree && zfake-ctl write tank/secret/own 1M && zfs snapshot -r tank/secret@r2")
        r = h.sh("zfs send -R -w -I @r1 tank/secret@r2 | zfs receive backup/tree && zfs list -H -o name -t snapshot -r backup/tree/own")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/tree/own@r1\nbackup/tree/own@r2\n")
    }

    func testRawResumeAfterACutStream() {
        encryptedSetup()
        unloadSecret()
        var r = h.sh("zfs send -w tank/secret@a | head -c 1200000 | zfs receive -s backup/cut")
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.hasPrefix("cannot receive new filesystem stream: checksum mismatch or incomplete stream.\n"), r.err)
        let token = h.sh("zfs get -H -o value receive_resume_token backup/cut").out.trimmingCharacters(in: .whitespacesAndNewlines)
        r = h.sh("zfs send -nv -t \(token)")
        XCTAssertEqual(r.code, 0, r.err)
        let contents = lines(r.out)
        XCTAssertEqual(Array(contents.suffix(5).prefix(3)), ["\tlargeblockok", "\tcompressok", "\trawok"])
        XCTAssertFalse(r.out.contains("embedok"), "no embedded data from encrypted data")
        XCTAssertTrue(r.out.contains("\ttoname = tank/secret@a\n"))
        r = h.sh("zfs send -t \(token) | zfs receive -s backup/cut")
        XCTAssertEqual(r.code, 0, "a raw resume needs no key: \(r.err)")
        XCTAssertEqual(h.sh("zfs get -H -o value receive_resume_token,encryptionroot,keystatus,mounted backup/cut").out,
                       "-\nbackup/cut\nunavailable\nno\n")
        XCTAssertEqual(h.sh("zfs get -H -o value guid tank/secret@a").out, h.sh("zfs get -H -o value guid backup/cut@a").out)
        // A plain resumable stream cut short: its token has no raw flag and its resume needs the key.
        h.ok("echo secret12 | zfs load-key tank/secret")
        _ = h.sh("zfs send tank/secret@a | head -c 1200000 | zfs receive -s backup/plaincut")
        let plain = h.sh("zfs get -H -o value receive_resume_token backup/plaincut").out.trimmingCharacters(in: .whitespacesAndNewlines)
        r = h.sh("zfs send -nv -t \(plain)")
        XCTAssertFalse(r.out.contains("ok\n"), r.out)
        h.ok("zfs unload-key tank/secret")
        r = h.sh("zfs send -t \(plain) > /dev/null")
        XCTAssertEqual(r.code, 255)
        XCTAssertEqual(r.err, "warning: cannot send 'tank/secret@a': source key must be loaded\n")
    }

    func testRawReceiveRefusalsAndWhatItAccepts() throws {
        encryptedSetup()
        let stream = h.world + "/raw.zstream"
        let incremental = h.world + "/rawinc.zstream"
        h.ok("zfs send -w tank/secret@a > \(stream) && zfs send -w -i @a tank/secret@b > \(incremental)")
        var r = h.sh("zfs receive -o keyformat=hex backup/r < \(stream)")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: encryption property 'keyformat' cannot be set or excluded for raw streams.\n")
        r = h.sh("zfs receive -x encryption backup/r < \(stream)")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: encryption property 'encryption' cannot be set or excluded for raw streams.\n")
        r = h.sh("zfs receive -o pbkdf2iters=200000 backup/r < \(stream)")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: encryption property 'pbkdf2iters' cannot be set or excluded for raw streams.\n")
        XCTAssertEqual(h.sh("zfs list backup/r").code, 1)
        r = h.sh("zfs receive -o keylocation=file://\(h.world)/key backup/r < \(stream) && zfs get -H -o value,source keylocation backup/r")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "file://\(h.world)/key\tlocal\n", "-o keylocation is allowed")
        try "secret12\n".write(toFile: h.world + "/key", atomically: true, encoding: .utf8)
        h.ok("zfs load-key backup/r")
        // Raw incremental onto an unencrypted dataset, onto another key, and -F onto existing datasets.
        h.ok("zfs send tank/secret@a | zfs receive backup/plain")
        r = h.sh("zfs receive backup/plain < \(incremental)")
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "cannot receive incremental stream: cannot perform raw receive on top of existing unencrypted dataset\n")
        h.ok("echo otherkey12 | zfs create -o encryption=on -o keyformat=passphrase backup/other"
            + " && zfs send tank/secret@a | zfs receive backup/other/copy")
        XCTAssertEqual(h.sh("zfs get -H -o value encryptionroot backup/other/copy").out, "backup/other\n", "a plain full stream inherits")
        r = h.sh("zfs receive backup/other/copy < \(incremental)")
        XCTAssertEqual(r.err, "cannot receive incremental stream: encryption key does not match existing key\n")
        h.ok("zfs create backup/empty")
        r = h.sh("zfs receive -F backup/empty < \(stream)")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: zfs receive -F cannot be used to destroy an encrypted filesystem "
            + "or overwrite an unencrypted one with an encrypted one\n")
        // A plain stream under an encrypted parent whose key is unloaded; and -o making a new root.
        h.ok("zfs unmount backup/other && zfs unload-key backup/other")
        r = h.sh("zfs send tank/src@a | zfs receive backup/other/more")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: inherited key must be loaded\n")
        r = h.sh("zfs send tank/src@a | zfs receive -o encryption=on -o keyformat=passphrase backup/prompted")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: Cannot use 'prompt' keylocation because stdin is in use.\n")
        r = h.sh("zfs send tank/src@a | zfs receive -o encryption=on -o keyformat=passphrase -o keylocation=file://\(h.world)/key backup/own"
            + " && zfs get -H -o value encryptionroot,keystatus,keylocation,mounted backup/own")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "backup/own\navailable\nfile://\(h.world)/key\nyes\n")
        // The incremental into the raw copy with a loaded key keeps working.
        r = h.sh("zfs receive backup/r < \(incremental) && zfs list -H -o name -t snapshot backup/r")
        XCTAssertEqual(r.out, "backup/r@a\nbackup/r@b\n", r.err)
    }

    func testControlCreatesEncryptedFilesystemsAndPoolFeature() throws {
        XCTAssertEqual(h.sh("zpool get -H -o value feature@encryption tank").out, "enabled\n")
        try "filepass12\n".write(toFile: h.world + "/key", atomically: true, encoding: .utf8)
        h.ok("zfake-ctl create tank/viactl --passphrase ctlpass12"
            + " && zfake-ctl create tank/viafile -o encryption=on -o keyformat=passphrase -o keylocation=file://\(h.world)/key")
        XCTAssertEqual(h.sh("zpool get -H -o value feature@encryption tank").out, "active\n")
        XCTAssertEqual(lines(h.sh("zfs get -H -o value encryptionroot,keystatus,keylocation,mounted tank/viactl tank/viafile").out),
                       ["tank/viactl", "available", "prompt", "yes", "tank/viafile", "available", "file://\(h.world)/key", "yes"])
        h.ok("zfs unmount tank/viactl && zfs unload-key tank/viactl && echo ctlpass12 | zfs load-key tank/viactl"
            + " && zfs unmount tank/viafile && zfs unload-key tank/viafile && zfs load-key tank/viafile")
        // A raw stream with properties carries the root's keylocation.
        let r0 = h.sh("zfs snapshot tank/viafile@p && zfs send -w -p tank/viafile@p | zfs receive backup/withprops"
            + " && zfs get -H -o value,source keylocation backup/withprops && zfs load-key backup/withprops")
        XCTAssertEqual(r0.out, "file://\(h.world)/key\tlocal\n", r0.err)
        // A pool without the encryption feature.
        h.ok("zfake-ctl create-pool old --version 28")
        var r = h.sh("zfs create -o encryption=on -o keyformat=passphrase old/x", stdin: "12345678\n")
        XCTAssertEqual(r.err, "cannot create 'old/x': Encryption feature not enabled.\n")
        h.ok("zfs snapshot tank/viactl@s")
        r = h.sh("zfs send -w tank/viactl@s | zfs receive old/x")
        XCTAssertEqual(r.err, "cannot receive new filesystem stream: pool must be upgraded to receive this stream.\n")
    }

    func testLegacyHostHasNoneOfIt() {
        h.ok("zfake-ctl legacy on")
        let cases: [(String, String)] = [
            ("zfs get encryption tank/src", "bad property list: invalid property 'encryption'\nusage:\n"),
            ("zfs load-key tank/src", "unrecognized command 'load-key'\nusage: zfs command args ...\n"),
            ("zfs mount", "unrecognized command 'mount'\n"),
            ("zfs send -w tank/src@a", "invalid option 'w'\nusage:\n\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"),
            ("zfs send -c tank/src@a", "invalid option 'c'\n"),
            ("zfs create -o keyformat=raw tank/x", "cannot create 'tank/x': invalid property 'keyformat'"),
        ]
        for (command, prefix) in cases {
            let r = h.sh(command)
            XCTAssertNotEqual(r.code, 0, command)
            XCTAssertTrue(r.err.hasPrefix(prefix), "\(command): \(r.err.prefix(200))")
        }
        let all = h.sh("zfs get all tank/src").out
        XCTAssertFalse(all.contains("encryption") || all.contains("keystatus"), all)
        XCTAssertEqual(h.sh("zfs get -H -o value mounted,compressratio tank/src").out, "no\n1.00x\n")
        XCTAssertEqual(h.sh("zfs get -Hp -o value compressratio tank/src").out, "1.00x\n", "zfs-fuse prints the x with -p too")
    }
}

/// The lines every modern zfs usage text ends with.
private let usageTrailer = "\nFor the property list, run: zfs set|get\n\nFor the delegated permission list, run: zfs allow|unallow\n"
    + "\nFor further help on a command or topic, run: zfs help [<topic>]\n"
