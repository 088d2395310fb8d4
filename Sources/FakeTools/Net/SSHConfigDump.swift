/// `ssh -G`: the configuration OpenSSH 9.2 (Debian 12's build) resolves for a destination, printed as
/// `dump_client_config` does (lowercase keywords, one per line, its order), without connecting. The
/// defaults are those of `ssh -F none -G` (the fake reads no system or user configuration); the keys
/// the fake models follow the command line and a `-F` file's `HostName`/`Port`/`User`.
enum SSHConfigDump {
    struct Resolved {
        var hostArgument: String
        var user: String
        var hostname: String
        var port: String
        var homeDirectory: String
        /// The expanded control path, nil for none.
        var controlPath: String?
    }

    /// Every line of Debian 12's `ssh -F none -G HOST` but the first four (host, user, hostname, port),
    /// in order, with its default value. `userknownhostsfile`'s is tilde-expanded when printed.
    static let defaults: [(String, String)] = [
        ("addressfamily", "any"),
        ("batchmode", "no"),
        ("canonicalizefallbacklocal", "yes"),
        ("canonicalizehostname", "false"),
        ("checkhostip", "no"),
        ("compression", "no"),
        ("controlmaster", "false"),
        ("enablesshkeysign", "no"),
        ("clearallforwardings", "no"),
        ("exitonforwardfailure", "no"),
        ("fingerprinthash", "SHA256"),
        ("forwardx11", "no"),
        ("forwardx11trusted", "yes"),
        ("gatewayports", "no"),
        ("gssapiauthentication", "no"),
        ("gssapikeyexchange", "no"),
        ("gssapidelegatecredentials", "no"),
        ("gssapitrustdns", "no"),
        ("gssapirenewalforcesrekey", "no"),
        ("gssapikexalgorithms", "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"),
        ("hashknownhosts", "no"),
        ("hostbasedauthentication", "no"),
        ("identitiesonly", "no"),
        ("kbdinteractiveauthentication", "yes"),
        ("nohostauthenticationforlocalhost", "no"),
        ("passwordauthentication", "yes"),
        ("permitlocalcommand", "no"),
        ("proxyusefdpass", "no"),
        ("pubkeyauthentication", "true"),
        ("requesttty", "auto"),
        ("sessiontype", "default"),
        ("stdinnull", "no"),
        ("forkafterauthentication", "no"),
        ("streamlocalbindunlink", "no"),
        ("stricthostkeychecking", "ask"),
        ("tcpkeepalive", "yes"),
        ("tunnel", "false"),
        ("verifyhostkeydns", "false"),
        ("visualhostkey", "no"),
        ("updatehostkeys", "true"),
        ("enableescapecommandline", "no"),
        ("canonicalizemaxdots", "1"),
        ("connectionattempts", "1"),
        ("forwardx11timeout", "1200"),
        ("numberofpasswordprompts", "3"),
        ("serveralivecountmax", "3"),
        ("serveraliveinterval", "0"),
        ("requiredrsasize", "1024"),
        ("ciphers", "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"),
        ("controlpath", ""),
        ("hostkeyalgorithms", "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"),
        ("hostkeyalias", ""),
        ("hostbasedacceptedalgorithms", "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"),
        ("kexalgorithms", "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"),
        ("casignaturealgorithms", "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"),
        ("loglevel", "INFO"),
        ("macs", "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"),
        ("securitykeyprovider", "internal"),
        ("pubkeyacceptedalgorithms", "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"),
        ("xauthlocation", "/usr/bin/xauth"),
        ("identityfile", "~/.ssh/id_rsa"),
        ("identityfile", "~/.ssh/id_ecdsa"),
        ("identityfile", "~/.ssh/id_ecdsa_sk"),
        ("identityfile", "~/.ssh/id_ed25519"),
        ("identityfile", "~/.ssh/id_ed25519_sk"),
        ("identityfile", "~/.ssh/id_xmss"),
        ("identityfile", "~/.ssh/id_dsa"),
        ("canonicaldomains", "none"),
        ("globalknownhostsfile", "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"),
        ("userknownhostsfile", "~/.ssh/known_hosts ~/.ssh/known_hosts2"),
        ("logverbose", "none"),
        ("permitremoteopen", "any"),
        ("addkeystoagent", "false"),
        ("forwardagent", "no"),
        ("connecttimeout", "none"),
        ("tunneldevice", "any:any"),
        ("canonicalizePermittedcnames", "none"),
        ("controlpersist", "no"),
        ("escapechar", "~"),
        ("ipqos", "lowdelay throughput"),
        ("rekeylimit", "0 0"),
        ("streamlocalbindmask", "0177"),
        ("syslogfacility", "USER"),
    ]

