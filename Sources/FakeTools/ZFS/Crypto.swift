import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A dataset's native encryption: its suite, its encryption root and the id of its own master key
/// (what a raw stream carries and a raw incremental must match).
struct DatasetCrypt: Codable, Equatable {
    var suite: String
    var root: String
    var keyGUID: UInt64
}

/// The wrapping key of an encryption root: its parameters, a fingerprint of the derived key (the fake's
/// stand-in for the wrapped master key) and whether it is loaded.
struct WrappingKey: Codable, Equatable {
    var format: String
    var location: String
    var iters: Int
    var salt: UInt64
    var secret: String
    var loaded: Bool
}

/// What a raw stream carries of a dataset's key: the master key id, the wrapping parameters and whether
/// the dataset is an encryption root on the sender.
struct StreamCrypt: Codable, Equatable {
    var suite: String
    var keyGUID: UInt64
    var format: String
    var iters: Int
    var salt: UInt64
    var secret: String
    var isRoot: Bool

    var json: [String: Any] {
        ["suite": suite, "keyguid": "\(keyGUID)", "keyformat": format, "pbkdf2iters": iters, "salt": "\(salt)",
         "secret": secret, "encroot": isRoot]
    }

    init(suite: String, keyGUID: UInt64, format: String, iters: Int, salt: UInt64, secret: String, isRoot: Bool) {
        self.suite = suite; self.keyGUID = keyGUID; self.format = format; self.iters = iters
        self.salt = salt; self.secret = secret; self.isRoot = isRoot
    }

    init?(json: Any?) {
        guard let object = json as? [String: Any], let suite = object["suite"] as? String,
              let keyGUID = (object["keyguid"] as? String).flatMap({ UInt64($0) }),
              let format = object["keyformat"] as? String, let secret = object["secret"] as? String
        else { return nil }
        self.init(suite: suite, keyGUID: keyGUID, format: format, iters: Int(JSONLine.int(object["pbkdf2iters"]) ?? 0),
                  salt: (object["salt"] as? String).flatMap { UInt64($0) } ?? 0, secret: secret,
                  isRoot: object["encroot"] as? Bool ?? false)
    }
}

