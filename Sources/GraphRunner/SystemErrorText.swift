import Foundation

/// An error as a person reads it, for the messages zettabee prints and logs: the system's own words for
/// an errno (`No such file or directory`, `Permission denied`), never Foundation's boilerplate
/// ("The operation could not be completed. The file doesn't exist.").
public enum SystemErrorText {
    public static func describe(_ error: Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSPOSIXErrorDomain { return strerrorText(Int32(nsError.code)) }
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? Error {
            return describe(underlying)
        }
        if nsError.domain == NSCocoaErrorDomain, let errno = errnoCode(forCocoaCode: nsError.code) {
            return strerrorText(errno)
        }
        if nsError.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: nsError.code) {
            case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: return "not valid UTF-8 text"
            default: return "error \(nsError.code)"
            }
        }
        if let described = error as? CustomStringConvertible { return described.description }
        return "\(nsError.domain) error \(nsError.code)"
    }

    /// `strerror(code)`: `No such file or directory`.
    public static func strerrorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// The errno a Foundation file error stands for, when it stands for one.
    static func errnoCode(forCocoaCode code: Int) -> Int32? {
        switch CocoaError.Code(rawValue: code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: ENOENT
        case .fileReadNoPermission, .fileWriteNoPermission: EACCES
        case .fileWriteOutOfSpace: ENOSPC
        case .fileWriteVolumeReadOnly: EROFS
        case .fileWriteFileExists: EEXIST
        case .fileReadTooLarge: EFBIG
        case .fileReadInvalidFileName, .fileWriteInvalidFileName: EINVAL
        default: nil
        }
    }
}
