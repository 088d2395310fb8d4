import CommandGraph

/// Runs lowered graphs. Domain code depends only on this, so its tests can substitute a fake.
public protocol GraphExecuting: Sendable {
    /// Runs every pipeline of `graph` to its end and returns what became of each process.
    /// Throws `RunFailure` (carrying the result when anything started) unless every stage succeeded.
    func run(_ graph: LoweredGraph, options: RunOptions) throws -> GraphResult
}

extension GraphExecuting {
    public func run(_ graph: LoweredGraph) throws -> GraphResult {
        try run(graph, options: RunOptions())
    }

    /// Runs one short pipeline (a `zfs get`, a `zfs snapshot`) and returns its stdout as text.
    /// The pipeline's own output sink is replaced by a capture of at most `limit` bytes.
    public func capture(
        _ pipeline: LoweredPipeline, limit: Int = 1 << 20, options: RunOptions = RunOptions()
    ) throws -> (stdout: String, result: GraphResult) {
        var pipeline = pipeline
        pipeline.output = .capture(limit: limit)
        let result = try run(LoweredGraph(pipeline), options: options)
        return (result.capturedText(0), result)
    }
}
