import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What OpenSSH 9.2 knows about a connection when it expands `ControlPath` (ssh.c's `ssh_conn_info`):
/// the tokens of ssh_config(5) TOKENS that ControlPath accepts.
struct SSHConnectionInfo: Equatable {
    /// `%l`: the local host name (the simulated host's when ssh runs on one, else gethostname()).
    var localHost: String
    /// `%h`: the remote host name (after `HostName`).
    var remoteHost: String
    /// `%n`: the host name as given on the command line.
    var hostArgument: String
    /// `%p`: the port.
    var port: String
    /// `%r`: the remote user (`-l`, `user@`, `User`, else the local user).
    var remoteUser: String
    /// `%u`, `%i`, `%d`: the local user, uid and home directory (from the password database, not $HOME).
    var localUser: String
    var uid: String
    var homeDirectory: String
    /// `%k`: `HostKeyAlias`, else the host name as given.
    var keyAlias: String

    /// `%L`: the local host name up to its first dot.
    var shortLocalHost: String { String(localHost.prefix { $0 != "." }) }

    /// `%C`: the SHA-1 hex of `%l%h%p%r`.
    var connectionHash: String { SHA1.hex(localHost + remoteHost + port + remoteUser) }

    func value(of token: Character) -> String? {
        switch token {
        case "C": return connectionHash
        case "L": return shortLocalHost
        case "i": return uid
        case "k": return keyAlias
        case "l": return localHost
        case "n": return hostArgument
        case "p": return port
        case "d": return homeDirectory
        case "h": return remoteHost
        case "r": return remoteUser
        case "u": return localUser
        default: return nil
        }
    }

    /// The local side of the info from the process: its user in the password database, its host.
    static func local(remoteHost: String, hostArgument: String, port: String, remoteUser: String?,
                      keyAlias: String?, environment: [String: String]) -> SSHConnectionInfo {
        let uid = getuid()
        var localUser = String(uid)
        var home = "/"
        if let entry = getpwuid(uid) {
            localUser = String(cString: entry.pointee.pw_name)
            home = String(cString: entry.pointee.pw_dir)
        }
        var localHost = environment[FakeWorld.hostVariable].flatMap { $0.isEmpty ? nil : $0 } ?? ""
        if localHost.isEmpty {
            var buffer = [CChar](repeating: 0, count: 256)
            if gethostname(&buffer, buffer.count - 1) == 0 {
                localHost = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        return SSHConnectionInfo(
            localHost: localHost, remoteHost: remoteHost, hostArgument: hostArgument, port: port,
            remoteUser: remoteUser ?? localUser, localUser: localUser, uid: String(uid), homeDirectory: home,
            keyAlias: keyAlias ?? hostArgument)
    }
}

/// OpenSSH's expansions of a path option: `tilde_expand_filename` then `percent_dollar_expand`, with
/// their error lines (each ends the ssh with exit 255).
enum SSHTokens {
    struct Failure: Error, Equatable {
        /// The lines OpenSSH writes to stderr (without the `\r\n` each gets).
        var lines: [String]
    }

    /// `~`, `~/path`, `~user/path` (home directories from the password database).
    static func tildeExpand(_ path: String, home: String) -> Result<String, Failure> {
        guard path.hasPrefix("~") else { return .success(path) }
        var rest = Substring(path.dropFirst())
        var directory = home
        if !rest.isEmpty && rest.first != "/" {
            let user = rest.prefix { $0 != "/" }
            rest = rest.dropFirst(user.count)
            guard let entry = getpwnam(String(user)) else {
                return .failure(Failure(lines: ["tilde_expand: No such user \(user)"]))
            }
            directory = String(cString: entry.pointee.pw_dir)
        }
        let tail = rest.drop { $0 == "/" }
        let slash = directory.isEmpty || !directory.hasSuffix("/") ? "/" : ""
        return .success(directory + slash + tail)
    }

    /// `${VAR}` from `environment` and `%x` tokens from `info` (`%%` is a `%`), as misc.c's
    /// vdollar_percent_expand does.
    static func percentDollarExpand(_ text: String, info: SSHConnectionInfo,
                                    environment: [String: String]) -> Result<String, Failure> {
        let failed = "percent_dollar_expand: failed"
        var result = ""
        var missing: [String] = []
        var rest = Substring(text)
        while let character = rest.first {
            if character == "$" && rest.dropFirst().first == "{" {
                let name = rest.dropFirst(2)
                guard let close = name.firstIndex(of: "}") else {
                    return .failure(Failure(lines: [
                        "vdollar_percent_expand: environment variable '\(name)' missing closing '}'", failed]))
                }
                let variable = String(name[..<close])
                guard !variable.isEmpty else {
                    return .failure(Failure(lines: ["vdollar_percent_expand: zero-length environment variable", failed]))
                }
                if let value = environment[variable] {
                    result += value
                } else {
                    missing.append("vdollar_percent_expand: env var ${\(variable)} has no value")
                }
                rest = name[name.index(after: close)...]
                continue
            }
            rest = rest.dropFirst()
            guard character == "%" else {
                result.append(character)
                continue
            }
            guard let token = rest.first else {
                return .failure(Failure(lines: missing + ["vdollar_percent_expand: invalid format", failed]))
            }
            rest = rest.dropFirst()
            if token == "%" {
                result.append("%")
            } else if let value = info.value(of: token) {
                result += value
            } else {
                return .failure(Failure(lines: missing + ["vdollar_percent_expand: unknown key %\(token)", failed]))
            }
        }
        if !missing.isEmpty { return .failure(Failure(lines: missing + ["invalid environment variable expansion"])) }
        return .success(result)
    }

    /// A ControlPath as ssh uses it: nil for `none` (any case), else tilde- then token-expanded.
    static func controlPath(_ raw: String?, info: SSHConnectionInfo,
                            environment: [String: String]) -> Result<String?, Failure> {
        guard let raw, raw.lowercased() != "none" else { return .success(nil) }
        switch tildeExpand(raw, home: info.homeDirectory) {
        case .failure(let failure): return .failure(failure)
        case .success(let path):
            return percentDollarExpand(path, info: info, environment: environment).map { Optional($0) }
        }
    }
}
