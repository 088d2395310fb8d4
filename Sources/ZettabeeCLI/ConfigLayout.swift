import Foundation
import Zettabee

/// Where the pairs come from. Two layouts are read:
/// - zettabee's and the original Zettabee's before 0.8.5: the pairs in the configuration file (`-c`);
/// - the original's from 0.8.5: YAML settings in the configuration file and the pairs in `zettabee.zfg`
///   (`-z/--zonfig`; by default beside the configuration file, or the settings' `zonfig`).
/// The configuration file is taken for settings when it has their shape (`key: value` lines).
struct ConfigLayout {
    /// The file the pairs are read from.
    var pairsPath: String
    /// The original's settings, when the configuration file holds them.
    var settings: OriginalSettings?
    var settingsPath: String?

    /// `zettabee.zfg` in the configuration file's directory.
    static func defaultPairsFile(beside configPath: String) -> String {
        let directory = (configPath as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "." : directory) + "/zettabee.zfg"
    }

    static func resolve(_ options: Options) -> Result<ConfigLayout, ActionError> {
        let manager = FileManager.default
        func usage(_ message: String) -> Result<ConfigLayout, ActionError> {
            .failure(ActionError(message, exitCode: 2, nagios: .unknown))
        }
        let configText = manager.fileExists(atPath: options.configPath)
            ? (try? String(contentsOfFile: options.configPath, encoding: .utf8)) : nil
        var settings: OriginalSettings?
        if let configText, OriginalSettings.looksLikeSettings(configText) {
            do {
                settings = try OriginalSettings.parse(fileName: options.configPath, text: configText)
            } catch {
                return usage(error.description)
            }
        }
        let besideConfig = defaultPairsFile(beside: options.configPath)
        if let pairsFile = options.pairsFile ?? settings?.pairsFile {
            if configText != nil && settings == nil {
                return usage("\(options.configPath) holds pairs, and the pairs are to come from \(pairsFile): keep them in one file")
            }
            return .success(ConfigLayout(pairsPath: pairsFile, settings: settings, settingsPath: settings == nil ? nil : options.configPath))
        }
        if settings != nil {
            return .success(ConfigLayout(pairsPath: besideConfig, settings: settings, settingsPath: options.configPath))
        }
        if configText == nil, manager.fileExists(atPath: besideConfig) {
            return .success(ConfigLayout(pairsPath: besideConfig, settings: nil, settingsPath: nil))
        }
        if configText != nil, manager.fileExists(atPath: besideConfig) {
            return usage("both \(options.configPath) and \(besideConfig) hold pairs: keep them in one file")
        }
        return .success(ConfigLayout(pairsPath: options.configPath, settings: nil, settingsPath: nil))
    }

    /// The options with the settings applied where the command line left them open (it always wins).
    func applied(to options: Options) -> Options {
        guard let settings else { return options }
        var options = options
        if options.nagiosHost == nil { options.nagiosHost = settings.nagiosHost }
        options.debug = options.debug || settings.debug
        options.verbose = options.verbose || settings.verbose
        options.fullStatus = options.fullStatus || settings.fullStatus
        return options
    }
}
