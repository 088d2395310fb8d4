/// Lowering: the one pure function from typed graphs to the processes the runner starts.
///
/// - A local stage becomes one process with the command's exact argv.
/// - A run of consecutive stages on the same `SSHDestination` becomes one process,
///   `ssh OPTIONS -- DEST LINE`, where LINE is the stages as one shell pipeline, every word quoted
///   with `ShellQuoting.quote`. ssh hands LINE to the remote login shell, which reports only the last
///   stage's status; so with more than one stage, every stage but the last is written
///   `{ CMD; echo "@zettabee-stage I $?" >&2; }` and reports its own status on stderr
///   (see `RemoteStageStatus`).
/// - Input, output and start condition carry through unchanged.
public enum Lowering {
    public static func lower(_ graph: Graph) -> LoweredGraph {
        LoweredGraph(pipelines: graph.pipelines.map(lower))
    }

    public static func lower(_ plan: Plan) -> [LoweredGraph] {
        plan.steps.map(lower)
    }

    public static func lower(_ pipeline: Pipeline) -> LoweredPipeline {
        LoweredPipeline(
            stages: runs(of: pipeline.stages).map(process),
            input: pipeline.input, output: pipeline.output, start: pipeline.start)
    }

    /// Consecutive stages that become one process: each local stage alone, remote stages grouped
    /// while they share a destination.
    static func runs(of stages: [Stage]) -> [(location: Location, commands: [Command])] {
        var runs: [(location: Location, commands: [Command])] = []
        for stage in stages {
            if case .remote = stage.location, let last = runs.last, last.location == stage.location {
                runs[runs.count - 1].commands.append(stage.command)
            } else {
                runs.append((stage.location, [stage.command]))
            }
        }
        return runs
    }

    static func process(_ run: (location: Location, commands: [Command])) -> ProcessSpec {
        switch run.location {
        case .local:
            let command = run.commands[0]
            return ProcessSpec(
                executable: command.executable, arguments: command.arguments.map(\.word),
                display: command.displayArgv, label: command.label, inputEndedEarlyMessages: command.inputEndedEarlyMessages)
        case .remote(let destination):
            let head = destination.optionArguments + ["--", destination.destination]
            let line = remoteLine(run.commands.map(\.argv))
            let displayLine = remoteLine(run.commands.map(\.displayArgv))
            let labels = run.commands.map(\.label)
            return ProcessSpec(
                executable: "ssh", arguments: head + [line], display: ["ssh"] + head + [displayLine],
                label: "ssh \(destination.host): " + labels.joined(separator: " | "),
                remoteStageLabels: labels.count > 1 ? labels : [])
        }
    }

    /// The shell line a remote shell runs for these stages (see the type's documentation).
    public static func remoteLine(_ stages: [[String]]) -> String {
        stages.enumerated().map { index, argv in
            let command = ShellQuoting.join(argv)
            if index == stages.count - 1 { return command }
            return "{ \(command); echo \"\(RemoteStageStatus.prefix)\(index) $?\" >&2; }"
        }.joined(separator: " | ")
    }
}
