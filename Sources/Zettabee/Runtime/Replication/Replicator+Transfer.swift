import CommandGraph
import Foundation
import GraphRunner

/// The transfer: the stream's graph run (or rendered) through the change executor, its progress
/// sampled, and a failure put in one line that names the cause.
extension Replicator {
    /// Runs the transfer graph (or prints it in a dry run) and returns the bytes received and seconds.
    func runTransfer(send: SendSpecification, receive: ReceiveSettings) throws(ActionError) -> (bytes: UInt64, seconds: Double) {
        var send = send
        var receive = receive
        send.format = streamFormat
        if streamFormat.excludesMountpoint { receive.excluding.append(.mountpoint) }
        let graph: Graph
        do {
            graph = try TransferPlanner.transfer(pair: pair, source: streamSource, send: send, receive: receive, listen: mbufferListen())
        } catch {
            throw ActionError(error.description, exitCode: 2, nagios: .unknown)
        }
        let lowered = Lowering.lower(graph)
        let rendered = Rendering.render(lowered)
        if !changes.rendersOnly { log.debug("transfer: \(rendered)") }
        let receiver = receiverStage(of: lowered)
        let bytes = ByteCounter()
        let observer = settings.observer
        if !changes.rendersOnly && sourceEstimatesSizes { observer?.sending(RecordedStream(send)) }
        observer?.phase("transfer", estimatedBytes: observer?.wantsSizeEstimate == true && !changes.rendersOnly ? estimatedSize(of: send) : nil)
        let counted = countedStage(of: lowered)
        var options = RunOptions(
            stallTimeout: settings.stallTimeout ?? Double(pair.options.stallTimeout.seconds), environment: settings.environment,
            stderrLines: { [log] stage, line in log.debug("stage \(stage): \(line)") },
            progress: { sample in
                if let io = sample.stages[receiver.pipeline][receiver.stage] { bytes.update(io.bytesRead) }
                observer?.transferred(bytes: bytes.value, elapsed: sample.elapsed)
            },
            started: startedObserver())
        options.finalCounters = [counted.stage]
        let started = Date()
        do {
            guard let result = try changes.transfer(lowered, executor: executor, options: options) else { return (0, 0) }
            let seconds = Date().timeIntervalSince(started)
            let stage = result.stages[counted.stage.pipeline][counted.stage.stage]
            if let final = stage.finalIO {
                let own = stage.stderrBytes + counted.ownWrites
                let size = counted.exact ? final.bytesWritten &- min(own, final.bytesWritten) : final.bytesRead
                log.info(counted.exact
                    ? "transfer: \(size) bytes, exactly as \(stage.spec.label) wrote them into zfs receive"
                    : "transfer: about \(size) bytes (zfs receive's read count, its own reads of other files included; exactsize=no)")
                observer?.transferred(bytes: size, elapsed: seconds)
                return (size, seconds)
            }
            return (bytes.value, seconds)
        } catch let failure as RunFailure {
            log.error("transfer failed: \(failure.description)")
            log.writeLines(.error, failure.details)
            var signal: Int32?
            if case .interrupted(let number) = failure.kind { signal = number }
            let receiveSaid = failure.result.map { $0.stages[receiver.pipeline][receiver.stage].stderrTail } ?? ""
            throw ActionError(
                transferFailureMessage(failure, receiveSaid: receiveSaid, base: send.base), nagios: .critical,
                details: failure.details, signal: signal)
        } catch {
            throw ActionError("transfer failed: \(error)")
        }
    }

    /// One line saying why a transfer failed, naming the cause where zfs's words are known.
    func transferFailureMessage(_ failure: RunFailure, receiveSaid: String, base: SnapshotName?) -> String {
        let destination = pair.destination.dataset
        if receiveSaid.contains("has been modified") {
            return "destination \(destination) has been modified since the base snapshot \(base?.name ?? "")"
                + "; refusing to roll it back without --force-rollback or the pair option rollback=yes"
        }
        if receiveSaid.contains("does not match incremental source") || receiveSaid.contains("destination already exists") {
            return "destination \(destination) has snapshots newer than the base \(base?.name ?? "") that this pair did not make"
                + "; remove them, or allow a rollback with --force-rollback or rollback=yes"
        }
        if receiveSaid.contains("out of space") {
            return "destination \(destination) is out of space: \(ZFSErrorText.summary(receiveSaid) ?? "out of space")"
        }
        switch failure.kind {
        case .stageFailed(let id):
            guard let stage = failure.result?.stages[id.pipeline][id.stage] else { break }
            var name = stage.spec.label
            if let (index, _) = stage.failedRemoteStage, stage.termination == .exited(0), index < stage.spec.remoteStageLabels.count {
                name = stage.spec.remoteStageLabels[index] + " on \(pair.source.host)"
            }
            let said = ZFSErrorText.summary(stage.stderrTail) ?? "it \(stage.termination?.description ?? "did not end")"
            return "transfer failed: \(name) failed: \(said)"
        default: break
        }
        return "transfer failed: \(failure.description)"
    }

