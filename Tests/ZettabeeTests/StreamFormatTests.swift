import CommandGraph
import XCTest
@testable import Zettabee

/// The stream format over hand-made source trees and host capabilities: raw, blocks as stored,
/// mountpoints, and the refusals that come before any change.
final class StreamFormatTests: XCTestCase {
    let modern = HostCapabilities.derive(
        zfs: .openZFS(ZFSVersion(2, 2, 2)),
        pool: PoolProbe(version: .featureFlags, features: ["large_blocks": .active, "embedded_data": .active, "encryption": .enabled]))
    let zfsFuse = HostCapabilities.derive(zfs: .predatesVersionCommand, pool: PoolProbe(version: .legacy(23)))

    func options(_ text: String = "") throws -> PairOptions {
        try XCTUnwrap(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/a backup:backup/a \(text)\n").first).options
    }

    /// `tank/a` (and `tank/a/kid` when `child`), encrypted where `encryption` says, keys as `keystatus` says.
    func source(encryption: String? = nil, keystatus: String = "available", child: String? = nil) throws -> DatasetState {
        func member(_ name: String, _ encryption: String?) throws -> DatasetState {
            var properties: [String: PropertyValue] = [:]
            if let encryption {
                properties["encryption"] = PropertyValue(text: encryption, source: .none)
                if encryption != "off" { properties["keystatus"] = PropertyValue(text: keystatus, source: .none) }
            }
            return DatasetState(dataset: try DatasetName(name), exists: true, properties: properties)
        }
        var root = try member("tank/a", encryption)
        if let child {
            root.descendants = [try member("tank/a/kid", child)]
            root.children = ["tank/a/kid"]
        }
        return root
    }

    func decide(_ options: PairOptions, _ source: DatasetState, source sourceHost: HostCapabilities? = nil,
                destination: HostCapabilities? = nil) -> Result<StreamFormat, StreamFormatRefusal> {
        StreamFormat.decide(
            options: options, source: source, recursive: !source.descendants.isEmpty,
            sourceCapabilities: sourceHost ?? modern, destinationCapabilities: destination ?? modern)
    }

    func testAnUnencryptedSourceOnOpenZFSSendsBlocksAsStored() throws {
        let format = try decide(try options(), try source(encryption: "off")).get()
        XCTAssertEqual(format.sendFlags, ["-L", "-c", "-e"])
        XCTAssertFalse(format.excludesMountpoint, "a single filesystem's stream carries no mountpoint")
        XCTAssertEqual(try decide(try options("compressed=no"), try source(encryption: "off")).get().sendFlags, [])
    }

    func testLargeBlocksAndEmbeddedDataOnlyWhereTheDestinationPoolHasTheFeatures() throws {
        let bare = HostCapabilities.derive(zfs: .openZFS(ZFSVersion(2, 1, 0)), pool: PoolProbe(version: .featureFlags, features: [
            "large_blocks": .disabled, "embedded_data": .disabled, "encryption": .disabled]))
        XCTAssertEqual(try decide(try options(), try source(encryption: "off"), destination: bare).get().sendFlags, ["-c"])
    }

    func testAnEncryptedSourceIsSentRawByDefault() throws {
        let format = try decide(try options(), try source(encryption: "aes-256-gcm", keystatus: "unavailable")).get()
        XCTAssertEqual(format.sendFlags, ["-w"])
        let tree = try decide(try options(), try source(encryption: "off", child: "aes-256-gcm")).get()
        XCTAssertTrue(tree.raw, "one encrypted child makes the tree's stream raw")
        XCTAssertTrue(tree.excludesMountpoint)
    }

    func testRawNoIsRefusedWhereOpenZFSWouldRefuse() throws {
        let locked = decide(try options("raw=no"), try source(encryption: "aes-256-gcm", keystatus: "unavailable"))
        XCTAssertEqual(try XCTUnwrap(locked.failureReason), "raw=no, but the key of tank/a is not loaded on the source: OpenZFS "
            + "refuses it (dataset key must be loaded); load the key or use raw=auto")
        let tree = decide(try options("raw=no"), try source(encryption: "off", child: "aes-256-gcm"))
        XCTAssertEqual(try XCTUnwrap(tree.failureReason), "raw=no, but tank/a/kid is encrypted: OpenZFS refuses it (encrypted "
            + "dataset tank/a/kid may not be sent with properties without the raw flag); use raw=auto")
        let loaded = try decide(try options("raw=no"), try source(encryption: "aes-256-gcm")).get()
        XCTAssertFalse(loaded.raw, "a single filesystem with its key loaded goes decrypted")
        XCTAssertEqual(loaded.sendFlags, ["-L", "-c"], "never -e from encrypted data")
    }

    func testRawNeedsOpenZFSAndTheDestinationsEncryptionFeature() throws {
        let refused = decide(try options("raw=yes"), try source(), source: zfsFuse, destination: zfsFuse)
        XCTAssertEqual(try XCTUnwrap(refused.failureReason), "raw=yes needs OpenZFS on both hosts (zfs send -w); set raw=no or raw=auto")
        let auto = decide(try options(), try source(encryption: "aes-256-gcm"), destination: zfsFuse)
        XCTAssertEqual(try XCTUnwrap(auto.failureReason), "tank/a is encrypted, so raw=auto sends it raw (zfs send -w), which "
            + "needs OpenZFS on both hosts; raw=no sends it decrypted, where its key is loaded on the source")
        let autoTree = decide(try options(), try source(encryption: "off", child: "aes-256-gcm"), destination: zfsFuse)
        XCTAssertEqual(try XCTUnwrap(autoTree.failureReason), "tank/a/kid is encrypted, so raw=auto sends it raw (zfs send -w), "
            + "which needs OpenZFS on both hosts; a tree with an encrypted dataset cannot be sent decrypted either")
        XCTAssertFalse(try decide(try options("raw=no"), try source(encryption: "aes-256-gcm"), destination: zfsFuse).get().raw)
        let noFeature = HostCapabilities.derive(zfs: .openZFS(ZFSVersion(2, 2, 0)), pool: PoolProbe(version: .featureFlags, features: [
            "large_blocks": .enabled, "embedded_data": .enabled, "encryption": .disabled]))
        let encrypted = decide(try options(), try source(encryption: "aes-256-gcm"), destination: noFeature)
        XCTAssertEqual(try XCTUnwrap(encrypted.failureReason), "tank/a is encrypted and is sent raw, but the destination's pool "
            + "cannot receive encrypted streams (its encryption feature is not enabled)")
        XCTAssertEqual(try decide(try options("raw=yes"), try source(encryption: "off")).get().sendFlags, ["-w"])
    }

    func testOldZfsSendsPlainAndCannotExcludeMountpoints() throws {
        let format = try decide(try options(), try source(child: nil), source: zfsFuse, destination: zfsFuse).get()
        XCTAssertEqual(format, StreamFormat())
        let tree = try decide(try options(), try source(child: "off"), source: zfsFuse, destination: zfsFuse).get()
        XCTAssertTrue(tree.guardsMountpoints)
        XCTAssertFalse(tree.excludesMountpoint)
        let mirror = try decide(try options("mountpoints=source"), try source(encryption: "off", child: "off")).get()
        XCTAssertFalse(mirror.excludesMountpoint)
        XCTAssertFalse(mirror.guardsMountpoints)
    }

    func testASourceEncryptedAfterItWasReplicatedInTheClearIsInconsistent() throws {
        func destination(_ encryption: String, root: String?) throws -> DatasetState {
            var properties = ["encryption": PropertyValue(text: encryption, source: .none)]
            if let root { properties["encryptionroot"] = PropertyValue(text: root, source: .none) }
            return DatasetState(dataset: try DatasetName("backup/a"), exists: true, properties: properties)
        }
        let encrypted = try source(encryption: "aes-256-gcm")
        let raw = try decide(try options(), encrypted).get()
        XCTAssertEqual(raw.encryptionMismatch(source: encrypted, destination: try destination("off", root: nil)),
                       "tank/a is encrypted but its copy backup/a is not (it was replicated unencrypted); a raw stream cannot "
                        + "go on top of it: re-initialize the pair, or set raw=no")
        XCTAssertNil(raw.encryptionMismatch(source: encrypted, destination: try destination("aes-256-gcm", root: "backup/a")))
        let decrypted = try decide(try options("raw=no"), encrypted).get()
        XCTAssertEqual(decrypted.encryptionMismatch(source: encrypted, destination: try destination("aes-256-gcm", root: "backup/a")),
                       "backup/a was received raw (encrypted) but raw=no would send tank/a decrypted; a plain stream cannot go "
                        + "on top of it: set raw=auto, or re-initialize the pair")
        XCTAssertNil(decrypted.encryptionMismatch(source: encrypted, destination: try destination("aes-256-gcm", root: "backup")),
                     "a copy made with raw=no under an encrypted parent takes plain streams")
        XCTAssertNil(decrypted.encryptionMismatch(source: encrypted, destination: try destination("off", root: nil)))
        let clear = try source(encryption: "off")
        let plain = try decide(try options(), clear).get()
        XCTAssertEqual(plain.encryptionMismatch(source: clear, destination: try destination("aes-256-gcm", root: "backup/a")),
                       "backup/a is encrypted (it was received raw) but tank/a is not any more; re-initialize the pair")
        XCTAssertNil(plain.encryptionMismatch(source: clear, destination: try destination("aes-256-gcm", root: "backup")),
                     "under an encrypted parent a plain stream is encrypted with the parent's key")
        XCTAssertNil(plain.encryptionMismatch(source: try source(), destination: try destination("off", root: nil)),
                     "not read (old zfs): no judgement")
    }

    func testPoolProbeParsesVersionAndFeatures() throws {
        let probe = try PoolProbe.parse("-\nactive\nenabled\ndisabled\n")
        XCTAssertEqual(probe.version, .featureFlags)
        XCTAssertEqual(probe.features, ["large_blocks": .active, "embedded_data": .enabled, "encryption": .disabled])
        XCTAssertEqual(try PoolProbe.parse("28\n-\n-\n-\n").features["encryption"], .disabled)
        XCTAssertThrowsError(try PoolProbe.parse("-\nactive\n")) { error in
            XCTAssertEqual("\(error)", "unexpected output from zpool get version,features: expected 4 lines, found 2")
        }
        XCTAssertThrowsError(try PoolProbe.parse("-\nactive\nyes\nactive\n"))
    }

    func testOptionsAreParsedWithPreciseErrors() throws {
        XCTAssertEqual(try options("raw=no,compressed=no,mountpoints=source,exactsize=no"), {
            var expected = PairOptions()
            expected.raw = .no
            expected.sendsStoredBlocks = false
            expected.mountpoints = .source
            expected.countsStreamExactly = false
            return expected
        }())
        XCTAssertTrue(try options("exactsize=yes").countsStreamExactly)
        XCTAssertTrue(PairOptions().countsStreamExactly, "exact by default")
        XCTAssertThrowsError(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/a backup:backup/a compressed=zstd\n")) { error in
            XCTAssertTrue("\(error)".contains("t.cfg:1: field 'compressed': invalid value 'zstd' (expected yes or no; compression over ssh is compress=)"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigParser.parse(fileName: "t.cfg", text: "src:tank/a backup:backup/a raw=maybe\n")) { error in
            XCTAssertTrue("\(error)".contains("t.cfg:1: field 'raw': invalid value 'maybe' (expected auto, yes or no)"), "\(error)")
        }
    }
}

extension Result where Failure == StreamFormatRefusal {
    var failureReason: String? {
        if case .failure(let refusal) = self { return refusal.reason }
        return nil
    }
}
