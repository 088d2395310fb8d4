/// The command graph: stages joined into pipelines, pipelines run together as a graph, graphs run
/// one after another as a plan. All of it is plain values; `Lowering` turns it into processes.

/// One command and where it runs.
public struct Stage: Sendable, Hashable {
    public var command: Command
    public var location: Location

    public init(_ command: Command, on location: Location = .local) {
        self.command = command
        self.location = location
    }

    public static func local(_ command: Command) -> Stage { Stage(command, on: .local) }
    public static func remote(_ command: Command, on destination: SSHDestination) -> Stage {
        Stage(command, on: .remote(destination))
    }
}

/// Stages whose stdout feeds the next one's stdin. Consecutive stages may run on different hosts:
/// the bytes cross through ssh's stdin/stdout.
public struct Pipeline: Sendable, Hashable {
    public var stages: [Stage]
    /// What the first stage reads.
    public var input: StreamSource
    /// Where the last stage writes.
    public var output: StreamSink
    /// When the pipeline may start, relative to the others of its graph.
    public var start: StartCondition

    public init(
        _ stages: [Stage], input: StreamSource = .null, output: StreamSink = .null,
        start: StartCondition = .immediately
    ) {
        self.stages = stages
        self.input = input
        self.output = output
        self.start = start
    }
}

/// Pipelines that run at the same time and succeed or fail together.
public struct Graph: Sendable, Hashable {
    public var pipelines: [Pipeline]

    public init(_ pipelines: [Pipeline]) { self.pipelines = pipelines }
    public init(_ pipeline: Pipeline) { self.pipelines = [pipeline] }
}

/// Graphs run in order; the plan stops at the first graph that fails.
public struct Plan: Sendable, Hashable {
    public var steps: [Graph]

    public init(_ steps: [Graph]) { self.steps = steps }
}
