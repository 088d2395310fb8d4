import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The fake ssh's connection sharing as OpenSSH does it: ControlMaster yes/no/auto, ControlPersist
/// yes/no/N (a detached master), `-S`, `-O check|exit|stop` with OpenSSH's words, clients through a live
/// master and the direct fallback without one.
final class FakeNetSSHControlTests: XCTestCase {
    var harness: FakeNetHarness!
    var socketPath = ""

    override func setUpWithError() throws {
        harness = try FakeNetHarness()
        // Unix socket paths are short: not under the (long) world directory.
        socketPath = "/tmp/zfake-ctl-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    }

    override func tearDown() {
        if FileManager.default.fileExists(atPath: socketPath) {
            _ = try? FakeNetProcess.run(shell: "ssh -S \(socketPath) -O exit src", environment: harness.environment(), timeout: 10)
            unlink(socketPath)
        }
        harness?.cleanUp()
    }

    func ssh(_ arguments: String, timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line) throws -> FakeNetResult {
        try FakeNetProcess.run(shell: "ssh \(arguments)", environment: harness.environment(), timeout: timeout, file: file, line: line)
    }

    func sshEntries() throws -> [[String: Any]] {
        let log = (try? String(contentsOf: harness.file("calls.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["tool"] as? String == "ssh" }
    }

    /// The pid `-O check` names, or nil when no master answers.
    func masterPid() throws -> Int32? {
        let check = try ssh("-S \(socketPath) -O check src")
        guard check.status == 0 else { return nil }
        let text = check.err
        guard text.hasPrefix("Master running (pid="), let close = text.firstIndex(of: ")") else { return nil }
        return Int32(text[text.index(text.startIndex, offsetBy: 20)..<close])
    }

    /// Whether `pid` runs (a zombie nobody has reaped yet counts as ended).
    func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Polls (bounded) until `condition` holds.
    func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            usleep(20_000) // polling interval, bounded by the deadline
        } while Date() < end
        return false
    }

    func testFakeNetSSHControlCheckAndExitWithoutMaster() throws {
        let check = try ssh("-S \(socketPath) -O check src")
        XCTAssertEqual(check.status, 255)
        XCTAssertEqual(check.err, "Control socket connect(\(socketPath)): No such file or directory\r\n")
        let exit = try ssh("-o ControlPath=\(socketPath) -O exit -- src")
        XCTAssertEqual(exit.status, 255)
        XCTAssertEqual(exit.err, "Control socket connect(\(socketPath)): No such file or directory\r\n")
        let noPath = try ssh("-O check src")
        XCTAssertEqual(noPath.status, 255)
        XCTAssertEqual(noPath.err, "No ControlPath specified for \"-O\" command\r\n")
        let invalid = try ssh("-S \(socketPath) -O restart src")
        XCTAssertEqual(invalid.status, 255)
        XCTAssertEqual(invalid.err, "Invalid multiplex command.\r\n")
    }

    func testFakeNetSSHControlPersistYesDetachesAndServesClients() throws {
        let started = Date()
        let master = try ssh("-o ControlMaster=yes -o ControlPersist=yes -N -S \(socketPath) src")
        XCTAssertEqual(master.status, 0, master.err)
        XCTAssertEqual(master.err, "")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let pid = try XCTUnwrap(try masterPid())
        XCTAssertTrue(alive(pid), "the background master runs")
        let check = try ssh("-S \(socketPath) -O check src")
        XCTAssertEqual(check.err, "Master running (pid=\(pid))\r\n")

        // Clients by -S or ControlPath, ControlMaster=no or auto: through the master.
        let client = try ssh("-S \(socketPath) src 'echo $ZFAKE_HOST'")
        XCTAssertEqual(client.status, 0, client.err)
        XCTAssertEqual(client.out, "src\n")
        let auto = try ssh("-o ControlMaster=auto -o ControlPath=\(socketPath) src 'exit 3'")
        XCTAssertEqual(auto.status, 3)

        let exit = try ssh("-S \(socketPath) -O exit src")
        XCTAssertEqual(exit.status, 0)
        XCTAssertEqual(exit.err, "Exit request sent.\r\n")
        XCTAssertTrue(eventually(10) { !alive(pid) }, "the master exits on -O exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
        let gone = try ssh("-S \(socketPath) -O check src")
        XCTAssertEqual(gone.status, 255)

        let entries = try sshEntries()
        let kinds = entries.compactMap { $0["ssh"] as? String }
        XCTAssertEqual(Array(kinds.prefix(5)), ["persist", "control", "control", "mux", "mux"])
        // The master and the -O exit that ended it log in either order.
        XCTAssertEqual(kinds.dropFirst(5).sorted(), ["control", "control", "master"])
        let masterEntry = try XCTUnwrap(entries.first { $0["ssh"] as? String == "master" })
        XCTAssertEqual(masterEntry["clients"] as? Int, 2)
        XCTAssertEqual(masterEntry["pid"] as? Int, Int(pid))
    }

    func testFakeNetSSHControlPersistRunsCommandAsFirstClientAndClosesStdio() throws {
        // As syncoid starts its master: -M, a time, a command, stdout read to its end by the caller.
        let master = try ssh("-M -S \(socketPath) -o ControlPersist=1m root@src 'echo first' | cat; echo piped")
        XCTAssertEqual(master.status, 0, master.err)
        XCTAssertEqual(master.out, "first\npiped\n", "the detached master holds no stdout")
        XCTAssertNotNil(try masterPid())
        let client = try ssh("-S \(socketPath) root@src echo -n")
        XCTAssertEqual(client.status, 0, client.err)
        let exit = try ssh("-S \(socketPath) root@src -O exit")
        XCTAssertEqual(exit.err, "Exit request sent.\r\n")
        XCTAssertEqual(try sshEntries().compactMap { $0["ssh"] as? String }.prefix(3), ["mux", "control", "mux"])
    }

    func testFakeNetSSHControlPersistSecondsEndsIdleMaster() throws {
        let master = try ssh("-o ControlMaster=auto -o ControlPersist=1 -S \(socketPath) src true")
        XCTAssertEqual(master.status, 0, master.err)
        let pid = try XCTUnwrap(try masterPid())
        XCTAssertTrue(eventually(15) { !alive(pid) }, "an idle master ends after ControlPersist seconds")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
        let masterEntry = try XCTUnwrap(try sshEntries().first { $0["ssh"] as? String == "master" })
        XCTAssertEqual(masterEntry["exit"] as? Int, 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(masterEntry["duration"] as? Double), 1)
    }

    func testFakeNetSSHControlClientWithoutMasterConnectsDirectly() throws {
        let no = try ssh("-o ControlMaster=no -o ControlPath=\(socketPath) src 'echo direct'")
        XCTAssertEqual(no.status, 0, no.err)
        XCTAssertEqual(no.out, "direct\n")
        XCTAssertEqual(no.err, "")
        let plain = try ssh("-S \(socketPath) src true")
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "a ControlMaster=no client makes no socket")
        XCTAssertEqual(try sshEntries().compactMap { $0["ssh"] as? String }, ["direct", "direct"])
    }

    func testFakeNetSSHControlAutoMasterWithoutPersistRunsItsCommandAndServesMeanwhile() throws {
        let fifo = harness.file("release").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let master = try FakeNetProcess(
            shell: "ssh -o ControlMaster=auto -o ControlPath=\(socketPath) src 'read line < \(fifo); echo master $line'",
            environment: harness.environment())
        XCTAssertTrue(try eventually(10) { try masterPid() != nil }, "the master listens while its command runs")
        let client = try ssh("-o ControlMaster=auto -S \(socketPath) src 'echo client'")
        XCTAssertEqual(client.out, "client\n")
        let writer = open(fifo, O_WRONLY)
        XCTAssertGreaterThanOrEqual(writer, 0)
        _ = write(writer, "go\n", 3)
        close(writer)
        let result = master.wait(timeout: 20)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(result.out, "master go\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "a master without ControlPersist ends with its session")
        let masterEntry = try XCTUnwrap(try sshEntries().first { $0["ssh"] as? String == "master" })
        XCTAssertEqual(masterEntry["clients"] as? Int, 1)
    }

    func testFakeNetSSHControlMasterYesWithSocketTakenConnectsDirectly() throws {
        XCTAssertEqual(try ssh("-o ControlMaster=yes -o ControlPersist=yes -N -S \(socketPath) src").status, 0)
        let second = try ssh("-o ControlMaster=yes -S \(socketPath) src 'echo own'")
        XCTAssertEqual(second.status, 0)
        XCTAssertEqual(second.out, "own\n")
        XCTAssertEqual(second.err, "ControlSocket \(socketPath) already exists, disabling multiplexing\r\n")
        let stop = try ssh("-S \(socketPath) -O stop src")
        XCTAssertEqual(stop.err, "Stop listening request sent.\r\n")
        XCTAssertTrue(eventually(10) { !FileManager.default.fileExists(atPath: socketPath) })
    }

    func testFakeNetSSHControlForegroundMasterWithoutPersistUntilExit() throws {
        // zettabee's own master: ControlPersist=no -N in the foreground until -O exit.
        let master = try FakeNetProcess(
            shell: "exec ssh -o ControlMaster=yes -o ControlPath=\(socketPath) -o ControlPersist=no -N -- src",
            environment: harness.environment())
        XCTAssertTrue(try eventually(10) { try masterPid() != nil })
        XCTAssertTrue(master.isRunning)
        XCTAssertEqual(try ssh("-o ControlMaster=no -o ControlPath=\(socketPath) src true").status, 0)
        XCTAssertEqual(try ssh("-o ControlPath=\(socketPath) -O exit -- src").status, 0)
        let result = master.wait(timeout: 10)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(try sshEntries().last { $0["ssh"] as? String == "master" }?["clients"] as? Int, 1)
    }

    func testFakeNetSSHControlBadValues() throws {
        let persist = try ssh("-o ControlMaster=yes -o ControlPersist=1x -S \(socketPath) src true")
        XCTAssertEqual(persist.status, 255)
        XCTAssertEqual(persist.err, "command-line line 0: Bad ControlPersist argument.\r\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
    }

    // MARK: - -f

    func testFakeNetSSHControlForkMasterReturnsOnceItListens() throws {
        // `ssh -f -N -M -S PATH host`: back at once, the master in the background until -O exit.
        let started = Date()
        let master = try ssh("-f -N -M -S \(socketPath) root@src", timeout: 10)
        XCTAssertEqual(master.status, 0, master.err)
        XCTAssertEqual(master.out, "")
        XCTAssertEqual(master.err, "")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let pid = try XCTUnwrap(try masterPid(), "the socket answers as soon as the foreground is back")
        XCTAssertTrue(alive(pid))
        let client = try ssh("-S \(socketPath) root@src 'echo $ZFAKE_HOST'")
        XCTAssertEqual(client.status, 0, client.err)
        XCTAssertEqual(client.out, "src\n")
        let forward = try ssh("-S \(socketPath) -O forward root@src")
        XCTAssertEqual(forward.status, 0)
        XCTAssertEqual(forward.err, "")
        let exit = try ssh("-S \(socketPath) -O exit root@src")
        XCTAssertEqual(exit.status, 0)
        XCTAssertEqual(exit.err, "Exit request sent.\r\n")
        XCTAssertTrue(eventually(10) { !alive(pid) }, "the master exits on -O exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
        let entries = try sshEntries()
        XCTAssertEqual(entries.first?["ssh"] as? String, "fork")
        let masterEntry = try XCTUnwrap(entries.first { $0["ssh"] as? String == "master" })
        XCTAssertEqual(masterEntry["pid"] as? Int, Int(pid))
        XCTAssertEqual(masterEntry["clients"] as? Int, 1)
    }

    func testFakeNetSSHControlForkRunsTheCommandInTheBackground() throws {
        let gate = harness.file("gate").path
        let done = harness.file("done").path
        XCTAssertEqual(mkfifo(gate, 0o600), 0)
        XCTAssertEqual(mkfifo(done, 0o600), 0)
        let input = harness.file("input")
        try Data("caller's stdin\n".utf8).write(to: input)
        // The foreground is back while the command still waits: it runs in the background, stdin on /dev/null.
        let foreground = try FakeNetProcess.run(
            shell: "ssh -f src 'read line < \(gate); { echo bg $line; cat; echo end; } > \(done)'; echo fg $?",
            environment: harness.environment(), stdinFile: input.path, timeout: 10)
        XCTAssertEqual(foreground.out, "fg 0\n")
        XCTAssertEqual(foreground.err, "")
        XCTAssertEqual(try FakeNetProcess.run(shell: "echo go > \(gate)", environment: harness.environment(), timeout: 10).status, 0)
        let background = try FakeNetProcess.run(shell: "cat \(done)", environment: harness.environment(), timeout: 10)
        XCTAssertEqual(background.out, "bg go\nend\n")

        // Its output still goes where the caller's went (a pipe reads to its end when the command ends).
        let piped = try ssh("-f src 'echo out; echo err >&2' 2>&1 | cat; echo piped", timeout: 10)
        XCTAssertEqual(piped.status, 0)
        XCTAssertEqual(piped.out, "out\nerr\npiped\n")

        // With ControlPersist the master detaches and the command runs in the background as its client.
        let persist = try ssh("-f -M -S \(socketPath) -o ControlPersist=yes src 'echo first' | cat", timeout: 10)
        XCTAssertEqual(persist.out, "first\n")
        XCTAssertNotNil(try masterPid())
        let kinds = try sshEntries().compactMap { $0["ssh"] as? String }
        XCTAssertEqual(kinds.filter { $0 == "fork" }.count, 3, "\(kinds)")
        XCTAssertTrue(kinds.contains("mux"), "\(kinds)")
    }

    func testFakeNetSSHControlForkWithoutCommand() throws {
        let refused = try ssh("-f src")
        XCTAssertEqual(refused.status, 255)
        XCTAssertEqual(refused.err, "Cannot fork into background without a command to execute.\r\n")

        // -f -N without a master: a connection in the background until a signal ends it.
        let host = "idle-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let idle = try ssh("-f -N \(host)", timeout: 10)
        XCTAssertEqual(idle.status, 0, idle.err)
        let pid = try XCTUnwrap(backgroundPid(arguments: ["-f", "-N", host]), "the background ssh runs")
        defer { kill(pid, SIGKILL) }
        XCTAssertEqual(kill(pid, SIGTERM), 0)
        XCTAssertTrue(eventually(10) { !alive(pid) })
        let entries = try sshEntries()
        XCTAssertEqual(entries.map { $0["ssh"] as? String }.prefix(2), [nil, "fork"])
        XCTAssertTrue(eventually(10) { ((try? sshEntries()) ?? []).contains { $0["ssh"] as? String == "direct" && $0["exit"] as? Int == 255 } })
    }

    /// The pid of a running `zfake ssh ARGUMENTS` (from /proc/*/cmdline).
    func backgroundPid(arguments: [String]) -> Int32? {
        let wanted = (["ssh"] + arguments).joined(separator: "\0") + "\0"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let line = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { continue }
            if line.hasSuffix("\0" + wanted) { return pid }
        }
        return nil
    }

    // MARK: - Token-expanded control paths

    func testFakeNetSSHControlTokenPathsKeepHostsApart() throws {
        let directory = "/tmp/zfake-tok-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pattern = "\(directory)/cm-%r@%h:%p"
        defer {
            _ = try? ssh("-o ControlPath=\(pattern) -O exit root@src", timeout: 10)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let master = try ssh("-o ControlMaster=auto -o ControlPersist=yes -o ControlPath=\(pattern) -N root@src")
        XCTAssertEqual(master.status, 0, master.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["cm-root@src:22"])
        let other = try ssh("-o ControlMaster=auto -o ControlPersist=no -o ControlPath=\(pattern) root@dst 'echo $ZFAKE_HOST'")
        XCTAssertEqual(other.out, "dst\n", "another host does not go through src's master")
        let same = try ssh("-o ControlPath=\(pattern) root@src 'echo $ZFAKE_HOST'")
        XCTAssertEqual(same.out, "src\n")
        let check = try ssh("-o ControlPath=\(pattern) -O check root@src")
        XCTAssertEqual(check.status, 0)
        XCTAssertTrue(check.err.hasPrefix("Master running (pid="), check.err)
        let none = try ssh("-o ControlPath=\(pattern) -O check root@dst")
        XCTAssertEqual(none.status, 255)
        XCTAssertEqual(none.err, "Control socket connect(\(directory)/cm-root@dst:22): No such file or directory\r\n")
        let stop = try ssh("-S \(directory)/cm-%r@%h:%p -O exit -l root src")
        XCTAssertEqual(stop.status, 0)
        XCTAssertEqual(stop.err, "Exit request sent.\r\n")
        XCTAssertTrue(eventually(10) { !FileManager.default.fileExists(atPath: "\(directory)/cm-root@src:22") })
        let kinds = try sshEntries().compactMap { $0["ssh"] as? String }
        XCTAssertEqual(Array(kinds.prefix(5)), ["persist", "master", "mux", "control", "control"])
    }
}
