import Foundation

/// zettabee's entry point: parses the command line and runs the action. Returns the exit code.
public enum ZettabeeMain {
    public static func run(
        arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        terminal: Terminal = .standard
    ) -> Int32 {
        let request: CommandLineRequest
        do {
            request = try CommandLineParser.parse(arguments, environment: environment)
        } catch {
            terminal.err(error.rendered)
            return UsageError.exitCode
        }
        switch request {
        case .help:
            terminal.out(HelpText.text)
            return 0
        case .version:
            terminal.out(HelpText.versionLine)
            return 0
        case .run(let invocation):
            return ActionRunner(invocation: invocation, terminal: terminal).run()
        }
    }
}
