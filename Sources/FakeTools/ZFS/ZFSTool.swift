import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What every zfs subcommand gets: the world, the host's state store, the mode and the faults that fire.
final class ZContext {
    let world: FakeWorld
    let store: StateStore
    let legacy: Bool
    let version: ZFSVersion
    let faults: [FaultRule]
    let command: String
    let arguments: [String]
    let started = Date()

    init(world: FakeWorld, legacy: Bool, faults: [FaultRule], command: String, arguments: [String]) {
        self.world = world
        store = StateStore(world: world)
        self.legacy = legacy
        version = ZFSVersion.fromEnvironment()
        self.faults = faults
        self.command = command
        self.arguments = arguments
    }

    /// The first firing fault rule with this effect.
    func fault(_ effect: String) -> FaultRule? { faults.first { $0.effect == effect } }

    /// A usage failure of the current subcommand: reason, `usage:` and its usage text, exit 2.
    func usage(_ reason: String?) -> Failure {
        Failure((reason.map { $0 + "\n" } ?? "") + Usage.zfsCommandUsage(command, legacy: legacy), code: 2)
    }

    func parse(_ arguments: [String], modern: String, legacy legacySpec: String) throws -> Options {
        switch Options.parse(arguments, spec: legacy ? legacySpec : modern) {
        case .success(let options): return options
        case .failure(let reason): throw usage(reason.message)
        }
    }

    func openError(_ name: String) -> String { "cannot open '\(name)': dataset does not exist" }

    /// Records the call in the world's call log (also right before the process kills itself).
    func logCall(tool: String = "zfs", exitCode: Int32) {
        world.logCall(tool: tool, arguments: arguments, exitCode: exitCode, duration: Date().timeIntervalSince(started))
    }
}

/// Writes text to a file descriptor.
enum Out {
    static func write(_ fd: Int32, _ text: String) {
        guard !text.isEmpty else { return }
        var data = Array(text.utf8)
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
        data.removeAll()
    }

    static func out(_ text: String) { write(1, text) }
    static func err(_ text: String) { write(2, text) }
}

/// Applies the generic fault knobs: latency (sleep first) and failing the call outright.
/// Returns an exit code when the call must fail without doing anything.
func applyCommonFaults(_ faults: [FaultRule]) -> Int32? {
    for rule in faults where rule.effect == "latency" {
        let seconds = Double(rule.parameter("seconds") ?? "0") ?? 0
        if seconds > 0 { usleep(UInt32(min(seconds, 3600) * 1_000_000)) }
    }
    // Replaces the call's output: `stdout` (written `repeat` times) and `stderr`, then `exit` (default 0).
    // For tests of what the caller makes of output it does not expect.
    if let rule = faults.first(where: { $0.effect == "output" }) {
        let text = rule.parameter("stdout") ?? ""
        var remaining = max(1, min(rule.intParameter("repeat") ?? 1, 10_000_000))
        while remaining > 0 {
            let batch = min(remaining, 1000)
            Out.out(String(repeating: text, count: batch))
            remaining -= batch
        }
        Out.err(rule.parameter("stderr") ?? "")
        return Int32(rule.intParameter("exit") ?? 0)
    }
    if let rule = faults.first(where: { $0.effect == "fail" }) {
        var message = rule.parameter("message") ?? "internal error: Input/output error"
        if !message.isEmpty && !message.hasSuffix("\n") { message += "\n" }
        Out.err(message)
        return Int32(rule.intParameter("exit") ?? 1)
    }
    return nil
}

/// The legacy switch: the host's state (ssh drops the environment) or `ZFAKE_ZFS_LEGACY=1`.
func hostIsLegacy(_ world: FakeWorld) -> Bool {
    if let value = ProcessInfo.processInfo.environment["ZFAKE_ZFS_LEGACY"], !value.isEmpty { return value != "0" }
    return (try? StateStore(world: world).read { $0.legacy }) ?? false
}

/// The fake `zfs`.
enum ZFSTool {
    static func main(_ arguments: [String]) -> Int32 {
        // `zfs -?` / `zfs --help`: the full usage on stdout, exit 0, with no world needed.
        if let first = arguments.first, first == "-?" || first == "--help" {
            let legacy = ProcessInfo.processInfo.environment["ZFAKE_ZFS_LEGACY"].map { !$0.isEmpty && $0 != "0" } ?? false
            Out.out(Usage.zfsFull(legacy: legacy))
            return 0
        }
        let world = FakeWorld.fromEnvironment()
        let command = arguments.first ?? ""
        let faults = Faults.firing(in: world, tool: "zfs", subcommand: command, arguments: arguments)
        let context = ZContext(world: world, legacy: hostIsLegacy(world), faults: faults, command: command, arguments: arguments)
        let code: Int32
        if let failed = applyCommonFaults(faults) {
            code = failed
        } else {
            code = run(context, Array(arguments.dropFirst()))
        }
        context.logCall(exitCode: code)
        return code
    }

    static func run(_ ctx: ZContext, _ rest: [String]) -> Int32 {
        do {
            switch ctx.command {
            case "list", "ls": try ListCommand.run(ctx, rest)
            case "get": try GetCommand.run(ctx, rest)
            case "set": try Commands.set(ctx, rest)
            case "inherit": try Commands.inherit(ctx, rest)
            case "create": try Commands.create(ctx, rest)
            case "snapshot", "snap": try Commands.snapshot(ctx, rest)
            case "destroy": try Commands.destroy(ctx, rest)
            case "rollback": try Commands.rollback(ctx, rest)
            case "hold": try Commands.hold(ctx, rest)
            case "release": try Commands.release(ctx, rest)
            case "holds": try Commands.holds(ctx, rest)
            case "bookmark" where !ctx.legacy: try Commands.bookmark(ctx, rest)
            case "clone": try CloneCommands.clone(ctx, rest)
            case "promote": try CloneCommands.promote(ctx, rest)
            case "rename": try CloneCommands.rename(ctx, rest)
            case "mount" where !ctx.legacy: try Mounts.mount(ctx, rest)
            case "unmount" where !ctx.legacy, "umount" where !ctx.legacy: try Mounts.unmount(ctx, rest)
            case "load-key" where !ctx.legacy: try Keys.loadOrUnload(ctx, rest, load: true)
            case "unload-key" where !ctx.legacy: try Keys.loadOrUnload(ctx, rest, load: false)
            case "change-key" where !ctx.legacy: try Keys.changeKey(ctx, rest)
            case "send": try SendCommand.run(ctx, rest)
            case "receive", "recv": try ReceiveCommand.run(ctx, rest)
            case "version" where !ctx.legacy:
                let v = ctx.version.text
                Out.out("zfs-\(v)-1\nzfs-kmod-\(v)-1\n")
            case "":
                throw Failure("missing command\n" + Usage.zfsFull(legacy: ctx.legacy), code: 2)
            default:
                throw Failure("unrecognized command '\(ctx.command)'\n" + Usage.zfsFull(legacy: ctx.legacy), code: 2)
            }
            return 0
        } catch let failure as Failure {
            if !failure.message.isEmpty {
                Out.err(failure.message.hasSuffix("\n") ? failure.message : failure.message + "\n")
            }
            return failure.code
        } catch {
            Out.err("internal error: \(error)\n")
            return 1
        }
    }
}

/// A failure that already printed its messages and only carries the exit code.
func silentFailure(_ code: Int32 = 1) -> Failure { Failure("", code: code) }
