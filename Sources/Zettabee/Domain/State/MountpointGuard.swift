import CommandGraph

/// Keeps the source's mountpoints off the destination where the destination's zfs cannot exclude them
/// on receive (old zfs such as zfs-fuse has no `receive -x` and no `-u`). Pure.
///
/// A recursive stream (`send -R`) carries every mountpoint the source sets locally (or received), and
/// old zfs mounts the received dataset at once at that mountpoint: a backup host would mount its copies
/// over its own paths. A local value on the destination does not help: the first stream that carries
/// properties to a dataset replaces its local values. So on old zfs, while some dataset of the source
/// tree sets its own mountpoint:
/// - the tree is sent dataset by dataset, without `-R` (`send [-i BASE] ds@snap | receive copy`,
///   parents first): no stream carries a property, and every copy inherits the destination's
///   mountpoints (a dataset new on the source arrives whole, the same way);
/// - a copy that already took a mountpoint from the source (received by an earlier recursive stream)
///   gets the value it would inherit as a local value, which later streams without properties keep.
/// The source's other properties are then not replicated either.
public enum MountpointGuard {
    /// The members of the source tree whose mountpoint a recursive stream carries.
    public static func carried(by source: DatasetState) -> [DatasetState] {
        source.tree.filter { member in
            guard let value = member.properties["mountpoint"] else { return false }
            return value.source == .local || value.source == .received
        }
    }

    /// Whether this run sends the tree dataset by dataset.
    public static func sendsDatasetByDataset(_ format: StreamFormat, source: DatasetState) -> Bool {
        format.guardsMountpoints && !carried(by: source).isEmpty
    }

    public struct Assignment: Hashable, Sendable {
        public var dataset: DatasetName
        public var mountpoint: String
    }

    /// Copies of the destination tree that took a mountpoint from the source, each with the value it
    /// would inherit: its parent copy's mountpoint with its own last name component, or for the tree's
    /// top, below `parentMountpoint` (the destination's parent's; nil when it was not read).
    public static func healing(destination: DatasetState, parentMountpoint: String?) -> [Assignment] {
        var effective: [String: String] = [:]
        var assignments: [Assignment] = []
        for copy in destination.tree {
            guard let current = copy.properties["mountpoint"] else { continue }
            guard current.source == .received else {
                effective[copy.dataset.rawValue] = current.text
                continue
            }
            let parentValue = copy.dataset == destination.dataset ? parentMountpoint : copy.dataset.parent.flatMap { effective[$0.rawValue] }
            guard let parentValue, let component = copy.dataset.rawValue.split(separator: "/").last else { continue }
            let value = below(parentValue, String(component))
            effective[copy.dataset.rawValue] = value
            assignments.append(Assignment(dataset: copy.dataset, mountpoint: value))
        }
        return assignments
    }

    /// What a child named `component` inherits from a parent whose mountpoint is `parent` (`none` and
    /// `legacy` are inherited as they are).
    static func below(_ parent: String, _ component: String) -> String {
        if parent == "none" || parent == "legacy" { return parent }
        return (parent == "/" ? "" : parent) + "/" + component
    }
}
