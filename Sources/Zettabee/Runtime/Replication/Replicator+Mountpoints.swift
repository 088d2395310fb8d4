import CommandGraph
import Foundation
import GraphRunner

/// Old zfs only (no `receive -x`): keeping the source's mountpoints off the destination, as
/// `MountpointGuard` says.
extension Replicator {
    /// The destination's parent's mountpoint, read on the destination (`zfs get -H -o value mountpoint`).
    func destinationParentMountpoint() throws(ActionError) -> String? {
        guard let parent = pair.destination.dataset.parent else { return nil }
        let output: String
        do {
            output = try destination.run(ZFS.get([.mountpoint], of: [parent], columns: [.value]))
        } catch let failure as CommandFailure {
            throw ActionError(failure, context: "reading the mountpoint of \(parent)")
        } catch {
            throw ActionError("\(error)", nagios: .unknown)
        }
        let lines = output.split(separator: "\n")
        guard lines.count == 1, let value = lines.first, value.hasPrefix("/") || value == "none" || value == "legacy" else {
            throw ActionError("unexpected zfs output on \(destination.host) for the mountpoint of \(parent): "
                + UntrustedText.quoted(output), nagios: .unknown)
        }
        return String(value)
    }

    /// Gives every copy that took a mountpoint from the source the value it would inherit, as a local
    /// value (see `MountpointGuard.healing`).
    func healMountpoints(destination destinationState: DatasetState) throws(ActionError) {
        guard streamFormat.guardsMountpoints,
              destinationState.tree.contains(where: { $0.properties["mountpoint"]?.source == .received })
        else { return }
        let parentMountpoint = destinationState.properties["mountpoint"]?.source == .received ? try destinationParentMountpoint() : nil
        for pin in MountpointGuard.healing(destination: destinationState, parentMountpoint: parentMountpoint) {
            log.warn("\(pin.dataset) took its mountpoint from the source; setting it to \(pin.mountpoint), the destination's")
            try setProperties([try assignment("mountpoint", pin.mountpoint)], on: pin.dataset, at: destination)
        }
    }

    /// Sends the tree's `snapshot` (from `base`, or whole) into the destination tree: one recursive
    /// stream, or, where the mountpoint guard says so, one stream per dataset, parents first, skipping
    /// copies that already hold `snapshot` (a completion). `destinationState` tells which copies exist.
    func transferTree(
        _ snapshot: String, base: String?, source sourceState: DatasetState, destination destinationState: DatasetState?,
        receive: ReceiveSettings
    ) throws(ActionError) -> (bytes: UInt64, seconds: Double) {
        guard recursive, MountpointGuard.sendsDatasetByDataset(streamFormat, source: sourceState) else {
            return try runTransfer(
                send: SendSpecification(
                    snapshot: try snapshotName(pair.source.dataset, snapshot),
                    base: try base.map { name throws(ActionError) in try snapshotName(pair.source.dataset, name) },
                    recursive: recursive),
                receive: receive)
        }
        log.info("sending the \(sourceState.tree.count) datasets one by one, so that none arrives with a mountpoint from the source")
        var total: (bytes: UInt64, seconds: Double) = (0, 0)
        for member in sourceState.tree {
            let relative = sourceState.relativeName(of: member)
            let target: DatasetName
            do { target = try DatasetName(pair.destination.dataset.rawValue + relative) } catch {
                throw ActionError(error.description, nagios: .unknown)
            }
            let copy = destinationState?.member(at: relative)
            if copy?.snapshot(named: snapshot) != nil { continue }
            // A copy that holds the base gets the increment; a dataset new since the base arrives whole.
            let from = base.flatMap { copy?.snapshot(named: $0) != nil ? $0 : nil }
            var settings = receive
            settings.target = target
            if from == nil { settings.force = false }
            if !relative.isEmpty { settings.setting = [] }
            let part = try runTransfer(
                send: SendSpecification(
                    snapshot: try snapshotName(member.dataset, snapshot),
                    base: try from.map { name throws(ActionError) in try snapshotName(member.dataset, name) }),
                receive: settings)
            total = (total.bytes + part.bytes, total.seconds + part.seconds)
        }
        return total
    }
}
