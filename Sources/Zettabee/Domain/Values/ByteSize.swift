/// A size as mbuffer takes it (`-m 256M`, `-r 50M`): digits and an optional binary suffix.
/// The original text is kept and handed to mbuffer unchanged.
public struct ByteSize: Hashable, Sendable, CustomStringConvertible {
    /// The size exactly as written in the configuration, e.g. `50M`.
    public let text: String
    public let bytes: UInt64

    /// Parses `4096`, `128k`, `50M`, `1G`, `2T` (suffixes are powers of 1024, either case,
    /// as mbuffer reads them). Zero and values over 2^50 bytes are rejected.
    public init?(parsing text: some StringProtocol) {
        var digits = Substring(text)
        var multiplier: UInt64 = 1
        if let last = text.last, last.isLetter {
            switch last {
            case "k", "K": multiplier = 1 << 10
            case "m", "M": multiplier = 1 << 20
            case "g", "G": multiplier = 1 << 30
            case "t", "T": multiplier = 1 << 40
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 16, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let count = UInt64(digits), count > 0
        else { return nil }
        let total = count.multipliedReportingOverflow(by: multiplier)
        guard !total.overflow, total.partialValue <= 1 << 50 else { return nil }
        self.text = String(text)
        self.bytes = total.partialValue
    }

    public var description: String { text }
}