    /// The stream's size as the source's `zfs send -nvP` estimates it (the `size` line), where its zfs
    /// supports estimates; `nil` otherwise or when the estimate fails (the transfer runs without a percent
    /// and an ETA then). One read over the shared connection.
    func estimatedSize(of send: SendSpecification) -> UInt64? {
        guard sourceEstimatesSizes, let command = try? SizeEstimate.command(for: send) else { return nil }
        guard let output = try? source.run(command, limit: 1 << 20) else {
            log.debug("no size estimate for the stream")
            return nil
        }
        let estimate = SizeEstimate.parse(output)
        if let estimate { log.debug("estimated stream size: \(estimate) bytes") }
        return estimate
    }

    /// The source's zfs estimates stream sizes (`zfs send -nvP`, OpenZFS).
    var sourceEstimatesSizes: Bool {
        settings.capabilities.value(at: source.origin, pool: pair.source.dataset.pool)?.sendEstimates ?? false
    }

    func startedObserver() -> (@Sendable (StageID, Int32) -> Void)? {
        guard let report = settings.childStarted else { return nil }
        return { _, pid in report(pid) }
    }

    /// Where the mbuffer listener binds: the pair's `listen=`, else the destination host's name, unless
    /// that name resolves to loopback addresses only (127.0.1.1 in many a Debian /etc/hosts), where the
    /// source could not reach it: then every interface, as the original Zettabee listens, and the log
    /// says so. The GUID check after every receive stays either way. Decided once per run.
    func mbufferListen() -> ListenAddress? {
        guard case .mbuffer(let options) = pair.options.transport else { return nil }
        if let listen = options.listen { return listen }
        if let decided = listenDecision { return decided }
        let host = pair.destination.host.rawValue
        let addresses = settings.lookUpAddresses(host)
        var decision: ListenAddress? = nil
        if !addresses.isEmpty && addresses.allSatisfy(AddressLookup.isLoopback) {
            log.warn("destination host \(host) resolves to \(addresses.joined(separator: ", ")) (loopback), where the source "
                + "cannot connect: mbuffer listens on every interface; set listen=ADDRESS to choose")
            decision = .anyInterface
        }
        listenDecision = .some(decision)
        return decision
    }

    /// The stage whose final counters give the stream's size: the local stage that feeds `zfs receive`
    /// (the mbuffer listener, the decompressor, or `cat` after plain ssh; see `TransferPlanner`). Its
    /// writes are the stream and its stderr, which the runner counts, plus `ownWrites`: mbuffer's output
    /// thread reports its end to the main thread with one byte through an internal pipe (Debian's mbuffer
    /// 20230301, measured: its writes are the stream, its stderr and 1; the real tier checks it).
    /// With `exactsize=no` ssh feeds the receive, and ssh's writes include its connection's traffic:
    /// then the receive's own read count, not exact either (zfs also reads other files).
    func countedStage(of graph: LoweredGraph) -> (stage: StageID, exact: Bool, ownWrites: UInt64) {
        let receiver = receiverStage(of: graph)
        guard receiver.stage > 0 else { return (receiver, false, 0) }  // nothing feeds it: no transfer graph
        let feeder = graph.pipelines[0].stages[receiver.stage - 1]
        let name = (feeder.executable as NSString).lastPathComponent
        if !feeder.remoteStageLabels.isEmpty || name == "ssh" { return (receiver, false, 0) }
        return (StageID(pipeline: receiver.pipeline, stage: receiver.stage - 1), true, name == "mbuffer" ? 1 : 0)
    }

    /// The local `zfs receive` stage: the last stage of the first pipeline.
    func receiverStage(of graph: LoweredGraph) -> StageID {
        StageID(pipeline: 0, stage: graph.pipelines[0].stages.count - 1)
    }
}

/// The largest byte count seen, updated from the runner's progress thread.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: UInt64 = 0
    func update(_ value: UInt64) { lock.withLock { bytes = max(bytes, value) } }
    var value: UInt64 { lock.withLock { bytes } }
}

func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }

/// The transfer's size and speed for the log: the size from the final counters of the stage that fed
/// `zfs receive` (see `countedStage`), read as it ended.
func volume(_ transfer: (bytes: UInt64, seconds: Double)) -> String {
    guard transfer.bytes > 0 else { return "size not measured" }
    return "\(transfer.bytes) bytes (\(rate(transfer.bytes, transfer.seconds)))"
}

func rate(_ bytes: UInt64, _ seconds: Double) -> String {
    guard seconds > 0 else { return "-" }
    return String(format: "%.1f MiB/s", Double(bytes) / seconds / 1_048_576)
}