/// Encryption suites, key formats and key locations as OpenZFS 2.2 names and checks them.
enum Encryption {
    static let suites = ["aes-128-ccm", "aes-192-ccm", "aes-256-ccm", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm"]
    static let suiteValues = ["on", "off"] + suites
    static let formats = ["raw", "hex", "passphrase"]
    static let defaultIterations = 350_000
    static let minimumIterations = 100_000

    /// `on` is aes-256-gcm.
    static func suite(_ value: String) -> String { value == "on" ? "aes-256-gcm" : value }

    /// `zfs_prop_valid_keylocation`.
    static func validLocation(_ location: String, encrypted: Bool) -> Bool {
        if location == "none" { return !encrypted }
        if location == "prompt" { return true }
        for scheme in ["file:///", "https://"] where location.count > 8 && location.hasPrefix(scheme) { return true }
        return location.count > 7 && location.hasPrefix("http://")
    }

    /// The properties that ask for encryption (`proplist_has_encryption_props`).
    static func asksForEncryption(_ props: [String: String]) -> Bool {
        if let e = props["encryption"], e != "off" { return true }
        if let l = props["keylocation"], l != "none" { return true }
        return props["keyformat"] != nil || props["pbkdf2iters"] != nil
    }

    /// The fingerprint of the wrapping key derived from key material (two FNV-1a passes).
    static func derive(format: String, material: [UInt8], salt: UInt64, iters: Int) -> String {
        var bytes = Array("\(format)|\(salt)|\(iters)|".utf8)
        bytes += format == "hex" ? Array(String(decoding: material, as: UTF8.self).lowercased().utf8) : material
        func fnv(_ seed: UInt64) -> UInt64 {
            var h = seed
            for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
            return h
        }
        return String(format: "%016llx%016llx", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
    }

    /// `validate_key`: the key material's length and form; `newKey` checks a passphrase's length too.
    static func validate(format: String, material: [UInt8], newKey: Bool) -> String? {
        switch format {
        case "raw":
            if material.count < 32 { return "Raw key too short (expected 32)." }
            if material.count > 32 { return "Raw key too long (expected 32)." }
        case "hex":
            if material.count < 64 { return "Hex key too short (expected 64)." }
            if material.count > 64 { return "Hex key too long (expected 64)." }
            if !material.allSatisfy({ Character(UnicodeScalar($0)).isHexDigit }) { return "Invalid hex character detected." }
        default:
            guard newKey else { return nil }
            if material.count > 512 { return "Passphrase too long (max 512)." }
            if material.count < 8 { return "Passphrase too short (min 8)." }
        }
        return nil
    }

    /// Reads key material from a key location (`get_key_material`): `prompt` reads one line from stdin
    /// (a raw key: up to 33 bytes), asking first when stdin is a terminal; `file:///path` reads the file.
    /// The error is the reason OpenZFS gives.
    static func material(location: String, format: String, dataset: String?, newKey: Bool) -> Result<[UInt8], Failure> {
        if location == "prompt" {
            if isatty(0) != 0 {
                if format == "raw" { return .failure(Failure("Cannot enter raw keys on the terminal")) }
                let first = prompt(format: format, reenter: false, newKey: newKey, dataset: dataset)
                guard newKey else { return .success(first) }
                if let problem = validate(format: format, material: first, newKey: true) { return .failure(Failure(problem)) }
                let second = prompt(format: format, reenter: true, newKey: newKey, dataset: dataset)
                return first == second ? .success(first) : .failure(Failure("Provided keys do not match."))
            }
            return .success(readMaterial(fd: 0, format: format))
        }
        guard let colon = location.firstIndex(of: ":"), location[..<colon].range(of: "^[A-Za-z][A-Za-z0-9+.-]*$", options: .regularExpression) != nil
        else { return .failure(Failure("Invalid keylocation")) }
        switch location[..<colon] {
        case "file":
            guard location.hasPrefix("file://") else { return .failure(Failure("URI scheme is not supported")) }
            let path = String(location.dropFirst("file://".count))
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                return .failure(Failure("Failed to open key material file: \(String(cString: strerror(errno)))"))
            }
            defer { close(fd) }
            return .success(readMaterial(fd: fd, format: format))
        case "https", "http":
            return .failure(Failure("No keylocation=\(location[..<colon])://" + " back-end."))
        default:
            return .failure(Failure("URI scheme is not supported"))
        }
    }

    /// `libzfs_getpassphrase`: `Enter [new ]passphrase[ for 'fs']:` on stdout, one line read without echo.
    static func prompt(format: String, reenter: Bool, newKey: Bool, dataset: String?) -> [UInt8] {
        let what = format == "hex" ? "hex key" : "passphrase"
        Out.out("\(reenter ? "Re-enter" : "Enter") \(newKey ? "new " : "")\(what)" + (dataset.map { " for '\($0)'" } ?? "") + ":")
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO | ECHOE | ECHOK | ECHONL)
            _ = tcsetattr(0, TCSAFLUSH, &quiet)
        }
        let line = readMaterial(fd: 0, format: format)
        if haveTerminal { _ = tcsetattr(0, TCSAFLUSH, &saved) }
        Out.out("\n")
        return line
    }

    /// One line without its newline, or (raw keys) up to 33 bytes, read byte by byte so that nothing
    /// after the key is consumed.
    static func readMaterial(fd: Int32, format: String) -> [UInt8] {
        var result: [UInt8] = []
        var byte: UInt8 = 0
        while result.count < (format == "raw" ? 33 : 1 << 16) {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if byte == 0x0a && format != "raw" { break }
            result.append(byte)
        }
        return result
    }

    /// A new wrapping key from checked key material.
    static func newWrapping(format: String, location: String, iters: Int?, material: [UInt8]) -> WrappingKey {
        let salt: UInt64 = format == "passphrase" ? GUID.make() : 0
        let rounds = format == "passphrase" ? (iters ?? defaultIterations) : 0
        return WrappingKey(format: format, location: location, iters: rounds, salt: salt,
                           secret: derive(format: format, material: material, salt: salt, iters: rounds), loaded: true)
    }
}

/// How a new filesystem is to be encrypted.
enum CryptPlan {
    case off
    case inherit(suite: String, root: String)
    case newRoot(suite: String, wrapping: WrappingKey)

    /// What `zfs_crypto_create` decides for a filesystem created under `parent` with the `-o` properties
    /// `props`, then what the kernel checks (an inherited key must be loaded). `material` is the key
    /// material read from the key location (read beforehand, outside the lock). Errors are OpenZFS's
    /// reasons; `keyNotLoaded` is the kernel's refusal (EACCES), which each caller words itself.
    enum Refusal: Error { case reason(String), keyNotLoaded }

