import CommandGraph
import Foundation
import GraphRunner

/// Reads the status of many pairs at a constant cost per host: each host (the local destination host,
/// and each distinct ssh source) answers two `zfs get`s over all its pairs' datasets: the snapshots'
/// identities over the whole trees (`-r`: guid, createtxg, creation, userrefs), and the filesystems' own local and received
/// properties (`all -s local,received`, which holds every pair's `zettabee:` properties however many
/// pairs there are). The destination host also answers `zfs version`; `receive_resume_token` is asked
/// for only where that shows a modern zfs. Hosts are asked concurrently.
public struct StatusReader: Sendable {
    public var files: PairFiles
    public var sshConfig: String?
    public var environment: [String: String]
    public var executor: any GraphExecuting
    /// Called with each command before it runs (debug logging).
    public var observer: @Sendable (String) -> Void

    public init(
        files: PairFiles, sshConfig: String?, environment: [String: String] = [:], executor: any GraphExecuting,
        observer: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.files = files
        self.sshConfig = sshConfig
        self.environment = environment
        self.executor = executor
        self.observer = observer
    }

    /// What one host said: its property table, or why it could not be read.
    struct HostAnswer: Sendable {
        var table = PropertyTable()
        var problem: String?
        var modernZFS = false
    }

    /// One host's share of the work.
    struct HostQuery: Sendable {
        var location: Location
        var hostName: String
        var datasets: [DatasetName] = []
        var properties: [String] = []
        var probeVersion: Bool
    }

    public func read(_ pairs: [Pair], now: Date = Date()) -> [PairStatus] {
        var queries: [Location: HostQuery] = [:]
        var sourceLocations: [Location?] = []
        var locationProblems: [String?] = []
        for pair in pairs {
            let properties = DatasetState.identityProperties
            let destination = Location.local
            queries[destination, default: HostQuery(location: destination, hostName: pair.destination.host.rawValue, probeVersion: true)]
                .add(pair.destination.dataset, properties)
            do {
                let source = Location.remote(try TransferPlanner.sourceLocation(of: pair, sshConfig: sshConfig))
                queries[source, default: HostQuery(location: source, hostName: pair.source.host.rawValue, probeVersion: false)]
                    .add(pair.source.dataset, properties)
                sourceLocations.append(source)
                locationProblems.append(nil)
            } catch {
                sourceLocations.append(nil)
                locationProblems.append(error.description)
            }
        }
        let ordered = Array(queries.values)
        let answers = ConcurrentResults<HostAnswer>(count: ordered.count)
        let group = DispatchGroup()
        for (index, query) in ordered.enumerated() {
            // One thread per host: the hosts wait on the network, not on this machine's cores.
            let thread = Thread { answers.set(index, ask(query)); group.leave() }
            group.enter()
            thread.start()
        }
        group.wait()
        var byLocation: [Location: HostAnswer] = [:]
        for (index, query) in ordered.enumerated() { byLocation[query.location] = answers.values[index] }

        return pairs.enumerated().map { index, pair in
            let destinationAnswer = byLocation[.local]!
            let sourceAnswer = sourceLocations[index].flatMap { byLocation[$0] }
            var problem = locationProblems[index] ?? sourceAnswer?.problem
            problem = destinationAnswer.problem ?? problem
            var source: DatasetState?
            var destination: DatasetState?
            if problem == nil, let sourceAnswer {
                do {
                    source = try DatasetState.from(sourceAnswer.table, dataset: pair.source.dataset)
                    destination = try DatasetState.from(destinationAnswer.table, dataset: pair.destination.dataset)
                } catch {
                    problem = "unexpected zfs output: \(error)"
                    source = nil
                    destination = nil
                }
            }
            return PairStatus.assess(
                pair: pair, source: source, destination: destination, queryProblem: problem,
                resumeTokenSet: destination?.tree.contains(where: \.hasPartialReceive) ?? false,
                lock: PairLock.inspect(path: files.lockPath(for: pair.fingerprint)),
                lastRun: RunRecord.load(from: files.lastRunPath(for: pair.fingerprint)), now: now)
        }
    }

    /// Asks one host; a dataset that does not exist is no error (it is simply absent from the table).
    func ask(_ query: HostQuery) -> HostAnswer {
        let session = HostSession(
            host: query.hostName, location: query.location, executor: executor,
            runOptions: RunOptions(timeout: 120, environment: environment), observer: observer)
        var answer = HostAnswer()
        var properties = query.properties
        if query.probeVersion {
            answer.modernZFS = session.probe(ZFS.version()).exitStatus == 0
            if answer.modernZFS { properties.append("receive_resume_token") }
        }
        let identities: Command
        let ownProperties: Command
        do {
            identities = try ZFS.get(
                try properties.map { name throws(InvalidValue) in try PropertyName(name) }, of: query.datasets,
                parsable: true, depth: .recursive, columns: [.name, .property, .value, .source])
            ownProperties = try ZFS.get(
                [.all], of: query.datasets, parsable: true, columns: [.name, .property, .value, .source],
                sources: [.local, .received])
        } catch {
            answer.problem = error.description
            return answer
        }
        for command in [identities, ownProperties] {
            let outcome = session.query(command)
            if let failure = outcome.failure, !Self.onlyMissingDatasets(failure) {
                answer.problem = failure.description
                return answer
            }
            do {
                answer.table.merge(try PropertyTable.parse(outcome.stdout))
            } catch {
                answer.problem = "unexpected zfs output on \(query.hostName): \(error)"
                return answer
            }
        }
        return answer
    }

    /// True when zfs failed only because some of the datasets asked for do not exist.
    static func onlyMissingDatasets(_ failure: CommandFailure) -> Bool {
        guard failure.exitStatus == 1 else { return false }
        let lines = failure.stderrTail.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        return !lines.isEmpty && lines.allSatisfy { $0.hasPrefix("cannot open '") && $0.hasSuffix("dataset does not exist") }
    }
}

extension StatusReader.HostQuery {
    mutating func add(_ dataset: DatasetName, _ names: [String]) {
        if !datasets.contains(dataset) { datasets.append(dataset) }
        for name in names where !properties.contains(name) { properties.append(name) }
    }
}

/// Results filled in from several threads, one slot each.
final class ConcurrentResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) { lock.withLock { slots[index] = value } }

    var values: [Value] { lock.withLock { slots.map { $0! } } }
}
