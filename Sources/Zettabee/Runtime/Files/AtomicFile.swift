import Foundation

/// Small state files in the run directory, replaced atomically so that a reader never sees half a file.
public enum AtomicFile {
    /// Writes `data` to a temporary file next to `path`, then renames it over `path`.
    public static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        try data.write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AtomicFileError(path: path, reason: reason)
        }
    }

    /// The file's contents, nil when it does not exist or cannot be read.
    public static func read(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot replace \(path): \(reason)" }
}

/// JSON coders for zettabee's state files: ISO 8601 timestamps, sorted keys.
enum StateJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
