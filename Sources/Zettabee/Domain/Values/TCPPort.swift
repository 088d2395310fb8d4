/// A TCP port number, 1–65535.
public struct TCPPort: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let number: UInt16

    public init?(_ number: Int) {
        guard (1...65535).contains(number) else { return nil }
        self.number = UInt16(number)
    }

    /// Parses plain decimal digits (no sign, no spaces).
    public init?(parsing text: some StringProtocol) {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = Int(text)
        else { return nil }
        self.init(number)
    }

    public var description: String { String(number) }

    public static func < (a: TCPPort, b: TCPPort) -> Bool { a.number < b.number }
}
