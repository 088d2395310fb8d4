import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The live progress line: on a terminal's stderr `initialize` and `update` draw it without a flag
/// (bytes, percent and ETA from the source's `zfs send -nvP` estimate, rate, stage); `-q` silences it;
/// without a terminal (cron) a successful run prints nothing. The terminal is a pseudo-terminal this
/// test opens, with the built binary's stderr on its slave side.
final class FakeTierProgressLineTests: XCTestCase {
    func testATerminalShowsTheProgressLineWithPercentAndETAAndQuietSilencesIt() throws {
        let world = try FakeTierWorld()
        try world.ctl("src", "create-pool", "tank")
        try world.ctl("src", "create", "tank/data")
        try world.ctl("src", "write", "tank/data", "3M")
        try world.ctl("backup", "create-pool", "backup")
        try world.writeConfig("src:tank/data  backup:backup/data")
        try world.expectSuccess(try world.zettabee("setup"))
        // About two seconds of transfer: several progress samples.
        try world.addFault(["tool": "zfs", "sub": "send", "host": "src", "effect": "send-rate", "bytes_per_second": "1500000"])

        let initialize = try runOnTerminal(world, ["initialize", "backup/data"])
        XCTAssertEqual(initialize.exitCode, 0, initialize.terminal)
        XCTAssertTrue(initialize.terminal.contains("initialize transfer: "), initialize.terminal)
        XCTAssertNotNil(initialize.terminal.range(of: #"of 3\.0 MiB \(\d+%\)"#, options: .regularExpression), initialize.terminal)
        XCTAssertTrue(initialize.terminal.contains(", ETA "), initialize.terminal)
        XCTAssertTrue(initialize.terminal.hasSuffix("\n"), "the line ends before the prompt returns: \(initialize.terminal)")

        // update: the size is known only from `zfs send -nvP`.
        try world.ctl("src", "write", "tank/data", "3M")
        let update = try runOnTerminal(world, ["update", "backup/data"])
        XCTAssertEqual(update.exitCode, 0, update.terminal)
        XCTAssertNotNil(update.terminal.range(of: #"update transfer: .* of 3\.0 MiB \(\d+%\) at .*, ETA \d+:\d\d:\d\d"#,
                                              options: .regularExpression), update.terminal)

        try world.ctl("src", "write", "tank/data", "3M")
        let quiet = try runOnTerminal(world, ["-q", "update", "backup/data"])
        XCTAssertEqual(quiet.exitCode, 0, quiet.terminal)
        XCTAssertEqual(quiet.terminal, "", "-q prints nothing on success")

        // cron: no terminal, nothing printed.
        try world.ctl("src", "write", "tank/data", "3M")
        let cron = try world.zettabee("update", "backup/data")
        try world.expectSuccess(cron)
        XCTAssertEqual(cron.stderr, "")
    }

    func testQuietIsOnlyForTransfers() throws {
        let world = try FakeTierWorld()
        try world.writeConfig("src:tank/data  backup:backup/data")
        let outcome = try world.zettabee("-q", "status")
        XCTAssertEqual(outcome.exitCode, 2, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("--quiet"), outcome.stderr)
    }

    /// Runs zettabee with stderr on a fresh pseudo-terminal and returns its exit code and everything the
    /// terminal received. Bounded: the child is killed (by pid) after 60 s.
    private func runOnTerminal(_ world: FakeTierWorld, _ arguments: [String]) throws -> (exitCode: Int32, terminal: String) {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(master, 0)
        defer { close(master) }
        let slavePath = try PseudoTerminal.unlockSlave(of: master)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        XCTAssertGreaterThanOrEqual(slave, 0)
        // Raw output: no "\n" → "\r\n" translation, so the test sees what zettabee wrote.
        var attributes = termios()
        tcgetattr(slave, &attributes)
        cfmakeraw(&attributes)
        tcsetattr(slave, TCSANOW, &attributes)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: PackagePaths.zettabee)
        process.arguments = ["-c", world.configPath, "--run-dir", world.runDirectory, "--log-dir", world.logDirectory] + arguments
        process.environment = world.environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let received = DataBox()
        let reader = DispatchSemaphore(value: 0)
        try process.run()
        close(slave)
        DispatchQueue.global().async {
            var all = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(master, &buffer, buffer.count)
                if count > 0 {
                    all.append(contentsOf: buffer[0..<count])
                    received.set(all)
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break  // EIO once every holder of the slave side is gone
                }
            }
            reader.signal()
        }
        if exited.wait(timeout: .now() + 60) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            XCTFail("zettabee \(arguments) did not finish within 60 s")
        }
        // A helper that kept the terminal open (none should) would hold the reader: bounded as well.
        _ = reader.wait(timeout: .now() + 5)
        return (process.terminationStatus, String(decoding: received.get(), as: UTF8.self))
    }
}

/// glibc's `grantpt`/`unlockpt`/`ptsname` (Swift's Glibc module does not import them without
/// `_XOPEN_SOURCE`), looked up at run time.
enum PseudoTerminal {
    private typealias IntFunction = @convention(c) (Int32) -> Int32
    private typealias NameFunction = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

    static func unlockSlave(of master: Int32) throws -> String {
        let handle = dlopen(nil, RTLD_NOW)
        guard let grant = dlsym(handle, "grantpt"), let unlock = dlsym(handle, "unlockpt"), let name = dlsym(handle, "ptsname")
        else { throw TierMissing("no grantpt/unlockpt/ptsname in libc") }
        guard unsafeBitCast(grant, to: IntFunction.self)(master) == 0,
            unsafeBitCast(unlock, to: IntFunction.self)(master) == 0,
            let path = unsafeBitCast(name, to: NameFunction.self)(master)
        else { throw TierMissing("cannot set up a pseudo-terminal: errno \(errno)") }
        return String(cString: path)
    }
}
