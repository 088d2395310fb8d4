import Foundation

/// A fault rule. Rules come from the `ZFAKE_FAULTS` environment variable and from the world's `faults`
/// file (ssh drops the environment, so rules for remote hosts go in the file), one JSON object per line:
///
///     {"tool":"zfs","sub":"send","host":"src","match":"*tank/a@*","effect":"send-fail-after","bytes":"1000","when":"once"}
///
/// - `tool`: `zfs`, `zpool`, `ssh`, `mbuffer`, `send_nsca`.
/// - `sub`: optional subcommand (the first non-option argument, e.g. `send`, `receive`).
/// - `host`: optional glob on the simulated host; `match`: optional glob on the arguments joined by spaces.
/// - `when`: `always` (default), `once` (the first matching call only), or `nth` with `"nth":"N"`
///   (only the N-th matching call, counting from 1).
/// - `effect` and its parameters: interpreted by each tool (all other keys are parameters).
struct FaultRule {
    var tool: String
    var sub: String?
    var host: String?
    var match: String?
    var when: String
    var nth: Int?
    var effect: String
    var parameters: [String: String]
    /// Identity for the once/nth counters: the rule's own text.
    var key: String

    init?(json line: String) {
        guard let data = line.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let tool = object["tool"] as? String, let effect = object["effect"] as? String
        else { return nil }
        var parameters: [String: String] = [:]
        for (k, v) in object { parameters[k] = "\(v)" }
        self.tool = tool
        self.effect = effect
        self.sub = object["sub"] as? String
        self.host = object["host"] as? String
        self.match = object["match"] as? String
        self.when = (object["when"] as? String) ?? "always"
        self.nth = parameters["nth"].flatMap { Int($0) }
        self.parameters = parameters
        self.key = line.trimmingCharacters(in: .whitespaces)
    }

    func parameter(_ name: String) -> String? { parameters[name] }
    func intParameter(_ name: String) -> Int? { parameters[name].flatMap { Int($0) } }

    func applies(tool: String, host: String, subcommand: String?, arguments: [String]) -> Bool {
        guard self.tool == tool else { return false }
        if let sub, sub != subcommand { return false }
        if let pattern = self.host, !globMatches(pattern, host) { return false }
        if let pattern = match, !globMatches(pattern, arguments.joined(separator: " ")) { return false }
        return true
    }
}

enum Faults {
    /// The rules that fire for this invocation. Counting for `once`/`nth` is shared by every process of
    /// the world, under a file lock.
    static func firing(in world: FakeWorld, tool: String, subcommand: String?, arguments: [String]) -> [FaultRule] {
        var lines: [String] = []
        if let fromEnvironment = ProcessInfo.processInfo.environment[FakeWorld.faultsVariable] {
            lines += fromEnvironment.split(separator: "\n").map(String.init)
        }
        if let fromFile = try? String(contentsOfFile: world.faultsFile, encoding: .utf8) {
            lines += fromFile.split(separator: "\n").map(String.init)
        }
        let candidates = lines
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }
            .compactMap(FaultRule.init(json:))
            .filter { $0.applies(tool: tool, host: world.host, subcommand: subcommand, arguments: arguments) }
        guard !candidates.isEmpty else { return [] }
        if candidates.allSatisfy({ $0.when == "always" }) { return candidates }
        return FileLock.withLock(path: world.faultCounters) {
            var counters = (try? JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: world.faultCounters)))) as? [String: Int] ?? [:]
            var fired: [FaultRule] = []
            for rule in candidates {
                let count = (counters[rule.key] ?? 0) + 1
                counters[rule.key] = count
                switch rule.when {
                case "once": if count == 1 { fired.append(rule) }
                case "nth": if count == rule.nth { fired.append(rule) }
                default: fired.append(rule)
                }
            }
            if let data = try? JSONSerialization.data(withJSONObject: counters) {
                try? data.write(to: URL(fileURLWithPath: world.faultCounters))
            }
            return fired
        }
    }
}
