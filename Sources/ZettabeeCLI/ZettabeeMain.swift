import Foundation
import GraphRunner

/// zettabee's entry point: parses the command line and runs the action. Returns the exit code.
/// `executor` starts every process the action needs (tests run the entry point in their own process
/// with one that starts none).
public enum ZettabeeMain {
    public static func run(
        arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        terminal: Terminal = .standard, executor: any GraphExecuting = ProcessRunner()
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
        case .manual:
            terminal.out(String(HelpText.manualPage.dropLast()))
            return 0
        case .run(var invocation):
            // Every action but setup reads the configuration: find its layout and apply the original's settings.
            if invocation.action != .setup {
                switch ConfigLayout.resolve(invocation.options) {
                case .failure(let error):
                    terminal.err("zettabee: error: \(invocation.action.rawValue): \(error.message)")
                    return error.exitCode
                case .success(let layout):
                    invocation.options = layout.applied(to: invocation.options)
                    invocation.options.pairsFile = layout.pairsPath
                    if let settings = layout.settings, !settings.ignoredKeys.isEmpty,
                       invocation.options.verbose || isatty(STDERR_FILENO) == 1 {
                        terminal.err("zettabee: warning: \(layout.settingsPath ?? ""): ignoring settings zettabee has no use for: "
                            + settings.ignoredKeys.joined(separator: ", "))
                    }
                }
            }
            return ActionRunner(invocation: invocation, terminal: terminal, executor: executor).run()
        }
    }
}
