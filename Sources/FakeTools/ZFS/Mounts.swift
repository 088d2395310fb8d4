import Foundation

/// Mount state (reference §A15). Nothing real is mounted: a filesystem is marked mounted at its
/// effective mountpoint, which `zfs mount`, `zfs get mounted` and `zfake ctl dump` report. Modern
/// hosts only; the legacy mode keeps no mount state.
enum Mounts {
    /// The effective mountpoint and its source.
    static func mountpoint(_ state: HostState, _ fs: String) -> PropertyValue? {
        guard let d = state.datasets[fs], d.volume == nil else { return nil }
        return PropertyResolver(state: state, legacy: false).value("mountpoint", of: .filesystem(d))
    }

    static func canmount(_ state: HostState, _ fs: String) -> String {
        guard let d = state.datasets[fs] else { return "on" }
        return PropertyResolver(state: state, legacy: false).value("canmount", of: .filesystem(d))?.raw ?? "on"
    }

    static func hasPath(_ mountpoint: String) -> Bool { mountpoint != "none" && mountpoint != "legacy" }

    /// What a create or a receive mounts: canmount=on, a mountpoint path, the key available, complete.
    static func mountsAutomatically(_ state: HostState, _ fs: String) -> Bool {
        guard let d = state.datasets[fs], !d.inconsistent, d.partial == nil,
              let mp = mountpoint(state, fs), hasPath(mp.raw) else { return false }
        return canmount(state, fs) == "on" && state.keyAvailable(fs)
    }

    /// Mounts a new filesystem if it mounts automatically.
    static func mountNew(_ state: inout HostState, _ fs: String, legacy: Bool) {
        guard !legacy, state.datasets[fs] != nil else { return }
        if mountsAutomatically(state, fs) { state.datasets[fs]!.mounted = true }
    }

    /// The receive's mount step: as a new filesystem, but canmount=noauto mounts as well (only `off`
    /// keeps a filesystem unmounted there).
    static func mountAfterReceive(_ state: inout HostState, _ fs: String) {
        guard let d = state.datasets[fs], !d.inconsistent, d.partial == nil,
              let mp = mountpoint(state, fs), hasPath(mp.raw) else { return }
        if canmount(state, fs) != "off" && state.keyAvailable(fs) { state.datasets[fs]!.mounted = true }
    }

    static func isMounted(_ state: HostState, _ fs: String) -> Bool { state.datasets[fs]?.mounted == true }

    /// `fs` and the descendants whose mountpoint follows it (default or inherited source): what unmounting
    /// `fs` or changing its mountpoint affects. Deepest first.
    static func inheritingTree(_ state: HostState, _ fs: String) -> [String] {
        var result = [fs]
        var frontier = [fs]
        while let current = frontier.popLast() {
            for child in state.datasets.keys where Names.parent(of: child) == current {
                let source = mountpoint(state, child)?.source ?? "default"
                if source == "default" || source.hasPrefix("inherited") {
                    result.append(child)
                    frontier.append(child)
                }
            }
        }
        return result.sorted { $0.count > $1.count || ($0.count == $1.count && Ordering.names($0, $1)) }
    }

    /// After `zfs set mountpoint=…`: what was mounted is remounted at the new place (or unmounted for
    /// none/legacy); what could mount and was not, mounts. After `zfs set canmount=off`: unmounted.
    static func propertyChanged(_ state: inout HostState, _ fs: String, property: String, legacy: Bool) {
        guard !legacy, state.datasets[fs] != nil else { return }
        switch property {
        case "mountpoint":
            for name in inheritingTree(state, fs) {
                guard let mp = mountpoint(state, name) else { continue }
                if !hasPath(mp.raw) {
                    state.datasets[name]!.mounted = false
                } else if !isMounted(state, name) && mountsAutomatically(state, name) {
                    state.datasets[name]!.mounted = true
                }
            }
        case "canmount":
            if canmount(state, fs) == "off" { state.datasets[fs]!.mounted = false }
        default:
            break
        }
    }

