/// Typed builders for every `zfs` and `zpool` command zettabee runs. Flags are separate words in a
/// fixed order, so the argv of a given call never changes; only options old zfs versions (zfs-fuse)
/// understand are used unless a caller asks for more.

/// `zfs` subcommands.
public enum ZFS {
    public static let executable = "zfs"

    // MARK: Values shared by several subcommands

    /// The base of an incremental send.
    public struct Incremental: Sendable, Hashable {
        /// `-i` sends only the difference; `-I` also sends every snapshot in between.
        public let includesIntermediates: Bool
        public let base: SnapshotName

        /// `-i BASE`: the difference between `base` and the sent snapshot, as one snapshot.
        public static func from(_ base: SnapshotName) -> Incremental {
            Incremental(includesIntermediates: false, base: base)
        }

        /// `-I BASE`: every snapshot after `base` up to the sent one.
        public static func withIntermediates(from base: SnapshotName) -> Incremental {
            Incremental(includesIntermediates: true, base: base)
        }
    }

    /// How deep `zfs get` and `zfs list` look below the datasets named.
    public enum Depth: Sendable, Hashable {
        /// Only the datasets named.
        case named
        /// `-r`.
        case recursive
        /// `-d N`.
        case levels(Int)
    }

    /// How `zfs receive` names the received dataset.
    public enum ReceiveNaming: Sendable, Hashable {
        /// Exactly the target.
        case target
        /// `-d`: the sent name without its pool, below the target.
        case discardPool
        /// `-e`: only the sent name's last component, below the target.
        case lastComponent
    }

    /// A column of `zfs get -o`.
    public enum GetColumn: String, Sendable, Hashable, CaseIterable {
        case name, property, value, received, source
    }

    /// A value of `zfs get -s`.
    public enum PropertySource: String, Sendable, Hashable, CaseIterable {
        case local, `default`, inherited, temporary, received, none
    }

    /// A value of `zfs get -t`.
    public enum DatasetType: String, Sendable, Hashable, CaseIterable {
        case filesystem, volume, snapshot, bookmark, all
    }

    /// How `zfs destroy` is given several snapshots.
    public enum SnapshotListForm: Sendable, Hashable {
        /// `fs@a fs@b`: one argument each.
        case separateArguments
        /// `fs@a,b`: one argument; all snapshots must belong to one dataset.
        case commaSeparated
    }

    // MARK: send and receive

    /// `zfs send [-R] [-p] [-w] [-L] [-c] [-e] [-n] [-v] [-P] [-i|-I BASE] SNAPSHOT`.
    /// - Parameters:
    ///   - replicate: `-R`, the dataset's descendants, snapshots and properties.
    ///   - properties: `-p`.
    ///   - raw: `-w`, blocks exactly as stored (encrypted ones stay encrypted; implies `-L -c -e`).
    ///   - largeBlocks: `-L`; `compressed`: `-c`; `embedded`: `-e`.
    ///   - estimateOnly: `-n`, a dry run printing the estimated size (with `verbose`).
    ///   - verbose: `-v`; `parsable`: `-P`.
    public static func send(
        _ snapshot: SnapshotName, incremental: Incremental? = nil, replicate: Bool = false,
        properties: Bool = false, raw: Bool = false, largeBlocks: Bool = false, compressed: Bool = false,
        embedded: Bool = false, estimateOnly: Bool = false, verbose: Bool = false, parsable: Bool = false
    ) -> Command {
        var arguments: [Argument] = [.flag("send")]
        arguments += flags([
            (replicate, "-R"), (properties, "-p"), (raw, "-w"), (largeBlocks, "-L"), (compressed, "-c"), (embedded, "-e"),
            (estimateOnly, "-n"), (verbose, "-v"), (parsable, "-P"),
        ])
        if let incremental {
            arguments += [.flag(incremental.includesIntermediates ? "-I" : "-i"), .snapshot(incremental.base)]
        }
        arguments.append(.snapshot(snapshot))
        return Command(executable, arguments, label: "zfs send")
    }

    /// `zfs send [-n] [-v] [-P] -t TOKEN`: resumes an interrupted send from the destination's
    /// `receive_resume_token` (letters, digits and `-`).
    public static func resumeSend(
        token: String, estimateOnly: Bool = false, verbose: Bool = false, parsable: Bool = false
    ) throws(InvalidValue) -> Command {
        try Check.word(token, field: "resume token", what: "resume token") { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
        }
        if token.hasPrefix("-") {
            throw InvalidValue(field: "resume token", value: token, reason: "token must not begin with '-'")
        }
        var arguments: [Argument] = [.flag("send")]
        arguments += flags([(estimateOnly, "-n"), (verbose, "-v"), (parsable, "-P")])
        arguments += [.flag("-t"), .value(token)]
        return Command(executable, arguments, label: "zfs send")
    }

