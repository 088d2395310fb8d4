import Foundation

/// `receive_resume_token` values: `1-<crc32 hex>-<length hex>-<hex of the JSON contents>`, the same
/// shape as OpenZFS's (which compresses an nvlist instead of JSON).
enum ResumeToken {
    struct Contents {
        var fromguid: UInt64
        var toguid: UInt64
        var toname: String
        var bytes: Int64
        var object: Int64 = 0
        var offset: Int64 = 0
        /// The stream's features, as the token names them: `largeblockok`, `embedok`, `compressok`, `rawok`.
        var flags: [String] = []

        init(fromguid: UInt64, toguid: UInt64, toname: String, bytes: Int64) {
            self.fromguid = fromguid; self.toguid = toguid; self.toname = toname; self.bytes = bytes
        }

        init(partial: PartialReceive) {
            self.init(fromguid: partial.fromguid, toguid: partial.toguid, toname: partial.toname, bytes: partial.bytes)
            object = partial.bytes > 0 ? 128 + partial.bytes / 131072 : 0
            offset = partial.bytes % 131072
            flags = ResumeToken.tokenFlags(partial.flags ?? [])
        }
    }

    /// Stream flags → token flags, in the order OpenZFS adds them.
    static func tokenFlags(_ streamFlags: [String]) -> [String] {
        [("largeblock", "largeblockok"), ("embed", "embedok"), ("compressed", "compressok"), ("raw", "rawok")]
            .filter { streamFlags.contains($0.0) }.map(\.1)
    }

    static func encode(_ c: Contents) -> String {
        var object: [String: Any] = ["fromguid": "\(c.fromguid)", "toguid": "\(c.toguid)", "toname": c.toname,
                                     "bytes": c.bytes, "object": c.object, "offset": c.offset]
        if !c.flags.isEmpty { object["flags"] = c.flags }
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        let hex = json.map { String(format: "%02x", $0) }.joined()
        return "1-\(String(crc32(json), radix: 16))-\(String(json.count, radix: 16))-\(hex)"
    }

    /// Decodes a token; the error is OpenZFS's reason (`resume token is corrupt (invalid format)`).
    static func decode(_ token: String) -> Result<Contents, Failure> {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return .failure(Failure("resume token is corrupt (invalid format)")) }
        guard parts[0] == "1" else { return .failure(Failure("resume token is corrupt (invalid version)")) }
        let hex = Array(parts[3].utf8)
        guard hex.count % 2 == 0, let checksum = UInt32(parts[1], radix: 16), let length = Int(parts[2], radix: 16)
        else { return .failure(Failure("resume token is corrupt (payload is not hex-encoded)")) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.count / 2)
        var i = 0
        while i < hex.count {
            guard let byte = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else {
                return .failure(Failure("resume token is corrupt (payload is not hex-encoded)"))
            }
            bytes.append(byte)
            i += 2
        }
        let json = Data(bytes)
        guard crc32(json) == checksum else { return .failure(Failure("resume token is corrupt (incorrect checksum)")) }
        guard json.count == length,
              let object = JSONLine.decode(json),
              let toguid = (object["toguid"] as? String).flatMap({ UInt64($0) }),
              let toname = object["toname"] as? String
        else { return .failure(Failure("resume token is corrupt (nvlist_unpack failed)")) }
        var c = Contents(fromguid: (object["fromguid"] as? String).flatMap { UInt64($0) } ?? 0, toguid: toguid,
                         toname: toname, bytes: JSONLine.int(object["bytes"]) ?? 0)
        c.object = JSONLine.int(object["object"]) ?? 0
        c.offset = JSONLine.int(object["offset"]) ?? 0
        c.flags = object["flags"] as? [String] ?? []
        return .success(c)
    }

    /// What `zfs send -nv -t TOKEN` prints first.
    static func describe(_ c: Contents) -> String {
        var text = "resume token contents:\nnvlist version: 0\n"
        if c.fromguid != 0 { text += "\tfromguid = 0x\(String(c.fromguid, radix: 16))\n" }
        text += "\tobject = 0x\(String(c.object, radix: 16))\n"
        text += "\toffset = 0x\(String(c.offset, radix: 16))\n"
        text += "\tbytes = 0x\(String(c.bytes, radix: 16))\n"
        text += "\ttoguid = 0x\(String(c.toguid, radix: 16))\n"
        text += "\ttoname = \(c.toname)\n"
        for flag in c.flags { text += "\t\(flag)\n" }
        return text
    }

    /// CRC-32 (IEEE), for the short token payloads.
    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