    /// `zfs mount`, `zfs mount [-flvO] [-o opts] -a|-R fs|fs`.
    static func mount(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "aRlvo:Of", legacy: "")
        if let o = options.value("o"), o.isEmpty { throw ctx.usage("empty mount options (-o) specified") }
        let loadKeys = options.has("l")
        if options.has("a") || options.has("R") {
            if options.has("a") && !options.operands.isEmpty { throw ctx.usage("too many arguments") }
            if options.has("R") && options.operands.isEmpty { throw ctx.usage("no dataset provided") }
            var targets: [String] = []
            let state = try ctx.store.read { $0 }
            if options.operands.isEmpty {
                targets = state.datasets.keys.sorted(by: Ordering.names)
            } else {
                for operand in options.operands {
                    guard state.datasets[operand] != nil, !operand.contains("@") else {
                        throw Failure(ctx.openError(operand) + "\n" + Usage.zfsCommandUsage("mount", legacy: false), code: 2)
                    }
                    targets += [operand] + state.descendants(of: operand)
                }
            }
            var failed = false
            for fs in targets {
                if try !mountOne(ctx, fs, explicit: false, loadKeys: loadKeys) { failed = true }
            }
            if failed { throw silentFailure() }
            return
        }
        if options.operands.isEmpty {
            if options.value("o") != nil { throw ctx.usage("missing filesystem argument (specify -a for all)") }
            let state = try ctx.store.read { $0 }
            var text = ""
            for name in state.datasets.keys.sorted(by: Ordering.names) where isMounted(state, name) {
                let mp = mountpoint(state, name)?.raw ?? ""
                text += name.padding(toLength: max(30, name.count), withPad: " ", startingAt: 0) + "  " + mp + "\n"
            }
            Out.out(text)
            return
        }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        if try !mountOne(ctx, options.operands[0], explicit: true, loadKeys: loadKeys) { throw silentFailure() }
    }

    /// `share_mount_one`: the checks in OpenZFS's order; errors only when the filesystem was named.
    /// Returns false when it failed.
    static func mountOne(_ ctx: ZContext, _ fs: String, explicit: Bool, loadKeys: Bool) throws -> Bool {
        let state = try ctx.store.read { $0 }
        if state.datasets[fs]?.volume != nil {
            // A volume is no filesystem: `-a` passes it by, a named one cannot be opened as one.
            if explicit { Out.err("cannot open '\(fs)': operation not applicable to datasets of this type\n") }
            return !explicit
        }
        guard let d = state.datasets[fs], !fs.contains("@") else {
            if fs.contains("@"), state.exists(fs) {
                Out.err("cannot open '\(fs)': operation not applicable to datasets of this type\n")
            } else {
                Out.err(ctx.openError(fs) + "\n")
            }
            return false
        }
        func refuse(_ reason: String) -> Bool {
            guard explicit else { return true }
            Out.err("cannot mount '\(fs)': \(reason)\n")
            return false
        }
        let mp = mountpoint(state, fs)?.raw ?? "none"
        if mp == "legacy" {
            guard explicit else { return true }
            Out.err("cannot mount '\(fs)': legacy mountpoint\nuse mount(8) to mount this filesystem\n")
            return false
        }
        if mp == "none" { return refuse("no mountpoint set") }
        let can = canmount(state, fs)
        if can == "off" { return refuse("'canmount' property is set to 'off'") }
        if can == "noauto" && !explicit { return true }
        if !loadKeys && !state.keyAvailable(fs) { return refuse("encryption key not loaded") }
        if d.inconsistent && d.partial != nil {
            return refuse("Contains partially-completed state from \"zfs receive -s\", which can be resumed with \"zfs send -t\"")
        }
        if d.mounted == true { return refuse("filesystem already mounted") }
        if !state.keyAvailable(fs), let root = d.crypt?.root {
            guard try Keys.loadOne(ctx, root, noop: false, alternateLocation: nil, quiet: false) else { return false }
        }
        return try ctx.store.mutate { state in
            guard state.datasets[fs] != nil else { Out.err(ctx.openError(fs) + "\n"); return false }
            guard state.keyAvailable(fs) else {
                Out.err("cannot mount '\(mp)': encryption key not loaded\n")
                return false
            }
            state.datasets[fs]!.mounted = true
            return true
        }
    }

    /// `zfs unmount|umount [-fu] -a|fs|mountpoint`.
    static func unmount(_ ctx: ZContext, _ arguments: [String]) throws {
        let options = try ctx.parse(arguments, modern: "afu", legacy: "")
        let unloadKeys = options.has("u")
        if options.has("a") {
            guard options.operands.isEmpty else { throw ctx.usage("too many arguments") }
            let state = try ctx.store.read { $0 }
            let mounted = state.datasets.keys.filter { isMounted(state, $0) && canmount(state, $0) != "noauto" }
                .sorted { (mountpoint(state, $0)?.raw ?? "") > (mountpoint(state, $1)?.raw ?? "") }
            var failed = false
            for fs in mounted where try !unmountTree(ctx, [fs], unloadKeys: unloadKeys) { failed = true }
            if failed { throw silentFailure() }
            return
        }
        guard let target = options.operands.first else { throw ctx.usage("missing filesystem argument") }
        guard options.operands.count == 1 else { throw ctx.usage("too many arguments") }
        let state = try ctx.store.read { $0 }
        var fs = target
        if target.hasPrefix("/") {
            guard let name = state.datasets.keys.sorted(by: Ordering.names).first(where: {
                isMounted(state, $0) && mountpoint(state, $0)?.raw == target
            }) else {
                throw Failure("warning: \(target) not in/proc/self/mounts\n\(target): Invalid argument")
            }
            fs = name
        } else {
            guard state.datasets[target] != nil, !target.contains("@") else { throw Failure(ctx.openError(target)) }
            if mountpoint(state, target)?.raw == "legacy" {
                throw Failure("cannot unmount '\(target)': legacy mountpoint\nuse umount(8) to unmount this filesystem")
            }
            if !isMounted(state, target) { throw Failure("cannot unmount '\(target)': not currently mounted") }
        }
        if try !unmountTree(ctx, inheritingTree(state, fs), unloadKeys: unloadKeys) { throw silentFailure() }
    }

    /// Unmounts the filesystems given deepest first (`changelist_prefix`), then with `-u` unloads the
    /// keys of the encryption roots among them. False when something failed (already reported).
    static func unmountTree(_ ctx: ZContext, _ tree: [String], unloadKeys: Bool) throws -> Bool {
        try ctx.store.mutate { state in
            for fs in tree {
                guard let d = state.datasets[fs] else { continue }
                if d.mounted == true {
                    if d.busy == true {
                        Out.err("cannot unmount '\(mountpoint(state, fs)?.raw ?? fs)': pool or dataset is busy\n")
                        return false
                    }
                    state.datasets[fs]!.mounted = false
                }
                if unloadKeys, state.isEncryptionRoot(fs), state.datasets[fs]!.wrapping?.loaded == true {
                    if let reason = Keys.unloadRefusal(state, fs) {
                        Out.err("Key unload error: \(reason)\n")
                        state.datasets[fs]!.mounted = d.mounted
                        return false
                    }
                    state.datasets[fs]!.wrapping!.loaded = false
                }
            }
            return true
        }
    }
}