    static func text(_ commandLine: SSHCommandLine, _ resolved: Resolved) -> String {
        var lines = [
            "host \(resolved.hostArgument)", "user \(resolved.user)", "hostname \(resolved.hostname)",
            "port \(resolved.port)",
        ]
        let userKnownHosts = commandLine.value("userknownhostsfile")
        var identities: [String] = []
        for (key, fallback) in defaults {
            switch key {
            case "controlpath":
                // Unset or `none`: no line at all, as dump_cfg_string prints nothing for NULL.
                if let path = resolved.controlPath { lines.append("controlpath \(path)") }
                continue
            case "hostkeyalias":
                if let alias = commandLine.value(key) { lines.append("hostkeyalias \(alias.lowercased())") }
                continue
            case "identityfile":
                if identities.isEmpty {
                    // -i paths come tilde-expanded; -o IdentityFile values are printed as given.
                    identities = commandLine.identityFiles.map {
                        $0.fromFlag ? expandTilde($0.path, home: resolved.homeDirectory) : $0.path
                    }
                    if identities.isEmpty {
                        identities = defaults.filter { $0.0 == "identityfile" }.map(\.1)
                    }
                    lines += identities.map { "identityfile \($0)" }
                }
                continue
            case "userknownhostsfile":
                let files = (userKnownHosts ?? fallback).split(whereSeparator: { $0 == " " || $0 == "\t" })
                    .map { expandTilde(String($0), home: resolved.homeDirectory) }
                lines.append("userknownhostsfile " + files.joined(separator: " "))
                continue
            case "updatehostkeys":
                if let value = commandLine.value(key) {
                    lines.append("\(key) \(flag(value, states: yesNoAsk))")
                } else {
                    let defaultFiles = userKnownHosts == nil || userKnownHosts == "~/.ssh/known_hosts"
                    lines.append("\(key) \(defaultFiles ? "true" : "false")")
                }
                continue
            default: break
            }
            lines.append("\(key) \(value(for: key, commandLine) ?? fallback)")
        }
        if let jump = commandLine.value("proxyjump"), jump.lowercased() != "none" { lines.append("proxyjump \(jump)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static let yesNo = ["true": "yes", "yes": "yes", "false": "no", "no": "no"]
    static let trueFalse = ["true": "true", "yes": "true", "false": "false", "no": "false"]
    static let yesNoAsk = trueFalse.merging(["ask": "ask"]) { $1 }

    /// A value given on the command line for `key`, printed as OpenSSH prints it; nil when none is given.
    static func value(for key: String, _ commandLine: SSHCommandLine) -> String? {
        guard let given = commandLine.value(key) else { return nil }
        switch key {
        case "addressfamily": return flag(given, states: ["inet": "inet", "inet6": "inet6", "any": "any"])
        case "controlmaster":
            return flag(given, states: trueFalse.merging(["auto": "auto", "ask": "ask", "autoask": "autoask"]) { $1 })
        case "stricthostkeychecking":
            return flag(given, states: trueFalse.merging(["ask": "ask", "off": "false", "accept-new": "accept-new"]) { $1 })
        case "requesttty":
            return flag(given, states: trueFalse.merging(["force": "force", "auto": "auto"]) { $1 })
        case "sessiontype": return flag(given, states: ["none": "none", "subsystem": "subsystem", "default": "default"])
        case "verifyhostkeydns": return flag(given, states: yesNoAsk)
        case "canonicalizehostname": return flag(given, states: trueFalse.merging(["always": "always"]) { $1 })
        case "tunnel":
            return flag(given, states: trueFalse.merging(["ethernet": "ethernet", "point-to-point": "point-to-point"]) { $1 })
        case "pubkeyauthentication":
            return flag(given, states: trueFalse.merging(["unbound": "unbound", "host-bound": "host-bound"]) { $1 })
        case "addkeystoagent": return flag(given, states: yesNoAsk.merging(["confirm": "confirm"]) { $1 })
        case "loglevel":
            let level = given.uppercased()
            return level == "QUIET" ? "SILENT" : level
        case "connecttimeout":
            if given.lowercased() == "none" { return "none" }
            return SSHControl.convtime(given).map { String(Int($0)) } ?? given
        case "serveraliveinterval", "forwardx11timeout":
            return SSHControl.convtime(given).map { String(Int($0)) } ?? given
        case "controlpersist":
            switch given.lowercased() {
            case "yes", "true": return "yes"
            case "no", "false": return "no"
            default:
                guard let seconds = SSHControl.convtime(given) else { return given }
                return seconds == 0 ? "yes" : String(Int(seconds))
            }
        case "connectionattempts", "serveralivecountmax", "numberofpasswordprompts", "canonicalizemaxdots",
             "requiredrsasize", "ciphers", "macs", "kexalgorithms", "hostkeyalgorithms", "escapechar":
            return given
        default:
            // The remaining yes/no options; anything else the fake does not model keeps its default.
            guard defaults.contains(where: { $0.0 == key && ($0.1 == "yes" || $0.1 == "no") }) else { return nil }
            return flag(given, states: yesNo)
        }
    }

    static func flag(_ given: String, states: [String: String]) -> String {
        states[given.lowercased()] ?? given
    }

    static func expandTilde(_ path: String, home: String) -> String {
        if case .success(let expanded) = SSHTokens.tildeExpand(path, home: home) { return expanded }
        return path
    }
}