    /// `zfs receive [-F] [-s] [-u] [-v] [-d|-e] [-o P=V].. [-x P].. TARGET`.
    /// - Parameters:
    ///   - target: a filesystem, or a snapshot name for the received snapshot.
    ///   - force: `-F`, roll the destination back first. `resumable`: `-s`. `noMount`: `-u`.
    public static func receive(
        into target: any ZFSObjectName, force: Bool = false, resumable: Bool = false, noMount: Bool = false,
        verbose: Bool = false, naming: ReceiveNaming = .target, setting: [PropertyAssignment] = [],
        excluding: [PropertyName] = []
    ) -> Command {
        var arguments: [Argument] = [.flag("receive")]
        arguments += flags([(force, "-F"), (resumable, "-s"), (noMount, "-u"), (verbose, "-v")])
        switch naming {
        case .target: break
        case .discardPool: arguments.append(.flag("-d"))
        case .lastComponent: arguments.append(.flag("-e"))
        }
        for assignment in setting { arguments += [.flag("-o"), .value(assignment.word)] }
        for property in excluding { arguments += [.flag("-x"), .value(property.rawValue)] }
        arguments.append(target.argument)
        return Command(executable, arguments, label: "zfs receive", inputEndedEarlyMessages: receiveInputEndedEarly)
    }

    /// What `zfs receive` says when its stream ended early or arrived damaged: the sender's side, when it
    /// failed by itself, is the cause (OpenZFS, and old zfs's `invalid backup stream`).
    public static let receiveInputEndedEarly = [
        "incomplete stream", "failed to read from stream", "checksum mismatch", "invalid backup stream",
    ]

    /// `zfs version`: OpenZFS's version; older zfs (zfs-fuse) answers with a usage error.
    public static func version() -> Command {
        Command(executable, [.flag("version")], label: "zfs version")
    }

    /// `zfs receive -A FILESYSTEM`: discards the partial state of an interrupted `receive -s`.
    public static func abortResumableReceive(_ filesystem: DatasetName) -> Command {
        Command(executable, [.flag("receive"), .flag("-A"), .dataset(filesystem)], label: "zfs receive -A")
    }

    // MARK: snapshots and holds

    /// `zfs snapshot [-r] SNAPSHOT..`: several snapshots are taken atomically.
    public static func snapshot(_ snapshots: [SnapshotName], recursive: Bool = false) throws(InvalidValue) -> Command {
        try requireSome(snapshots, field: "snapshots to take")
        let arguments: [Argument] = [.flag("snapshot")] + flags([(recursive, "-r")]) + snapshots.map(Argument.snapshot)
        return Command(executable, arguments, label: "zfs snapshot")
    }

    /// `zfs destroy [-d] [-n] [-p] [-r] [-v] SNAPSHOTS`.
    /// - Parameters:
    ///   - form: several arguments, or one `fs@a,b,c` (then all must be of one dataset).
    ///   - deferred: `-d`, destroy once the last hold is released. `dryRun`: `-n`.
    ///   - parsable: `-p`. `recursive`: `-r`, the same snapshot of every descendant. `verbose`: `-v`.
    public static func destroy(
        _ snapshots: [SnapshotName], form: SnapshotListForm = .separateArguments, deferred: Bool = false,
        dryRun: Bool = false, parsable: Bool = false, recursive: Bool = false, verbose: Bool = false
    ) throws(InvalidValue) -> Command {
        try requireSome(snapshots, field: "snapshots to destroy")
        var arguments: [Argument] = [.flag("destroy")]
        arguments += flags([(deferred, "-d"), (dryRun, "-n"), (parsable, "-p"), (recursive, "-r"), (verbose, "-v")])
        switch form {
        case .separateArguments:
            arguments += snapshots.map(Argument.snapshot)
        case .commaSeparated:
            let dataset = snapshots[0].dataset
            if let other = snapshots.first(where: { $0.dataset != dataset }) {
                throw InvalidValue(
                    field: "snapshots to destroy", value: other.rawValue,
                    reason: "not a snapshot of \(dataset.rawValue); a comma-separated list names one dataset")
            }
            arguments.append(.snapshotList(dataset, names: snapshots.map(\.name)))
        }
        return Command(executable, arguments, label: "zfs destroy")
    }

    /// `zfs rollback [-r] SNAPSHOT`; `-r` destroys any later snapshots.
    /// `zfs destroy -r FILESYSTEM`: a filesystem with its descendants and all their snapshots. Only for a
    /// destination that a failed run created and that holds nothing but that run's partial work.
    public static func destroyFilesystem(_ filesystem: DatasetName) -> Command {
        Command(executable, [.flag("destroy"), .flag("-r"), .dataset(filesystem)], label: "zfs destroy")
    }

    public static func rollback(to snapshot: SnapshotName, destroyingLaterSnapshots: Bool = false) -> Command {
        Command(executable, [.flag("rollback")] + flags([(destroyingLaterSnapshots, "-r")]) + [.snapshot(snapshot)],
                label: "zfs rollback")
    }

