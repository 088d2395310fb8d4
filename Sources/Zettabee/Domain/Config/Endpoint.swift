import CommandGraph

/// One side of a pair: a host and a filesystem on it.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: HostName
    public var dataset: DatasetName

    public init(host: HostName, dataset: DatasetName) {
        self.host = host
        self.dataset = dataset
    }

    /// `host:pool/fs`, as in the configuration (IPv6 hosts in brackets).
    public var description: String { "\(host.endpointText):\(dataset)" }

    /// `host:pool/fs` with the bare host, as the fingerprint is computed.
    var fingerprintText: String { "\(host.rawValue):\(dataset.rawValue)" }

    /// Splits `host:pool/fs` (or `[v6addr]:pool/fs`) and validates both parts.
    /// `side` is `source` or `destination`, used in error text.
    static func parse(_ text: String, side: String) -> Result<Endpoint, EndpointError> {
        let hostText: String
        let datasetText: String
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.malformed("expected [IPV6-ADDRESS]:POOL/FS"))
            }
            hostText = String(text[text.index(after: text.startIndex)..<close])
            datasetText = String(text[text.index(close, offsetBy: 2)...])
        } else {
            guard let colon = text.firstIndex(of: ":") else {
                return .failure(.malformed("expected HOST:POOL/FS, the host is missing"))
            }
            hostText = String(text[..<colon])
            datasetText = String(text[text.index(after: colon)...])
        }
        if hostText.isEmpty { return .failure(.malformed("expected HOST:POOL/FS, the host is empty")) }
        if datasetText.isEmpty { return .failure(.malformed("expected HOST:POOL/FS, the filesystem is empty")) }
        let host: HostName
        do { host = try HostName(hostText) } catch { return .failure(.host(error.reason)) }
        do {
            let dataset = try DatasetName(datasetText, field: "\(side) filesystem")
            return .success(Endpoint(host: host, dataset: dataset))
        } catch {
            return .failure(.dataset(error))
        }
    }
}

/// Why a `host:pool/fs` text is not an endpoint.
enum EndpointError: Error {
    /// The overall shape is wrong (no `host:`, empty part).
    case malformed(String)
    /// The host part is not a usable host name.
    case host(String)
    /// The filesystem part is not a valid ZFS name.
    case dataset(InvalidValue)
}