    static func decide(state: HostState, parent: String?, props: [String: String], stdinAvailable: Bool,
                       material: Result<[UInt8], Failure>?) -> Result<CryptPlan, Refusal> {
        let pool = Names.pool(of: parent ?? "")
        let featureEnabled = state.pools[pool].map { ($0.features["encryption"] ?? "disabled") != "disabled" } ?? false
        if !featureEnabled {
            return Encryption.asksForEncryption(props) ? .failure(.reason("Encryption feature not enabled.")) : .success(.off)
        }
        let parentCrypt = parent.flatMap { state.datasets[$0]?.crypt }
        let crypt = props["encryption"].map(Encryption.suite) ?? parentCrypt?.suite ?? "off"
        if crypt == "off" {
            return Encryption.asksForEncryption(props)
                ? .failure(.reason("Encryption must be turned on to set encryption properties.")) : .success(.off)
        }
        let format = props["keyformat"].flatMap { $0 == "none" ? nil : $0 }
        var location = props["keylocation"]
        if parentCrypt == nil && location == nil && format == nil {
            return .failure(.reason("Keyformat required for new encryption root."))
        }
        if location != nil && format == nil { return .failure(.reason("Keyformat required for new encryption root.")) }
        if format != nil && location == nil { location = "prompt" }
        if let location, let format {
            if !stdinAvailable && location == "prompt" {
                return .failure(.reason("Cannot use 'prompt' keylocation because stdin is in use."))
            }
            guard let material else { return .failure(.reason("Invalid keylocation.")) }
            let key: [UInt8]
            switch material {
            case .success(let bytes): key = bytes
            case .failure(let reason): return .failure(.reason(reason.message))
            }
            if let problem = Encryption.validate(format: format, material: key, newKey: true) { return .failure(.reason(problem)) }
            if format != "passphrase" && props["pbkdf2iters"] != nil {
                return .failure(.reason("Cannot specify pbkdf2iters with a non-passphrase keyformat."))
            }
            let wrapping = Encryption.newWrapping(format: format, location: location, iters: props["pbkdf2iters"].flatMap { Int($0) },
                                                  material: key)
            return .success(.newRoot(suite: crypt, wrapping: wrapping))
        }
        guard let parentCrypt, let parent else { return .failure(.reason("Keyformat required for new encryption root.")) }
        if !state.keyAvailable(parent) { return .failure(.keyNotLoaded) }
        return .success(.inherit(suite: crypt, root: parentCrypt.root))
    }

    /// Where the key material of a new root comes from, when the `-o` properties make one.
    static func keySource(_ props: [String: String]) -> (location: String, format: String)? {
        guard let format = props["keyformat"], format != "none" else { return nil }
        return (props["keylocation"] ?? "prompt", format)
    }

    /// Applies the plan to a new dataset.
    func apply(to dataset: inout Dataset) {
        switch self {
        case .off:
            dataset.crypt = nil
            dataset.wrapping = nil
        case .inherit(let suite, let root):
            dataset.crypt = DatasetCrypt(suite: suite, root: root, keyGUID: GUID.make())
            dataset.wrapping = nil
        case .newRoot(let suite, let wrapping):
            dataset.crypt = DatasetCrypt(suite: suite, root: dataset.name, keyGUID: GUID.make())
            dataset.wrapping = wrapping
        }
    }
}

extension HostState {
    /// The wrapping key that protects `fs` (its encryption root's).
    func wrapping(of fs: String) -> WrappingKey? {
        guard let root = datasets[fs]?.crypt?.root else { return nil }
        return datasets[root]?.wrapping
    }

    /// Unencrypted, or its encryption root's key is loaded.
    func keyAvailable(_ fs: String) -> Bool {
        guard datasets[fs]?.crypt != nil else { return true }
        return wrapping(of: fs)?.loaded ?? false
    }

    func isEncryptionRoot(_ fs: String) -> Bool {
        guard let crypt = datasets[fs]?.crypt else { return false }
        return crypt.root == fs
    }

    /// What a raw stream of `fs` carries of its key.
    func streamCrypt(of fs: String) -> StreamCrypt? {
        guard let crypt = datasets[fs]?.crypt, let wrapping = wrapping(of: fs) else { return nil }
        return StreamCrypt(suite: crypt.suite, keyGUID: crypt.keyGUID, format: wrapping.format, iters: wrapping.iters,
                           salt: wrapping.salt, secret: wrapping.secret, isRoot: crypt.root == fs)
    }

    /// Any dataset of the pool is encrypted (the `encryption` feature is then active).
    func hasEncryptedDataset(pool: String) -> Bool {
        datasets.values.contains { $0.crypt != nil && Names.pool(of: $0.name) == pool }
    }
}

/// Physical sizes of compressed data: logical / ratio, rounded up.
enum Compression {
    static func physical(_ logical: Int64, _ ratio: Double?) -> Int64 {
        guard let ratio, ratio > 1 else { return logical }
        return Int64((Double(logical) / ratio).rounded(.up))
    }

    /// `3.00` (OpenZFS keeps the ratio in hundredths).
    static func text(_ ratio: Double?) -> String {
        let hundredths = Int64(((ratio ?? 1) * 100).rounded())
        return String(format: "%lld.%02lld", hundredths / 100, hundredths % 100)
    }
}
