import Foundation
import GraphRunner
import Zettabee
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A seeded, reproducible fault soak on the fake tier. Two pairs: `tank/tree` (children `kid` and
/// `kid/grand`) over ssh and `tank/flat` over mbuffer. Each round writes data at random, runs `update
/// --all` with one fault drawn from the fake's catalogue or a signal sent when a chosen step of the run
/// has happened, then checks the invariants: every pair's base on both sides of every dataset of its
/// tree with equal GUIDs, no process of the world left running, no lock held; then a clean `update
/// --all` must succeed and leave every pair Synchronized with the source's data.
///
/// `ZETTABEE_SOAK_SEED` replays a seed, `ZETTABEE_SOAK_ROUNDS` sets the rounds (default 10; the longer
/// run is `scripts/soak.sh`). A failure names the seed and the round.
final class FaultSoakTests: XCTestCase {
    func testFaultSoak() throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["ZETTABEE_SOAK_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
        let rounds = environment["ZETTABEE_SOAK_ROUNDS"].flatMap(Int.init) ?? 10
        print("fault soak: seed \(seed), \(rounds) rounds (replay with ZETTABEE_SOAK_SEED=\(seed))")
        var random = SplitMix64(seed: seed)
        let soak = try SoakWorld()
        try soak.setUp()
        var tally = SoakTally()
        for round in 1...rounds {
            let context = "seed \(seed), round \(round)"
            let fault = SoakFault.draw(using: &random, port: soak.world.port)
            try soak.writeRandomData(using: &random)
            let bases = try soak.bases()
            let outcome = try soak.run(fault, context: context)
            tally.faults += 1
            if outcome.exitCode != 0 || outcome.signaled { tally.failedRuns += 1 }
            try soak.world.clearFaults()
            // Invariants right after the faulty run.
            try soak.assertBasesIntact(since: bases, context: "\(context), after \(fault.label)")
            // A run killed with SIGKILL cannot clean up: its orphans and stale lock are the next run's work.
            let killed: Bool
            if case .signal(let number, _) = fault, number == SIGKILL { killed = true } else { killed = false }
            if !killed {
                soak.assertNoStrayProcess(context: "\(context), after \(fault.label)")
                try soak.assertNoLockHeld(context: "\(context), after \(fault.label)")
            }
            // A clean run recovers everything by itself.
            let clean = try soak.world.zettabee("update", "--all", timeout: 120)
            XCTAssertEqual(clean.exitCode, 0, "\(context): the clean run after \(fault.label) failed: \(clean.stderr)")
            if outcome.exitCode != 0 || outcome.signaled, clean.exitCode == 0 { tally.recoveries += 1 }
            try soak.assertSynchronized(context: "\(context), after the clean run following \(fault.label)")
            soak.assertNoStrayProcess(context: "\(context), after the clean run following \(fault.label)")
            try soak.assertNoLockHeld(context: "\(context), after the clean run following \(fault.label)")
            tally.rounds = round
            tally.byKind[fault.kind, default: 0] += 1
            if testRun?.failureCount ?? 0 > 0 {
                print("fault soak: failed at \(context) (\(fault.label))")
                break
            }
        }
        print("fault soak: seed \(seed): \(tally.rounds) rounds, \(tally.faults) faults, \(tally.failedRuns) failed runs, "
              + "\(tally.recoveries) recoveries; faults by kind: "
              + tally.byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }
}

struct SoakTally {
    var rounds = 0
    var faults = 0
    var failedRuns = 0
    var recoveries = 0
    var byKind: [String: Int] = [:]
}

/// A small seeded generator (SplitMix64): the same seed draws the same rounds.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One fault of a round: a rule for the fake tools, or a signal to zettabee once a step has happened.
enum SoakFault {
    case rule([String: String], label: String)
    /// The signal, sent as soon as the call log shows a zfs `subcommand` that ended.
    case signal(Int32, after: String)

    var label: String {
        switch self {
        case .rule(_, let label): label
        case .signal(let number, let step): "signal \(number) after zfs \(step)"
        }
    }

    var kind: String {
        switch self {
        case .rule(let rule, _): rule["effect"] ?? "?"
        case .signal(let number, _): "signal \(number)"
        }
    }

    /// A fault drawn from the fake's catalogue: stream faults at a random byte (either pair's stream,
    /// the tree's children included), a failing zfs subcommand on either host, ssh and mbuffer connection
    /// faults, senders without SIGPIPE, latency, and SIGTERM, SIGINT or SIGKILL between steps. Left out:
    /// the stall faults (each would wait out the pair's stall timeout; ReliabilityFaultTests has them).
    static func draw(using random: inout SplitMix64, port: Int) -> SoakFault {
        let bytes = String(Int.random(in: 1...3_500_000, using: &random))
        let stream = ["tank/tree", "tank/flat"].randomElement(using: &random)!
        let target = stream == "tank/tree" ? "backup/tree" : "backup/flat"
        let sendRule: (String) -> [String: String] = { effect in
            ["tool": "zfs", "sub": "send", "host": "src", "match": "*\(stream)*", "effect": effect, "bytes": bytes, "when": "once"]
        }
        let receiveRule: (String) -> [String: String] = { effect in
            ["tool": "zfs", "sub": "receive", "host": "backup", "match": "*\(target)*", "effect": effect, "bytes": bytes, "when": "once"]
        }
        let subcommands = ["get", "snapshot", "hold", "release", "destroy", "set", "receive", "send", "rollback"]
        switch Int.random(in: 0..<13, using: &random) {
        case 0: return .rule(sendRule("send-fail-after"), label: "send of \(stream) fails after \(bytes) bytes")
        case 1: return .rule(sendRule("send-kill-after"), label: "send of \(stream) killed after \(bytes) bytes")
        case 2: return .rule(sendRule("send-truncate-at"), label: "send of \(stream) truncated at \(bytes) bytes")
        case 3: return .rule(sendRule("send-corrupt-at"), label: "send of \(stream) corrupted at \(bytes) bytes")
        case 4: return .rule(receiveRule("recv-fail-after"), label: "receive into \(target) fails after \(bytes) bytes")
        case 5: return .rule(receiveRule("recv-enospc-after"), label: "receive into \(target) out of space after \(bytes) bytes")
        case 6:
            let at = ["start", "end"].randomElement(using: &random)!
            return .rule(["tool": "zfs", "sub": "receive", "host": "backup", "match": "*\(target)*", "effect": "recv-fail", "at": at, "when": "once"],
                         label: "receive into \(target) fails at its \(at)")
        case 7, 8:
            let sub = subcommands.randomElement(using: &random)!
            let host = ["src", "backup"].randomElement(using: &random)!
            let nth = String(Int.random(in: 1...3, using: &random))
            return .rule(["tool": "zfs", "sub": sub, "host": host, "effect": "fail", "when": "nth", "nth": nth,
                          "message": "cannot \(sub): I/O error injected"],
                         label: "zfs \(sub) on \(host) fails (call \(nth))")
        case 9:
            return .rule(["tool": "ssh", "host": "src", "effect": "drop", "bytes": bytes, "when": "once"],
                         label: "an ssh connection drops after \(bytes) bytes")
        case 10:
            switch Int.random(in: 0..<5, using: &random) {
            case 0: return .rule(["tool": "mbuffer", "effect": "drop", "bytes": bytes, "when": "once"],
                                 label: "the mbuffer connection drops after \(bytes) bytes")
            case 1: return .rule(["tool": "mbuffer", "effect": "refused", "when": "once"], label: "mbuffer's connection is refused")
            case 2: return .rule(["tool": "ssh", "host": "src", "match": "*zfs send*", "effect": "refused", "when": "once"],
                                 label: "the stream's ssh connection is refused")
            case 3: return .rule(["tool": "zfs", "sub": "send", "host": "src", "effect": "sigpipe", "mode": "message"],
                                 label: "senders report a broken pipe instead of dying of SIGPIPE")
            default: return .rule(["tool": "zfs", "effect": "latency", "seconds": "0.05"], label: "every zfs call takes 50 ms")
            }
        default:
            let signal = [SIGTERM, SIGINT, SIGKILL].randomElement(using: &random)!
            return .signal(signal, after: ["snapshot", "send", "receive", "hold", "set", "release", "destroy"].randomElement(using: &random)!)
        }
    }
}

/// The soak's world: the reliability world's hosts with two pairs.
final class SoakWorld {
    let world: ReliabilityWorld
    static let pairs = [("tank/tree", "backup/tree"), ("tank/flat", "backup/flat")]
    static let treeMembers = ["", "/kid", "/kid/grand"]

    init() throws { world = try ReliabilityWorld() }

    func setUp() throws {
        try world.ctl("src", "create-pool", "tank")
        for dataset in ["tank/tree", "tank/tree/kid", "tank/tree/kid/grand", "tank/flat"] {
            try world.ctl("src", "create", dataset)
            try world.ctl("src", "write", dataset, "1M")
        }
        try world.ctl("backup", "create-pool", "backup")
        try world.writeConfig("""
            src:tank/tree  backup:backup/tree  transport=ssh,stall=20s
            src:tank/flat  backup:backup/flat  port=\(world.port),stall=20s

            """)
        let outcome = try world.zettabee("initialize", "--all", timeout: 120)
        guard outcome.exitCode == 0 else { throw ReliabilityError("initialize --all failed: \(outcome.stderr)") }
        try assertSynchronized(context: "after initialize")
    }

    func members(of source: String) -> [String] { source == "tank/tree" ? Self.treeMembers : [""] }

    func writeRandomData(using random: inout SplitMix64) throws {
        for (source, _) in Self.pairs {
            for member in members(of: source) where Bool.random(using: &random) {
                try world.ctl("src", "write", source + member, "\(Int.random(in: 1...900, using: &random))K")
            }
        }
    }

    /// Runs `update --all` with the fault in place; a signal goes once the chosen step shows in the call log.
    func run(_ fault: SoakFault, context: String) throws -> ProcessOutcome {
        switch fault {
        case .rule(let rule, _):
            let data = try JSONSerialization.data(withJSONObject: rule, options: [.sortedKeys])
            try world.fault(String(decoding: data, as: UTF8.self))
            return try world.zettabee("update", "--all", timeout: 120)
        case .signal(let number, let step):
            let before = world.calls().count
            // The run is slowed a little so that the signal lands while it runs (a rate, not a sleep).
            try world.fault(#"{"tool":"zfs","sub":"send","host":"src","effect":"send-rate","bytes_per_second":"4000000"}"#)
            let run = try world.start("update", "--all")
            let reached = waitUntil(seconds: 60) {
                world.calls().dropFirst(before).contains { $0.tool == "zfs" && $0.argv.first == step }
                    || run.process.isRunning == false
            }
            XCTAssertTrue(reached, "\(context): the run never reached zfs \(step)")
            run.signal(number)
            guard let outcome = run.wait(seconds: 60) else {
                XCTFail("\(context): zettabee did not end after signal \(number)")
                return ProcessOutcome(exitCode: -1, signaled: true, stdout: "", stderr: "")
            }
            return outcome
        }
    }

    /// Each pair's dataset state on a host, from the fake's dump: name → (snapshot → guid, lastsnap property).
    func dump(_ host: String) throws -> [String: [String: Any]] {
        let outcome = try world.fake("zfake-ctl", ["--host", host, "dump"])
        guard let state = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
              let datasets = state["datasets"] as? [String: [String: Any]]
        else { throw ReliabilityError("unreadable dump of \(host)") }
        return datasets
    }

    static func snapshots(_ dataset: [String: Any]?) -> [String: String] {
        var result: [String: String] = [:]
        for case let snapshot as [String: Any] in dataset?["snapshots"] as? [Any] ?? [] {
            result[snapshot["name"] as? String ?? "?"] = "\(snapshot["guid"] ?? "")"
        }
        return result
    }

    static func property(_ dataset: [String: Any]?, _ name: String) -> String? {
        (dataset?["local"] as? [String: Any])?[name] as? String ?? (dataset?["received"] as? [String: Any])?[name] as? String
    }

    /// Each pair's destination's recorded base, by destination.
    func bases() throws -> [String: String] {
        let destination = try dump("backup")
        var result: [String: String] = [:]
        for (_, target) in Self.pairs {
            let fingerprint = try self.fingerprint(target)
            result[target] = Self.property(destination[target], "zettabee:\(fingerprint):lastsnap")
        }
        return result
    }

    func fingerprint(_ destination: String) throws -> String {
        let outcome = try world.zettabee("fingerprint", destination)
        return outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The base each destination records is `before` or a newer one, and it is on both sides of every
    /// dataset of the pair's tree with equal GUIDs.
    func assertBasesIntact(since before: [String: String], context: String) throws {
        let source = try dump("src"), destination = try dump("backup")
        for (sourceName, target) in Self.pairs {
            let fingerprint = try self.fingerprint(target)
            guard let base = Self.property(destination[target], "zettabee:\(fingerprint):lastsnap") else {
                XCTFail("\(context): \(target) records no base")
                continue
            }
            if base != before[target] {
                XCTAssertGreaterThan(base, before[target] ?? "", "\(context): \(target)'s base went back")
            }
            for member in members(of: sourceName) {
                let sent = Self.snapshots(source[sourceName + member])[base]
                let received = Self.snapshots(destination[target + member])[base]
                XCTAssertNotNil(sent, "\(context): base \(base) is gone from \(sourceName + member)")
                XCTAssertEqual(sent, received, "\(context): base \(base) of \(target + member) differs from its source")
            }
        }
    }

    /// No process of the world runs any more (within 10 s: a process ending takes a moment).
    func assertNoStrayProcess(context: String) {
        let gone = waitUntil(seconds: 10) { world.strayProcesses().isEmpty }
        XCTAssertTrue(gone, "\(context): processes left: \(world.strayProcesses().map(world.describeProcess))")
    }

    /// No run holds a lock (a lock file may remain only if its holder is dead).
    func assertNoLockHeld(context: String) throws {
        for (_, target) in Self.pairs {
            let path = world.runDirectory + "/" + (try fingerprint(target)) + ".lck"
            if case .held(let holder) = PairLock.inspect(path: path) {
                XCTFail("\(context): the lock of \(target) is held by \(String(describing: holder))")
            }
        }
    }

    /// `status -H` says every pair is Synchronized, and every dataset of each tree holds the base with
    /// its source's GUID and the source's data.
    func assertSynchronized(context: String) throws {
        let status = try world.zettabee("status", "-H")
        for line in status.stdout.split(separator: "\n") {
            XCTAssertEqual(line.split(separator: "\t")[2], "Synchronized", "\(context): \(line)")
        }
        let source = try dump("src"), destination = try dump("backup")
        for (sourceName, target) in Self.pairs {
            let fingerprint = try self.fingerprint(target)
            let base = try XCTUnwrap(Self.property(destination[target], "zettabee:\(fingerprint):lastsnap"), "\(context): \(target)")
            for member in members(of: sourceName) {
                let sent = Self.snapshots(source[sourceName + member])[base]
                XCTAssertNotNil(sent, "\(context): \(sourceName + member) lacks the base")
                XCTAssertEqual(Self.snapshots(destination[target + member])[base], sent, "\(context): \(target + member)")
                XCTAssertEqual(destination[target + member]?["referenced"] as? Int, source[sourceName + member]?["referenced"] as? Int,
                               "\(context): the data of \(target + member)")
            }
        }
    }
}
