import CommandGraph
import XCTest

final class BuilderTests: XCTestCase {
    // MARK: zfs send / receive

    func testSendFull() throws {
        let command = ZFS.send(try snapshot("tank/fs@a"))
        XCTAssertEqual(command.argv, ["zfs", "send", "tank/fs@a"])
        XCTAssertEqual(command.label, "zfs send")
        XCTAssertEqual(command.arguments.last?.kind, .snapshot(try snapshot("tank/fs@a")))
    }

    func testSendWithEveryFlag() throws {
        let command = ZFS.send(
            try snapshot("tank/fs@b"), incremental: .from(try snapshot("tank/fs@a")), replicate: true, properties: true,
            largeBlocks: true, compressed: true, embedded: true, estimateOnly: true, verbose: true, parsable: true)
        XCTAssertEqual(
            command.argv, ["zfs", "send", "-R", "-p", "-L", "-c", "-e", "-n", "-v", "-P", "-i", "tank/fs@a", "tank/fs@b"])
    }

    func testSendIncrementalWithIntermediates() throws {
        let base = try snapshot("tank/fs@a")
        let command = ZFS.send(try snapshot("tank/fs@c"), incremental: .withIntermediates(from: base))
        XCTAssertEqual(command.argv, ["zfs", "send", "-I", "tank/fs@a", "tank/fs@c"])
        XCTAssertEqual(command.arguments[1], .flag("-I"))
        XCTAssertEqual(command.arguments[2], .snapshot(base))
    }

    func testResumeSend() throws {
        XCTAssertEqual(
            try ZFS.resumeSend(token: "1-e604ea4bf-e0-789c63a2").argv, ["zfs", "send", "-t", "1-e604ea4bf-e0-789c63a2"])
        XCTAssertEqual(
            try ZFS.resumeSend(token: "1-ab", estimateOnly: true, verbose: true, parsable: true).argv,
            ["zfs", "send", "-n", "-v", "-P", "-t", "1-ab"])
        assertInvalid("resume token") { () throws(InvalidValue) in try ZFS.resumeSend(token: "") }
        assertInvalid("resume token") { () throws(InvalidValue) in try ZFS.resumeSend(token: "1-ab; rm") }
        assertInvalid("resume token") { () throws(InvalidValue) in try ZFS.resumeSend(token: "-R") }
    }

    func testReceive() throws {
        let target = try dataset("backup/fs")
        XCTAssertEqual(ZFS.receive(into: target).argv, ["zfs", "receive", "backup/fs"])
        let command = ZFS.receive(
            into: target, force: true, resumable: true, noMount: true, verbose: true, naming: .discardPool,
            setting: [try PropertyAssignment("readonly", "on"), try PropertyAssignment("zettabee:source", "src1:tank/fs")],
            excluding: [.mountpoint, try PropertyName("sharenfs")])
        XCTAssertEqual(command.argv, [
            "zfs", "receive", "-F", "-s", "-u", "-v", "-d", "-o", "readonly=on", "-o", "zettabee:source=src1:tank/fs",
            "-x", "mountpoint", "-x", "sharenfs", "backup/fs",
        ])
        XCTAssertEqual(ZFS.receive(into: target, naming: .lastComponent).argv, ["zfs", "receive", "-e", "backup/fs"])
        XCTAssertEqual(
            ZFS.receive(into: try snapshot("backup/fs@x")).arguments.last, .snapshot(try snapshot("backup/fs@x")))
        XCTAssertEqual(
            ZFS.abortResumableReceive(target).argv, ["zfs", "receive", "-A", "backup/fs"])
        XCTAssertEqual(ZFS.version().argv, ["zfs", "version"])
    }

    // MARK: snapshots, destroy, holds, rollback

    func testSnapshot() throws {
        XCTAssertEqual(try ZFS.snapshot([try snapshot("tank/fs@a")]).argv, ["zfs", "snapshot", "tank/fs@a"])
        XCTAssertEqual(
            try ZFS.snapshot([try snapshot("tank/fs@a"), try snapshot("tank/other@a")], recursive: true).argv,
            ["zfs", "snapshot", "-r", "tank/fs@a", "tank/other@a"])
        assertInvalid("snapshots to take") { () throws(InvalidValue) in try ZFS.snapshot([]) }
    }

    func testDestroy() throws {
        let a = try snapshot("tank/fs@a"), b = try snapshot("tank/fs@b")
        XCTAssertEqual(try ZFS.destroy([a, b]).argv, ["zfs", "destroy", "tank/fs@a", "tank/fs@b"])
        let comma = try ZFS.destroy([a, b], form: .commaSeparated)
        XCTAssertEqual(comma.argv, ["zfs", "destroy", "tank/fs@a,b"])
        XCTAssertEqual(comma.arguments.last, .snapshotList(try dataset("tank/fs"), names: ["a", "b"]))
        XCTAssertEqual(
            try ZFS.destroy([a], deferred: true, dryRun: true, parsable: true, recursive: true, verbose: true).argv,
            ["zfs", "destroy", "-d", "-n", "-p", "-r", "-v", "tank/fs@a"])
        assertInvalid("snapshots to destroy") { () throws(InvalidValue) in try ZFS.destroy([]) }
        assertInvalid("snapshots to destroy") { () throws(InvalidValue) in
            try ZFS.destroy([a, try! snapshot("tank/other@b")], form: .commaSeparated)
        }
    }

