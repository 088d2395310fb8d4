/// Rendering lowered graphs as shell text, for `--dry-run` and error messages.
///
/// Rendered from `ProcessSpec.display`, the same argv that runs with secrets masked, every word quoted
/// by `ShellQuoting.quote`: what is printed is what runs.
public enum Rendering {
    /// One process as a shell command.
    public static func render(_ process: ProcessSpec) -> String {
        ShellQuoting.join(process.display)
    }

    /// One pipeline: `argv | argv …`, with `< file`, `> file` or `>> file` where it reads or writes a
    /// file. A start condition other than `immediately` goes on a comment line before it, and so does
    /// a payload given on stdin.
    public static func render(_ pipeline: LoweredPipeline) -> String {
        var lines: [String] = []
        if case .afterTCPListening(let port, _, _) = pipeline.start {
            lines.append("# after port \(port) listens:")
        }
        var line = pipeline.stages.map(render).joined(separator: " | ")
        switch pipeline.input {
        case .null: break
        case .file(let path): line += " < " + ShellQuoting.quote(path)
        case .bytes(let payload): lines.append("# stdin: " + describe(payload))
        }
        switch pipeline.output {
        case .null, .capture, .inherit: break
        case .file(let path, let append): line += (append ? " >> " : " > ") + ShellQuoting.quote(path)
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// A graph: each of its pipelines on its own line (they run at the same time).
    public static func render(_ graph: LoweredGraph) -> String {
        graph.pipelines.map(render).joined(separator: "\n")
    }

    /// Graphs run one after another, separated by an empty line.
    public static func render(_ graphs: [LoweredGraph]) -> String {
        graphs.map(render).joined(separator: "\n\n")
    }

    /// A stdin payload on one line: its text with control characters escaped, or its size when it
    /// is not UTF-8.
    static func describe(_ payload: [UInt8]) -> String {
        guard let text = String(validating: payload, as: UTF8.self) else { return "\(payload.count) bytes" }
        return UntrustedText.escaped(text)
    }
}
