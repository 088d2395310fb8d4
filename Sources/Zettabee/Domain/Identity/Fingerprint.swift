/// A pair's identity: the lowercase hex MD5 of `SRCHOST:SRCFS::DSTHOST:DSTFS`, exactly as the
/// original Zettabee computed it, so existing snapshots, properties, locks and logs stay valid.
public struct Fingerprint: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 32 lowercase hexadecimal digits.
    public let rawValue: String

    public init(source: Endpoint, destination: Endpoint) {
        rawValue = MD5.hexDigest("\(source.fingerprintText)::\(destination.fingerprintText)")
    }

    /// Accepts 32 lowercase hexadecimal digits (as found in property and snapshot names).
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 32,
              text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) })
        else { return nil }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (a: Fingerprint, b: Fingerprint) -> Bool { a.rawValue < b.rawValue }
}