    func testHoldsAndRollback() throws {
        let tag = try HoldTag("zettabee")
        let a = try snapshot("tank/fs@a"), b = try snapshot("tank/fs@b")
        XCTAssertEqual(try ZFS.hold(tag, on: [a, b]).argv, ["zfs", "hold", "zettabee", "tank/fs@a", "tank/fs@b"])
        XCTAssertEqual(try ZFS.hold(tag, on: [a], recursive: true).argv, ["zfs", "hold", "-r", "zettabee", "tank/fs@a"])
        XCTAssertEqual(try ZFS.release(tag, from: [a]).argv, ["zfs", "release", "zettabee", "tank/fs@a"])
        XCTAssertEqual(try ZFS.release(tag, from: [a], recursive: true).argv, ["zfs", "release", "-r", "zettabee", "tank/fs@a"])
        XCTAssertEqual(ZFS.rollback(to: a).argv, ["zfs", "rollback", "tank/fs@a"])
        XCTAssertEqual(ZFS.rollback(to: a, destroyingLaterSnapshots: true).argv, ["zfs", "rollback", "-r", "tank/fs@a"])
        assertInvalid("snapshots to hold") { () throws(InvalidValue) in try ZFS.hold(tag, on: []) }
        assertInvalid("snapshots to release") { () throws(InvalidValue) in try ZFS.release(tag, from: []) }
    }

    // MARK: properties and listing

    func testGet() throws {
        let fs = try dataset("tank/fs")
        XCTAssertEqual(try ZFS.get([.guid], of: [fs]).argv, ["zfs", "get", "-H", "guid", "tank/fs"])
        let command = try ZFS.get(
            [.guid, .createtxg, try PropertyName("zettabee:source")], of: [fs, try snapshot("tank/fs@a")],
            parsable: true, depth: .levels(1), columns: [.name, .property, .value, .source],
            sources: [.local, .received], types: [.filesystem, .snapshot])
        XCTAssertEqual(command.argv, [
            "zfs", "get", "-H", "-p", "-d", "1", "-o", "name,property,value,source", "-s", "local,received",
            "-t", "filesystem,snapshot", "guid,createtxg,zettabee:source", "tank/fs", "tank/fs@a",
        ])
        XCTAssertEqual(
            try ZFS.get([.all], scripted: false, depth: .recursive).argv, ["zfs", "get", "-r", "all"])
        assertInvalid("properties to get") { () throws(InvalidValue) in try ZFS.get([], of: [fs]) }
        assertInvalid("depth") { () throws(InvalidValue) in try ZFS.get([.guid], depth: .levels(-1)) }
    }

    func testSet() throws {
        let fs = try dataset("tank/fs")
        XCTAssertEqual(
            try ZFS.set([try PropertyAssignment(.readonly, "on"), try PropertyAssignment("zettabee:note", "a b")], on: fs).argv,
            ["zfs", "set", "readonly=on", "zettabee:note=a b", "tank/fs"])
        XCTAssertEqual(
            try ZFS.set([try PropertyAssignment("zettabee:done", "1")], on: try snapshot("tank/fs@a")).argv,
            ["zfs", "set", "zettabee:done=1", "tank/fs@a"])
        assertInvalid("properties to set") { () throws(InvalidValue) in try ZFS.set([], on: fs) }
    }

    func testZpoolGet() throws {
        let tank = try PoolName("tank")
        XCTAssertEqual(
            try ZPool.get([.version], pools: [tank], columns: [.value]).argv,
            ["zpool", "get", "-H", "-o", "value", "version", "tank"])
        XCTAssertEqual(
            try ZPool.get([try PropertyName("feature@extensible_dataset"), .version], pools: [tank, try PoolName("b")],
                          parsable: true, columns: [.name, .value]).argv,
            ["zpool", "get", "-H", "-p", "-o", "name,value", "feature@extensible_dataset,version", "tank", "b"])
        XCTAssertEqual(try ZPool.get([.all], scripted: false).argv, ["zpool", "get", "all"])
        XCTAssertEqual(PoolName(of: try dataset("tank/a/b")), tank)
        assertInvalid("pool properties to get") { () throws(InvalidValue) in try ZPool.get([], pools: [tank]) }
    }

    // MARK: mbuffer, send_nsca, compression, cat