    /// `zfs hold [-r] TAG SNAPSHOT..`.
    public static func hold(_ tag: HoldTag, on snapshots: [SnapshotName], recursive: Bool = false) throws(InvalidValue) -> Command {
        try requireSome(snapshots, field: "snapshots to hold")
        return Command(
            executable, [.flag("hold")] + flags([(recursive, "-r")]) + [.value(tag.rawValue)] + snapshots.map(Argument.snapshot),
            label: "zfs hold")
    }

    /// `zfs release [-r] TAG SNAPSHOT..`.
    public static func release(_ tag: HoldTag, from snapshots: [SnapshotName], recursive: Bool = false) throws(InvalidValue) -> Command {
        try requireSome(snapshots, field: "snapshots to release")
        return Command(
            executable, [.flag("release")] + flags([(recursive, "-r")]) + [.value(tag.rawValue)] + snapshots.map(Argument.snapshot),
            label: "zfs release")
    }

    // MARK: properties and listing

    /// `zfs get [-H] [-p] [-r|-d N] [-o COLS] [-s SOURCES] [-t TYPES] PROPS [TARGETS..]`.
    /// - Parameters:
    ///   - scripted: `-H`, tab-separated without header (on by default: zettabee parses the output).
    ///   - parsable: `-p`, exact numbers.
    public static func get(
        _ properties: [PropertyName], of targets: [any ZFSObjectName] = [], scripted: Bool = true,
        parsable: Bool = false, depth: Depth = .named, columns: [GetColumn] = [], sources: [PropertySource] = [],
        types: [DatasetType] = []
    ) throws(InvalidValue) -> Command {
        try requireSome(properties, field: "properties to get")
        var arguments: [Argument] = [.flag("get")]
        arguments += flags([(scripted, "-H"), (parsable, "-p")])
        arguments += try depthArguments(depth)
        if !columns.isEmpty { arguments += [.flag("-o"), .value(commaList(columns.map(\.rawValue)))] }
        if !sources.isEmpty { arguments += [.flag("-s"), .value(commaList(sources.map(\.rawValue)))] }
        if !types.isEmpty { arguments += [.flag("-t"), .value(commaList(types.map(\.rawValue)))] }
        arguments.append(.value(commaList(properties.map(\.rawValue))))
        arguments += targets.map(\.argument)
        return Command(executable, arguments, label: "zfs get")
    }

    /// `zfs set P=V.. TARGET`.
    public static func set(_ assignments: [PropertyAssignment], on target: any ZFSObjectName) throws(InvalidValue) -> Command {
        try requireSome(assignments, field: "properties to set")
        return Command(
            executable, [.flag("set")] + assignments.map { .value($0.word) } + [target.argument], label: "zfs set")
    }

    // MARK: helpers

    /// The flags whose condition holds, in the order given.
    static func flags(_ candidates: [(Bool, String)]) -> [Argument] {
        candidates.filter(\.0).map { .flag($0.1) }
    }

    static func commaList(_ words: [String]) -> String { words.joined(separator: ",") }

    static func depthArguments(_ depth: Depth) throws(InvalidValue) -> [Argument] {
        switch depth {
        case .named: return []
        case .recursive: return [.flag("-r")]
        case .levels(let levels):
            guard levels >= 0 else {
                throw InvalidValue(field: "depth", value: String(levels), reason: "depth must be 0 or more")
            }
            return [.flag("-d"), .value(String(levels))]
        }
    }

    static func requireSome<T>(_ values: [T], field: String) throws(InvalidValue) {
        if values.isEmpty { throw InvalidValue(field: field, value: "", reason: "at least one is required") }
    }
}

/// `zpool` subcommands.
public enum ZPool {
    public static let executable = "zpool"

    /// A column of `zpool get -o`.
    public enum GetColumn: String, Sendable, Hashable, CaseIterable {
        case name, property, value, source
    }

    /// `zpool get [-H] [-p] [-o COLS] PROPS [POOL..]`, e.g. `zpool get -H -o value version tank`.
    public static func get(
        _ properties: [PropertyName], pools: [PoolName] = [], scripted: Bool = true, parsable: Bool = false,
        columns: [GetColumn] = []
    ) throws(InvalidValue) -> Command {
        try ZFS.requireSome(properties, field: "pool properties to get")
        var arguments: [Argument] = [.flag("get")]
        arguments += ZFS.flags([(scripted, "-H"), (parsable, "-p")])
        if !columns.isEmpty { arguments += [.flag("-o"), .value(ZFS.commaList(columns.map(\.rawValue)))] }
        arguments.append(.value(ZFS.commaList(properties.map(\.rawValue))))
        arguments += pools.map { .value($0.rawValue) }
        return Command(executable, arguments, label: "zpool get")
    }
}