    func testMbuffer() throws {
        XCTAssertEqual(try Mbuffer.listen(port: 9090).argv, ["mbuffer", "-q", "-I", "9090"])
        XCTAssertEqual(try Mbuffer.listen(port: 9090, address: "10.0.0.2").argv, ["mbuffer", "-q", "-I", "10.0.0.2:9090"])
        XCTAssertEqual(try Mbuffer.send(toHost: "dst.example.org", port: 9090).argv, ["mbuffer", "-q", "-O", "dst.example.org:9090"])
        let options = try Mbuffer.Options(
            blockSize: try ByteQuantity("128k"), memory: try ByteQuantity("1G"), readRateLimit: try ByteQuantity("256M"),
            writeRateLimit: try ByteQuantity("10M"), logFile: "/var/log/zettabee/mbuffer.log", quiet: false,
            timeoutSeconds: 60)
        XCTAssertEqual(try Mbuffer.send(toHost: "dst", port: 1, options: options).argv, [
            "mbuffer", "-s", "128k", "-m", "1G", "-r", "256M", "-R", "10M", "-W", "60", "-l", "/var/log/zettabee/mbuffer.log",
            "-O", "dst:1",
        ])
        XCTAssertEqual(try Mbuffer.listen(port: 65535).label, "mbuffer -I")
        XCTAssertEqual(try Mbuffer.send(toHost: "dst", port: 9090).label, "mbuffer -O")
    }

    func testByteQuantities() throws {
        XCTAssertEqual(try ByteQuantity("512").bytes, 512)
        XCTAssertEqual(try ByteQuantity("128k").bytes, 128 * 1024)
        XCTAssertEqual(try ByteQuantity("128K").bytes, 128 * 1024)
        XCTAssertEqual(try ByteQuantity("1M").bytes, 1 << 20)
        XCTAssertEqual(try ByteQuantity("256m").bytes, 256 << 20)
        XCTAssertEqual(try ByteQuantity("1G").bytes, 1 << 30)
        XCTAssertEqual(try ByteQuantity("2g").bytes, 2 << 30)
        XCTAssertEqual(try ByteQuantity("99999999999999999999G").bytes, Int.max)
        for bad in ["", "k", "1.5M", "1T", "1MB", "-1M", " 1M", "0", "00k", "1 M"] {
            assertInvalid("mbuffer memory") { () throws(InvalidValue) in try ByteQuantity(bad, field: "mbuffer memory") }
        }
    }

    func testSendNSCA() throws {
        XCTAssertEqual(try SendNSCA.command(server: "nagios").argv, ["send_nsca", "-H", "nagios"])
        XCTAssertEqual(
            try SendNSCA.command(server: "nagios.example.org", port: 5667, configFile: "/etc/send_nsca.cfg", delimiter: ";").argv,
            ["send_nsca", "-H", "nagios.example.org", "-p", "5667", "-c", "/etc/send_nsca.cfg", "-d", ";"])
        let result = try NagiosCheckResult(host: "backup1", service: "zettabee src1:tank/fs", status: .warning, output: "late by 2h")
        XCTAssertEqual(String(decoding: try result.payload(), as: UTF8.self), "backup1\tzettabee src1:tank/fs\t1\tlate by 2h\n")
        XCTAssertEqual(String(decoding: try result.payload(delimiter: ";"), as: UTF8.self), "backup1;zettabee src1:tank/fs;1;late by 2h\n")
        assertInvalid("nagios service") { () throws(InvalidValue) in try result.payload(delimiter: ":") }
        assertInvalid("nagios host") { () throws(InvalidValue) in try result.payload(delimiter: "1") }
    }

    func testCompressionAndCat() throws {
        XCTAssertEqual(try Zstd.compress().argv, ["zstd", "-c", "-q"])
        XCTAssertEqual(try Zstd.compress(level: 19, useAllCores: true).argv, ["zstd", "-c", "-q", "-T0", "-19"])
        XCTAssertEqual(Zstd.decompress().argv, ["zstd", "-d", "-c", "-q"])
        XCTAssertEqual(LZ4.compress().argv, ["lz4", "-c", "-q"])
        XCTAssertEqual(LZ4.decompress().argv, ["lz4", "-d", "-c", "-q"])
        XCTAssertEqual(Cat.copy().argv, ["cat"])
        assertInvalid("zstd level") { () throws(InvalidValue) in try Zstd.compress(level: 0) }
        assertInvalid("zstd level") { () throws(InvalidValue) in try Zstd.compress(level: 20) }
    }

    func testCommandDescriptionQuotesAndMasks() {
        let command = Command("tool", [.value("a b"), .secret("pw"), .flag("-x")])
        XCTAssertEqual(command.description, "tool 'a b' '***' -x")
        XCTAssertEqual(command.argv, ["tool", "a b", "pw", "-x"])
        XCTAssertEqual(command.label, "tool")
    }
}
